import {
  ChangeResourceRecordSetsCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
} from '@aws-sdk/client-route-53';
import type {
  Change,
  ListHostedZonesByNameCommandOutput,
  ListResourceRecordSetsCommandOutput,
  ResourceRecordSet,
  Route53Client,
  RRType,
} from '@aws-sdk/client-route-53';
import { isSubdomain, normalizeName } from '../../dns/names.ts';
import type { CurrentRecords, NameChange } from '../../plan/types.ts';
import { markerName } from '../../plan/ownership.ts';
import { BackendError } from '../errors.ts';
import type { ApplyResult, BackendCallOptions, BackendCapabilities, DnsBackend } from '../types.ts';
import { changesFor, costOf, currentRecords, emptyState, packBatches } from './changes.ts';
import type { NameState } from './changes.ts';
import { backendErrorOf, isThrottling } from './errors.ts';
import {
  compareNames,
  definitelyAfter,
  definitelyBefore,
  definitelyNotAfter,
  fromApiName,
  toApiName,
} from './names.ts';

/** The most record sets one ListResourceRecordSets page may return. */
const PAGE_SIZE = 300;

/** How throttled requests are retried: exponential backoff with full jitter, bounded. */
export interface ThrottleRetry {
  /** Tries in all, the first included. */
  attempts: number;
  baseMs: number;
  capMs: number;
}

export const DEFAULT_THROTTLE_RETRY: ThrottleRetry = { attempts: 6, baseMs: 200, capMs: 5000 };

export interface Route53Options {
  name: string;
  zones: string[];
  /** A client made with `maxAttempts: 1`: throttling is retried here, everything else by the engine. */
  client: Route53Client;
  /** Hosted zone ids by zone name, for zones whose name alone is ambiguous (a private and a public zone). */
  hostedZoneIds?: Record<string, string>;
  /** Only consider private (true) or public (false) hosted zones when looking a zone up by name. */
  privateZone?: boolean;
  retry?: ThrottleRetry;
  /** [0, 1); the jitter of the backoff. */
  random?: () => number;
}

/** One name's planned change and what the zone holds there once it has landed. */
interface Planned {
  change: NameChange;
  after: NameState;
  /** Why its expectation already fails on what was last read. */
  unmet?: string[];
}

/** Where one owner name (or its marker name) was read from, in the order the API lists the zone. */
interface Target {
  name: string;
  resolved: boolean;
}

/**
 * Amazon Route 53, through the official SDK. Reads list only the parts of the zone the names
 * need; writes are ChangeResourceRecordSets batches whose DELETE and CREATE actions carry the
 * change's expectations (see changes.ts), so each batch is atomic and conditional.
 *
 * The backend remembers, per name, the record sets it last read or wrote: a DELETE must repeat
 * them exactly. A name `apply` has never seen is read first. When a batch fails, its names are
 * forgotten, so the next call reads them again.
 */
export class Route53Backend implements DnsBackend {
  readonly type = 'route53';
  readonly name: string;
  readonly #opts: Route53Options;
  readonly #zoneIds = new Map<string, Promise<string>>();
  readonly #known = new Map<string, Map<string, NameState>>();

  constructor(opts: Route53Options) {
    this.name = opts.name;
    this.#opts = opts;
  }

  capabilities(): BackendCapabilities {
    // An owned name's update is four changes (DELETE and CREATE of the A set and of the marker):
    // 200 of them with one address each and 64-character markers stay inside every quota.
    return { atomicBatch: true, conditional: true, maxBatchNames: 200 };
  }

  async read(zone: string, names: string[], opts?: BackendCallOptions): Promise<Map<string, CurrentRecords>> {
    const z = normalizeName(zone);
    const wanted = names.map((raw) => {
      const name = normalizeName(raw);
      this.#assertInZone(name, z);
      return name;
    });
    const states = await this.#readStates(z, wanted, opts?.signal);
    const result = new Map<string, CurrentRecords>();
    for (const name of wanted) result.set(name, currentRecords(name, states.get(name)!));
    return result;
  }

