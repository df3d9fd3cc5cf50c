import { POWERDNS_DEFAULTS } from '../../config/schema.ts';
import { isSubdomain, normalizeName } from '../../dns/names.ts';
import { markerName } from '../../plan/ownership.ts';
import type { CurrentRecords, NameChange } from '../../plan/types.ts';
import { mapLimit } from '../../util/concurrency.ts';
import { BackendError } from '../errors.ts';
import type { NameSnapshot } from '../expectations.ts';
import { unmetExpectations, unwrittenParts } from '../expectations.ts';
import type { ApplyResult, BackendCallOptions, BackendCapabilities, DnsBackend } from '../types.ts';
import { PowerDnsClient } from './client.ts';
import type { ApiRRset, PatchChunk } from './rrsets.ts';
import { apiName, indexRRsets, packPatches, rrsetsOf, snapshotOf } from './rrsets.ts';

export interface PowerDnsBackendOptions {
  name: string;
  /** The webserver's base URL, e.g. `http://127.0.0.1:8081`. */
  url: string;
  serverId?: string;
  /** The `X-API-Key` (read from a file by the factory). */
  apiKey: string;
  /** The zones this backend serves, with or without the trailing dot. */
  zones: string[];
  /** Per request, in milliseconds. */
  timeoutMs?: number;
  /**
   * Reads of up to this many names ask for each name's RRsets (two filtered GETs per name);
   * larger reads GET the whole zone once, which PowerDNS answers far faster than hundreds of
   * filtered GETs (see docs/backends.md#reads-by-name-or-the-whole-zone).
   */
  filteredReadMaxNames?: number;
  /** The largest PATCH body sent; larger batches are split into several PATCHes. */
  maxRequestBytes?: number;
  /** Filtered GETs in flight at once. */
  readConcurrency?: number;
  fetch?: typeof globalThis.fetch;
}

/** How a zone is addressed: its name and the id the server gave it (`=2F` for `/`, …). */
interface ZoneRef {
  name: string;
  id: string;
}

/** A zone id the server returns is "safe for embedding in URLs"; anything else is encoded anyway. */
function zonePath(id: string): string {
  return `/zones/${/^[A-Za-z0-9._=-]+$/.test(id) ? id : encodeURIComponent(id)}`;
}

/**
 * The PowerDNS Authoritative HTTP API (`/api/v1`). Reads GET the RRsets of the alias names
 * (filtered by name) or, for large reads, the zone. Each batch of changes is one PATCH
 * (`changetype` REPLACE/DELETE), which PowerDNS applies in one database transaction: atomic.
 * The API has no prerequisites, so it is not conditional: ownership is checked by reading right
 * before the PATCH, and the names are read back right after it to catch a writer that raced
 * (docs/backends.md describes the window that remains).
 */
export class PowerDnsBackend implements DnsBackend {
  readonly type = 'powerdns';
  readonly name: string;
  readonly #client: PowerDnsClient;
  readonly #zones: ReadonlySet<string>;
  readonly #filteredReadMaxNames: number;
  readonly #maxRequestBytes: number;
  readonly #readConcurrency: number;
  readonly #serverId: string;
  readonly #zoneIds = new Map<string, Promise<ZoneRef>>();
  #wholeZoneReads = 0;
  #filteredReads = 0;