  async apply(zone: string, changes: NameChange[], opts?: BackendCallOptions): Promise<ApplyResult> {
    const z = normalizeName(zone);
    for (const c of changes) this.#assertInZone(c.name, z);
    const known = this.#knownIn(z);
    const unseen = changes.map((c) => c.name).filter((n) => !known.has(n));
    if (unseen.length > 0) {
      try {
        await this.#readStates(z, unseen, opts?.signal);
      } catch (err) {
        if (!(err instanceof BackendError)) throw err;
        // Nothing was sent: every name fails with the read's error.
        return { chunks: [{ names: changes.map((c) => c.name), records: 0, error: err }] };
      }
    }

    const planned = changes.map((change) => {
      const translated = changesFor(change, known.get(change.name)!);
      return translated.ok
        ? { item: { change, after: translated.after }, changes: translated.changes }
        : { item: { change, after: known.get(change.name)!, unmet: translated.reasons }, changes: [] };
    });

    const result: ApplyResult = { chunks: [] };
    let fatal: BackendError | undefined;
    for (const batch of packBatches<Planned>(planned)) {
      const names = batch.items.map((i) => i.change.name);
      const records = costOf(batch.changes).records;
      const unmet = batch.items.filter((i) => i.unmet);
      let error: BackendError | undefined;
      if (batch.oversize) {
        error = new BackendError(
          'INVALID',
          'QUOTA',
          `the change of ${names[0]} alone exceeds Route 53's quotas for one change batch ` +
            `(${batch.oversize.changes} changes, ${batch.oversize.records} records, ` +
            `${batch.oversize.characters} characters of values; at most 1,000, 1,000 and 32,000): ` +
            'lower the number of addresses the target resolves to',
        );
      } else if (unmet.length > 0) {
        // Route 53 would refuse the whole batch for these names, so it is not sent: the same
        // outcome, one request fewer.
        error = new BackendError(
          'PRECONDITION',
          'LASTREAD',
          `change batch for zone ${z} not sent (${this.#label()}): ` +
            unmet.map((i) => `${i.unmet!.join('; ')}`).join('; ') +
            '. The names are read again and replanned.',
        );
      } else if (fatal) {
        error = fatal;
      } else if (batch.changes.length > 0) {
        // Cancelled between batches: the batches already sent stand; the rest are not sent.
        opts?.signal?.throwIfAborted();
        error = await this.#change(z, batch.changes, opts?.signal);
        // Credentials, policy and reachability fail the same way for every batch: stop early.
        if (error && error.kind !== 'PRECONDITION') fatal = error;
      }
      if (error) {
        for (const n of names) known.delete(n);
        result.chunks.push({ names, records, error });
      } else {
        for (const { change, after } of batch.items) known.set(change.name, after);
        result.chunks.push({ names, records });
      }
    }
    return result;
  }

  async close(): Promise<void> {
    this.#opts.client.destroy();
  }

  #knownIn(zone: string): Map<string, NameState> {
    let known = this.#known.get(zone);
    if (!known) {
      known = new Map();
      this.#known.set(zone, known);
    }
    return known;
  }

  async #change(
    zone: string,
    changes: Change[],
    signal: AbortSignal | undefined,
  ): Promise<BackendError | undefined> {
    const where = `change batch for zone ${zone} (${this.#label()})`;
    try {
      const id = await this.#zoneId(zone, signal);
      const command = new ChangeResourceRecordSetsCommand({
        HostedZoneId: id,
        ChangeBatch: { Changes: changes },
      });
      await this.#send((c) => c.send(command, { abortSignal: signal }), signal);
      return undefined;
    } catch (err) {
      signal?.throwIfAborted();
      if (err instanceof BackendError) return err;
      return backendErrorOf(err, where);
    }
  }

  /**
   * Reads the record sets at each name and its marker name by walking the zone in the API's
   * order: a page starts at the first name not yet read and takes everything after it, so
   * names that lie close together share a page, and names far apart cost one request each.
   * A name counts as read only when a page that began at or before it ends definitely after it.
   */
  async #readStates(
    zone: string,
    names: string[],
    signal: AbortSignal | undefined,
  ): Promise<Map<string, NameState>> {
    const where = `reading zone ${zone} (${this.#label()})`;
    let id: string;
    try {
      id = await this.#zoneId(zone, signal);
    } catch (err) {
      signal?.throwIfAborted();
      throw err instanceof BackendError ? err : backendErrorOf(err, where);
    }
    const byName = new Map<string, ResourceRecordSet[]>();
    const targets: Target[] = [...new Set(names.flatMap((n) => [n, markerName(n)]))]
      .sort(compareNames)
      .map((name) => ({ name, resolved: false }));

    // The current run of contiguous pages: where it began, what it holds, where it stopped.
    let runStart: string | undefined;
    let runSets = new Map<string, ResourceRecordSet[]>();
    let next: { name: string; type?: RRType; identifier?: string } | undefined;
    for (;;) {
      const first = targets.find((t) => !t.resolved);
      if (!first) break;
      // Go on from where the run stopped when that may lie inside the first name still unread;
      // otherwise start a new run at that name.
      const continues =
        runStart !== undefined &&
        next !== undefined &&
        definitelyNotAfter(runStart, first.name) &&
        !definitelyBefore(next.name, first.name);
      let page: ListResourceRecordSetsCommandOutput;
      try {
        const command = new ListResourceRecordSetsCommand({
          HostedZoneId: id,
          MaxItems: PAGE_SIZE,
          ...(continues
            ? {
                StartRecordName: next!.name,
                StartRecordType: next!.type,
                StartRecordIdentifier: next!.identifier,
              }
            : { StartRecordName: toApiName(first.name) }),
        });
        page = await this.#send((c) => c.send(command, { abortSignal: signal }), signal);
      } catch (err) {
        signal?.throwIfAborted();
        throw backendErrorOf(err, where);
      }
      if (!continues) {
        runStart = first.name;
        runSets = new Map();
      }
      for (const set of page.ResourceRecordSets ?? []) {
        const name = fromApiName(set.Name ?? '');
        runSets.set(name, [...(runSets.get(name) ?? []), set]);
      }
      const previous = continues ? next : undefined;
      next =
        page.IsTruncated && page.NextRecordName
          ? { name: page.NextRecordName, type: page.NextRecordType, identifier: page.NextRecordIdentifier }
          : undefined;
      if (
        previous &&
        next &&
        next.name === previous.name &&
        next.type === previous.type &&
        next.identifier === previous.identifier
      ) {
        // A server without record identifiers cannot page through more record sets of one name
        // and type than fit a page; stop rather than ask for the same page forever.
        throw new BackendError(
          'SERVER',
          'LISTING',
          `${where}: the listing does not advance past ${next.name}`,
        );
      }
      for (const t of targets) {
        if (t.resolved || !definitelyNotAfter(runStart!, t.name)) continue;
        if (next !== undefined && !definitelyAfter(next.name, t.name)) continue;
        t.resolved = true;
        byName.set(t.name, runSets.get(t.name) ?? []);
      }
      if (next === undefined && !first.resolved) {
        // The page ended the zone, yet the first target did not count as covered: only possible
        // when the run began after it, which `continues` rules out. Guard against a loop anyway.
        throw new BackendError('SERVER', 'LISTING', `${where}: the listing did not cover ${first.name}`);
      }
    }

    const known = this.#knownIn(zone);
    const states = new Map<string, NameState>();
    for (const name of names) {
      const here = byName.get(name) ?? [];
      const atMarker = byName.get(markerName(name)) ?? [];
      const state = emptyState();
      for (const set of here) {
        if (set.Type === 'A' || set.Type === 'AAAA' || set.Type === 'CNAME') state[set.Type].push(set);
      }
      for (const set of atMarker) {
        if (set.Type === 'TXT') state.marker.push(set);
        if (set.Type === 'CNAME') state.markerCname.push(set);
      }
      known.set(name, state);
      states.set(name, state);
    }
    return states;
  }

  /** The hosted zone's id, looked up once by name (ListHostedZonesByName) and kept. */
  #zoneId(zone: string, signal: AbortSignal | undefined): Promise<string> {
    let id = this.#zoneIds.get(zone);
    if (!id) {
      id = this.#lookUpZone(zone, signal);
      this.#zoneIds.set(zone, id);
      // A failed look-up is not kept: the next call tries again.
      id.catch(() => this.#zoneIds.delete(zone));
    }
    return id;
  }

  async #lookUpZone(zone: string, signal: AbortSignal | undefined): Promise<string> {
    const where = `looking up hosted zone ${zone} (${this.#label()})`;
    const wantedId = this.#opts.hostedZoneIds?.[zone]?.replace(/^\/hostedzone\//, '');
    const candidates: Array<{ id: string; private: boolean }> = [];
    let start: { DNSName: string; HostedZoneId?: string } | undefined = { DNSName: toApiName(zone) };
    try {
      while (start) {
        const command: ListHostedZonesByNameCommand = new ListHostedZonesByNameCommand({
          ...start,
          MaxItems: 100,
        });
        const page: ListHostedZonesByNameCommandOutput = await this.#send(
          (c) => c.send(command, { abortSignal: signal }),
          signal,
        );
        let past = false;
        for (const hz of page.HostedZones ?? []) {
          if (fromApiName(hz.Name ?? '') !== zone) {
            past = true;
            continue;
          }
          candidates.push({
            id: (hz.Id ?? '').replace(/^\/hostedzone\//, ''),
            private: hz.Config?.PrivateZone === true,
          });
        }
        start =
          !past && page.IsTruncated && page.NextDNSName && fromApiName(page.NextDNSName) === zone
            ? { DNSName: page.NextDNSName, HostedZoneId: page.NextHostedZoneId }
            : undefined;
      }
    } catch (err) {
      signal?.throwIfAborted();
      throw backendErrorOf(err, where);
    }
    const privacy = this.#opts.privateZone;
    const matching = candidates.filter(
      (c) =>
        (wantedId === undefined || c.id === wantedId) && (privacy === undefined || c.private === privacy),
    );
    if (matching.length === 1) return matching[0]!.id;
    const seen = candidates.map((c) => `${c.id} (${c.private ? 'private' : 'public'})`).join(', ') || 'none';
    if (matching.length === 0) {
      throw new BackendError(
        'NOTZONE',
        'NoSuchHostedZone',
        `${where}: no hosted zone named ${zone}` +
          (wantedId !== undefined ? ` with id ${wantedId}` : '') +
          (privacy !== undefined ? ` that is ${privacy ? 'private' : 'public'}` : '') +
          ` (found: ${seen}). Create the hosted zone, or fix the zone name, hostedZoneIds or privateZone.`,
      );
    }
    throw new BackendError(
      'NOTZONE',
      'AMBIGUOUS',
      `${where}: several hosted zones are named ${zone} (${seen}); set hostedZoneIds.${zone} (or privateZone) in the backend's configuration.`,
    );
  }

  /** Sends one request, retrying Route 53's "slow down" answers with exponential backoff and full jitter. */
  async #send<T>(call: (client: Route53Client) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    const retry = this.#opts.retry ?? DEFAULT_THROTTLE_RETRY;
    const random = this.#opts.random ?? Math.random;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call(this.#opts.client);
      } catch (err) {
        signal?.throwIfAborted();
        if (!isThrottling(err) || attempt >= retry.attempts) throw err;
        const ceiling = Math.min(retry.capMs, retry.baseMs * 2 ** (attempt - 1));
        await sleep(Math.floor(random() * ceiling), signal);
      }
    }
  }

  #assertInZone(name: string, zone: string): void {
    if (!this.#opts.zones.some((z) => normalizeName(z) === zone)) {
      throw new BackendError('NOTZONE', 'NOTZONE', `backend ${this.name} does not serve zone ${zone}`);
    }
    if (!isSubdomain(name, zone)) {
      throw new BackendError('NOTZONE', 'NOTZONE', `${name} is not inside zone ${zone}`);
    }
  }

  #label(): string {
    return `route53 backend ${this.name}`;
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