  constructor(opts: PowerDnsBackendOptions) {
    this.name = opts.name;
    this.#serverId = opts.serverId ?? POWERDNS_DEFAULTS.serverId;
    this.#client = new PowerDnsClient({
      url: opts.url,
      serverId: this.#serverId,
      apiKey: opts.apiKey,
      timeoutMs: opts.timeoutMs ?? POWERDNS_DEFAULTS.timeoutMs,
      label: opts.name,
      fetch: opts.fetch,
    });
    this.#zones = new Set(opts.zones.map(normalizeName));
    this.#filteredReadMaxNames = opts.filteredReadMaxNames ?? POWERDNS_DEFAULTS.filteredReadMaxNames;
    this.#maxRequestBytes = opts.maxRequestBytes ?? POWERDNS_DEFAULTS.maxRequestBytes;
    this.#readConcurrency = opts.readConcurrency ?? 8;
  }

  capabilities(): BackendCapabilities {
    return { atomicBatch: true, conditional: false, maxBatchNames: 1000 };
  }

  /** Requests sent so far, and how the reads among them were made. */
  requestStats(): { GET: number; PATCH: number; wholeZoneReads: number; filteredReads: number } {
    return {
      ...this.#client.counts(),
      wholeZoneReads: this.#wholeZoneReads,
      filteredReads: this.#filteredReads,
    };
  }

  async read(zone: string, names: string[], opts?: BackendCallOptions): Promise<Map<string, CurrentRecords>> {
    opts?.signal?.throwIfAborted();
    const z = this.#servedZone(zone);
    const wanted = [...new Set(names.map((n) => this.#nameInZone(n, z)))];
    const ref = await this.#zoneRef(z, opts?.signal);
    const snapshots = await this.#snapshots(ref, wanted, opts?.signal);
    return new Map(wanted.map((name) => [name, snapshots.get(name)!.current]));
  }

  async apply(zone: string, changes: NameChange[], opts?: BackendCallOptions): Promise<ApplyResult> {
    opts?.signal?.throwIfAborted();
    const z = this.#servedZone(zone);
    const normalised = changes.map((c) => ({
      ...c,
      name: this.#nameInZone(c.name, z),
      markerName: this.#nameInZone(c.markerName, z),
    }));
    const chunks = packPatches(normalised, this.#maxRequestBytes);
    const result: ApplyResult = { chunks: [] };
    if (chunks.length === 0) return result;
    const signal = opts?.signal;
    let ref: ZoneRef;
    try {
      ref = await this.#zoneRef(z, signal);
    } catch (err) {
      if (!(err instanceof BackendError)) throw err;
      for (const c of chunks)
        result.chunks.push({ names: c.changes.map((x) => x.name), records: c.records, error: err });
      return result;
    }
    let fatal: BackendError | undefined;
    for (const chunk of chunks) {
      const names = chunk.changes.map((c) => c.name);
      if (fatal) {
        result.chunks.push({ names, records: chunk.records, error: fatal });
        continue;
      }
      // Cancelled between PATCHes: the ones already sent stand; the rest are not sent.
      signal?.throwIfAborted();
      const error = await this.#applyChunk(ref, chunk, signal);
      result.chunks.push(
        error ? { names, records: chunk.records, error } : { names, records: chunk.records },
      );
      // Credentials, reachability and a vanished zone fail every chunk the same way: stop.
      if (error && error.kind !== 'PRECONDITION') fatal = error;
    }
    return result;
  }

  async close(): Promise<void> {}

  /** Check, write, read back: the PATCH lands only if the zone still matched right before it. */
  async #applyChunk(
    ref: ZoneRef,
    chunk: PatchChunk,
    signal?: AbortSignal,
  ): Promise<BackendError | undefined> {
    const names = chunk.changes.map((c) => c.name);
    try {
      const before = await this.#snapshots(ref, names, signal);
      const unmet = chunk.changes.flatMap((c) => unmetExpectations(c, before.get(c.name)!));
      if (unmet.length > 0) {
        return new BackendError(
          'PRECONDITION',
          unmet[0]!.rcode,
          `nothing written to zone ${ref.name}: it no longer matches what was planned: ` +
            unmet.map((u) => u.message).join('; '),
        );
      }
      await this.#client.request('PATCH', zonePath(ref.id), chunk.body, {
        what: `to a PATCH of zone ${ref.name} (${names.length} ${names.length === 1 ? 'name' : 'names'})`,
        notFound: this.#zoneGone(ref),
        signal,
      });
    } catch (err) {
      if (err instanceof BackendError) {
        if (err.detail === 'HTTP_404') this.#zoneIds.delete(ref.name);
        return err;
      }
      throw err;
    }
    let after: Map<string, NameSnapshot>;
    try {
      after = await this.#snapshots(ref, names, signal);
    } catch (err) {
      if (!(err instanceof BackendError)) throw err;
      // UNREACHABLE says it best: the write landed, and the next pass reads again before it plans.
      return new BackendError(
        'UNREACHABLE',
        err.detail,
        `the PATCH of zone ${ref.name} was applied, but reading it back failed: ${err.message}`,
        { cause: err },
      );
    }
    const lost = chunk.changes.flatMap((c) => unwrittenParts(c, after.get(c.name)!.current));
    if (lost.length === 0) return undefined;
    return new BackendError(
      'PRECONDITION',
      'OVERWRITTEN',
      `zone ${ref.name} was changed by another writer right after this PATCH (the PowerDNS API has no ` +
        `prerequisites, so it cannot refuse a racing write): ${lost.join('; ')}`,
    );
  }

  /** The RRsets at `names` and their marker names: filtered GETs for few names, the zone for many. */
  async #snapshots(ref: ZoneRef, names: string[], signal?: AbortSignal): Promise<Map<string, NameSnapshot>> {
    const owners = new Set(names.flatMap((n) => [n, markerName(n)]));
    const rrsets: ApiRRset[] = [];
    if (names.length > this.#filteredReadMaxNames) {
      this.#wholeZoneReads++;
      rrsets.push(...(await this.#getZone(ref, '', `reading zone ${ref.name}`, signal)));
    } else {
      this.#filteredReads += owners.size;
      await mapLimit([...owners], this.#readConcurrency, async (owner) => {
        const query = `?rrset_name=${encodeURIComponent(apiName(owner))}`;
        rrsets.push(...(await this.#getZone(ref, query, `reading ${owner} in zone ${ref.name}`, signal)));
      });
    }
    const index = indexRRsets(rrsets, owners);
    return new Map(names.map((name) => [name, snapshotOf(index, name)]));
  }

  async #getZone(ref: ZoneRef, query: string, what: string, signal?: AbortSignal): Promise<ApiRRset[]> {
    let response;
    try {
      response = await this.#client.request('GET', `${zonePath(ref.id)}${query}`, undefined, {
        what,
        notFound: this.#zoneGone(ref),
        signal,
      });
    } catch (err) {
      if (err instanceof BackendError && err.detail === 'HTTP_404') this.#zoneIds.delete(ref.name);
      throw err;
    }
    const rrsets = rrsetsOf(response.body);
    if (!rrsets) {
      throw new BackendError(
        'SERVER',
        'MALFORMED',
        `${this.#client.where} answered ${what} with a body that is not a PowerDNS zone`,
      );
    }
    return rrsets;
  }

  /** The zone's id as the server spells it, looked up once by name (`GET /zones?zone=`). */
  #zoneRef(zone: string, signal?: AbortSignal): Promise<ZoneRef> {
    let ref = this.#zoneIds.get(zone);
    if (!ref) {
      ref = this.#lookupZone(zone, signal);
      this.#zoneIds.set(zone, ref);
      // A failed lookup is not remembered: the next call asks again.
      ref.catch(() => this.#zoneIds.delete(zone));
    }
    return ref;
  }

  async #lookupZone(zone: string, signal?: AbortSignal): Promise<ZoneRef> {
    const { body } = await this.#client.request(
      'GET',
      `/zones?zone=${encodeURIComponent(apiName(zone))}&dnssec=false`,
      undefined,
      {
        what: `looking up zone ${zone}`,
        notFound:
          `there is no API under that URL: check url (the webserver's address), serverId (now ` +
          `"${this.#serverId}"; a plain pdns_server has only "localhost") and api=yes in pdns.conf`,
        signal,
      },
    );
    const list = Array.isArray(body) ? (body as Array<{ id?: unknown; name?: unknown }>) : undefined;
    if (!list) {
      throw new BackendError(
        'SERVER',
        'MALFORMED',
        `${this.#client.where} answered the zone list with a non-list`,
      );
    }
    const found = list.find((z) => typeof z.name === 'string' && normalizeName(z.name) === zone);
    if (!found || typeof found.id !== 'string' || found.id === '') {
      throw new BackendError(
        'NOTZONE',
        'NOZONE',
        `${this.#client.where} has no zone ${zone}: create it there (pdnsutil create-zone ${zone}), or take it ` +
          `out of this backend's zones`,
      );
    }
    return { name: zone, id: found.id };
  }

  #zoneGone(ref: ZoneRef): string {
    return `zone ${ref.name} (id ${ref.id}) no longer exists on the server; create it again or take it out of zones`;
  }

  #servedZone(zone: string): string {
    const z = normalizeName(zone);
    if (!this.#zones.has(z)) {
      throw new BackendError('NOTZONE', 'NOTZONE', `backend ${this.name} does not serve zone ${z}`);
    }
    return z;
  }

  #nameInZone(name: string, zone: string): string {
    const n = normalizeName(name);
    if (!isSubdomain(n, zone))
      throw new BackendError('NOTZONE', 'NOTZONE', `${n} is not inside zone ${zone}`);
    return n;
  }
}
