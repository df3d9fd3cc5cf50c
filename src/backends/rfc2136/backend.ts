import { randomInt } from 'node:crypto';
import type { CurrentRecords, NameChange } from '../../plan/types.ts';
import { markerName } from '../../plan/ownership.ts';
import { normalizeAddresses, sameAddresses } from '../../plan/addresses.ts';
import { decodeMessage, encodeQuery, recordsOf } from '../../dns/query.ts';
import type { RecordAnswer } from '../../dns/query.ts';
import { normalizeName, isSubdomain } from '../../dns/names.ts';
import type { DnsTransport, Endpoint } from '../../dns/transport.ts';
import type { TsigKey } from '../../dns/tsig.ts';
import { signMessage, verifyResponse } from '../../dns/tsig.ts';
import { decodeUpdateResponse, encodeUpdate } from '../../dns/update.ts';
import { transferZone } from '../../dns/axfr.ts';
import type { UpdateRR } from '../../dns/update.ts';
import { BackendError } from '../errors.ts';
import { DnsRcodeError, TsigError } from '../../dns/errors.ts';
import type { ApplyResult, BackendCallOptions, BackendCapabilities, DnsBackend } from '../types.ts';
import { changeToRRs, servedProbe } from './messages.ts';
import { errorForRcode, errorForTransport } from './rcodes.ts';
import { mapLimit } from '../../util/concurrency.ts';

/** RFC 1035 4.2.2: a TCP message carries at most 65,535 octets, TSIG included. */
const MAX_MESSAGE = 65_535;
/** Room kept for the TSIG RR (name, algorithm, 64-octet MAC and fixed fields). */
const TSIG_RESERVE = 512;
/** Pause between looks while a signing primary catches up with an update. */
const SERVED_POLL_MS = 10;

export interface Rfc2136Options {
  name: string;
  server: Endpoint;
  zones: string[];
  /** Undefined only when TSIG was explicitly disabled in the configuration. */
  tsig: TsigKey | undefined;
  timeoutMs: number;
  /** Send updates over TCP even when they would fit UDP (default true). */
  tcp?: boolean;
  transport: DnsTransport;
  /** Epoch milliseconds; TSIG signs with this clock. */
  now: () => number;
  /** Queries in flight at once while reading. */
  readConcurrency?: number;
  /** A read of at least this many names of one zone takes the zone by AXFR. Default 32. */
  axfrMinNames?: number;
  /** A transport the backend made for itself, closed with it. */
  ownsTransport?: { close(): void };
}

/** The records of a transferred zone that reads look at, by owner name, and the serial it had. */
interface ZoneSnapshot {
  serial: number;
  records: Map<string, CurrentRecords>;
  /** Owner name → marker TXT strings. */
  markers: Map<string, string[]>;
}

const MAX_SNAPSHOTS = 16;

/**
 * A primary server spoken to over RFC 2136 (BIND, Knot, PowerDNS, Windows DNS). Reads are plain
 * queries to the primary; writes are TSIG-signed UPDATE messages over TCP, each one atomic and
 * conditional on the ownership marker, packed with as many names as fit in one message.
 */
export class Rfc2136Backend implements DnsBackend {
  readonly type = 'rfc2136';
  readonly name: string;
  readonly #opts: Rfc2136Options;
  /** The last transfer of each large zone read, by zone. */
  readonly #snapshots = new Map<string, ZoneSnapshot>();
  /** Zones whose primary refused a transfer. */
  readonly #noTransfer = new Set<string>();
  /** The markers of every zone swept, while its serial holds. */
  readonly #markerSnapshots = new Map<string, ZoneSnapshot>();

  constructor(opts: Rfc2136Options) {
    this.name = opts.name;
    this.#opts = opts;
  }

  capabilities(): BackendCapabilities {
    return { atomicBatch: true, conditional: true, maxBatchNames: 1000 };
  }

  /**
   * Reads what the names hold. A read that covers many names of a zone (at least
   * `axfrMinNames`) takes the whole zone by AXFR, and keeps it: while the primary's SOA serial
   * stays the same, the next read costs one SOA query. Fewer names, or a primary that refuses
   * transfers, are read by queries, pipelined over the backend's TCP connections.
   */
  async read(zone: string, names: string[], opts?: BackendCallOptions): Promise<Map<string, CurrentRecords>> {
    const z = normalizeName(zone);
    const wanted = names.map((raw) => {
      const name = normalizeName(raw);
      this.#assertInZone(name, z);
      return name;
    });
    if (wanted.length >= (this.#opts.axfrMinNames ?? 32) && !this.#noTransfer.has(z)) {
      const snapshot = await this.#snapshot(z, opts?.signal);
      if (snapshot) return new Map(wanted.map((n) => [n, snapshot.records.get(n) ?? { name: n }]));
    }
    const [result, roles] = await Promise.all([
      this.#readByQueries(wanted, opts?.signal),
      this.#apexRoles(z, opts?.signal),
    ]);
    for (const [name, role] of roles) {
      const current = result.get(name);
      if (current) current.protected = role;
    }
    return result;
  }

  /** The in-zone names the apex's NS and MX records point at: two queries. */
  async #apexRoles(zone: string, signal: AbortSignal | undefined): Promise<Map<string, string>> {
    const roles = new Map<string, string>();
    const [ns, mx] = await Promise.all([this.#query(zone, 'NS', signal), this.#query(zone, 'MX', signal)]);
    for (const rr of [...ns, ...mx]) addRole(roles, zone, rr);
    return roles;
  }

  /** Every marker of the zone, from its last transfer while the SOA serial holds, else a new one. */
  async markers(zone: string, opts?: BackendCallOptions): Promise<Map<string, string[]>> {
    const z = normalizeName(zone);
    this.#assertInZone(z, z);
    const snapshot = await this.#snapshot(z, opts?.signal, 'markers');
    if (!snapshot)
      throw new BackendError(
        'REFUSED',
        'REFUSED',
        `${this.#serverText()} refuses zone transfers of ${z}, so its ownership markers cannot be listed; allow transfers to the TSIG key (BIND allow-transfer, Knot acl action transfer)`,
      );
    return snapshot.markers;
  }

  async #readByQueries(
    names: string[],
    signal: AbortSignal | undefined,
  ): Promise<Map<string, CurrentRecords>> {
    const result = new Map<string, CurrentRecords>();
    const jobs: Array<{ name: string; qname: string; type: 'A' | 'AAAA' | 'TXT' }> = [];
    for (const name of names) {
      result.set(name, { name });
      jobs.push({ name, qname: name, type: 'A' }, { name, qname: name, type: 'AAAA' });
      jobs.push({ name, qname: markerName(name), type: 'TXT' });
    }
    await mapLimit(jobs, this.#opts.readConcurrency ?? 256, async (job) => {
      const answers = await this.#query(job.qname, job.type, signal);
      addAnswers(result.get(job.name)!, job.qname, job.type, answers);
    });
    return result;
  }

  /**
   * The zone as the primary serves it now: the kept copy while the SOA serial is unchanged,
   * else a fresh AXFR. Undefined when the primary refuses transfers (remembered per zone).
   */
  async #snapshot(
    zone: string,
    signal: AbortSignal | undefined,
    use: 'read' | 'markers' = 'read',
  ): Promise<ZoneSnapshot | undefined> {
    const soa = (await this.#query(zone, 'SOA', signal)).find((a) => a.type === 'SOA');
    const serial = (soa?.data as { serial?: number } | undefined)?.serial;
    const kept =
      this.#snapshots.get(zone) ?? (use === 'markers' ? this.#markerSnapshots.get(zone) : undefined);
    if (kept && serial !== undefined && kept.serial === serial) return kept;
    let records: RecordAnswer[];
    try {
      records = await transferZone(this.#opts.server, zone, {
        timeoutMs: Math.max(this.#opts.timeoutMs, 30_000),
        tsig: this.#opts.tsig,
        now: this.#opts.now,
        signal,
      });
    } catch (err) {
      signal?.throwIfAborted();
      if (err instanceof DnsRcodeError) {
        // Not allowed to transfer: read by queries from now on (allow-transfer to the key helps).
        this.#noTransfer.add(zone);
        this.#snapshots.delete(zone);
        return undefined;
      }
      throw errorForTransport(err, `${this.#serverText()} transferring zone ${zone}`);
    }
    const index = indexTransfer(zone, records);
    const markers = new Map([...index.values()].filter((c) => c.marker).map((c) => [c.name, c.marker!]));
    const snapshot: ZoneSnapshot = { serial: serial ?? -1, records: index, markers };
    // The sweep visits every zone: keep only their (small) marker lists, not whole zones.
    if (use === 'markers') {
      this.#markerSnapshots.set(zone, { ...snapshot, records: new Map() });
      return snapshot;
    }
    this.#snapshots.delete(zone);
    this.#snapshots.set(zone, snapshot);
    // Keep a few zones: the largest reads are of few zones, and a snapshot of 100,000 names is big.
    while (this.#snapshots.size > MAX_SNAPSHOTS) this.#snapshots.delete(this.#snapshots.keys().next().value!);
    return snapshot;
  }

  async apply(zone: string, changes: NameChange[], opts?: BackendCallOptions): Promise<ApplyResult> {
    const z = normalizeName(zone);
    for (const c of changes) this.#assertInZone(c.name, z);
    const chunks = packChunks(z, changes);
    const result: ApplyResult = { chunks: [] };
    let fatal: BackendError | undefined;
    for (const chunk of chunks) {
      const names = chunk.changes.map((c) => c.name);
      const records = chunk.prerequisites.length + chunk.updates.length;
      if (fatal) {
        result.chunks.push({ names, records, error: fatal });
        continue;
      }
      // Cancelled between messages: the messages already sent stand; the rest are not sent.
      opts?.signal?.throwIfAborted();
      const error = await this.#send(z, chunk.prerequisites, chunk.updates, opts?.signal);
      if (!error) await this.#awaitServed(chunk.changes[chunk.changes.length - 1]!, opts?.signal);
      result.chunks.push(error ? { names, records, error } : { names, records });
      // Credentials and reachability fail the same way for every message: stop early. A refusal
      // or a server failure may concern one name only, so the other messages are still sent.
      if (error && (error.kind === 'UNREACHABLE' || error.kind === 'AUTH')) fatal = error;
    }
    return result;
  }

  async close(): Promise<void> {
    this.#opts.ownsTransport?.close();
  }

  /**
   * A signing primary (BIND with `inline-signing yes`) answers an UPDATE when the unsigned zone
   * has it, and serves it only once the signed copy has caught up, some milliseconds later. So
   * that a read right after `apply` sees what was written, wait until the last change of the
   * message is served: the signer applies one update at once. An unsigned zone serves it at the
   * first look. Gives up quietly after `timeoutMs` or on a failed query: the read-back then
   * reports the difference.
   */
  async #awaitServed(change: NameChange, signal: AbortSignal | undefined): Promise<void> {
    const probe = servedProbe(change);
    if (!probe) return;
    const deadline = performance.now() + this.#opts.timeoutMs;
    for (;;) {
      let answers: RecordAnswer[];
      try {
        answers = await this.#query(probe.qname, probe.type, signal);
      } catch {
        signal?.throwIfAborted();
        return;
      }
      const here = answers.filter((a) => a.type === probe.type && normalizeName(a.name) === probe.qname);
      const served =
        probe.type === 'TXT'
          ? here.map((a) => joinTxt(a.data)).sort()
          : normalizeAddresses(here.map((a) => String(a.data)));
      const same =
        probe.type === 'TXT'
          ? served.join('\n') === probe.values.join('\n')
          : sameAddresses(served, probe.values);
      if (same || performance.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, SERVED_POLL_MS));
      signal?.throwIfAborted();
    }
  }

  async #send(
    zone: string,
    prerequisites: UpdateRR[],
    updates: UpdateRR[],
    signal: AbortSignal | undefined,
  ): Promise<BackendError | undefined> {
    const { tsig, transport, server, timeoutMs, now } = this.#opts;
    const id = randomInt(0, 65536);
    let message = encodeUpdate({ id, zone, prerequisites, updates });
    let requestMac: Buffer | undefined;
    if (tsig) {
      const signed = signMessage(message, tsig, { timeSigned: Math.floor(now() / 1000) });
      message = signed.message;
      requestMac = signed.mac;
    }
    let reply: Buffer;
    try {
      reply = await transport.exchange(server, message, { timeoutMs, tcp: this.#opts.tcp ?? true, signal });
    } catch (err) {
      signal?.throwIfAborted();
      return errorForTransport(err, this.#where(zone));
    }
    const header = decodeUpdateResponse(reply);
    if (tsig && requestMac) {
      try {
        verifyResponse(reply, tsig, { requestMac, now: Math.floor(now() / 1000) });
      } catch (err) {
        // An unsigned error answer (FORMERR, REFUSED from a server without the key) says more
        // through its RCODE than through the missing signature.
        const unsignedError = err instanceof TsigError && err.tsigError === 'UNSIGNED' && header.rcode !== 0;
        // A signed NOERROR whose MAC fails: the server may well have applied the update.
        if (!unsignedError && header.rcode === 0 && err instanceof TsigError && err.tsigError !== 'UNSIGNED')
          return new BackendError(
            'UNVERIFIED',
            err.tsigError,
            `${this.#where(zone)}: the reply said NOERROR but its TSIG signature did not verify (${err.tsigError}); whether the update landed is unknown, so it is read back`,
            { cause: err },
          );
        if (!unsignedError) return errorForTransport(err, this.#where(zone), tsig.name);
      }
    }
    return errorForRcode(header.rcode, this.#where(zone), tsig?.name);
  }

  async #query(
    qname: string,
    type: 'A' | 'AAAA' | 'TXT' | 'SOA' | 'NS' | 'MX',
    signal?: AbortSignal,
  ): Promise<RecordAnswer[]> {
    const { transport, server, timeoutMs } = this.#opts;
    let reply: Buffer;
    try {
      const query = encodeQuery(randomInt(0, 65536), qname, type, { recursionDesired: false });
      reply = await transport.exchange(server, query, { timeoutMs, signal });
    } catch (err) {
      signal?.throwIfAborted();
      // The message names the zone's server, not the record: one read serves many aliases.
      throw errorForTransport(err, `${this.#serverText()} reading ${type} records`);
    }
    let packet;
    try {
      packet = decodeMessage(reply);
    } catch (err) {
      throw new BackendError(
        'SERVER',
        'MALFORMED',
        `${this.#serverText()} sent a malformed answer for ${qname} ${type}`,
        {
          cause: err,
        },
      );
    }
    const rcode = packet.rcode ?? 'NOERROR';
    if (rcode === 'NXDOMAIN') return [];
    if (rcode !== 'NOERROR') {
      throw new BackendError(
        rcode === 'REFUSED' ? 'NOTZONE' : 'SERVER',
        rcode,
        `${this.#serverText()} answered ${rcode} reading ${qname} ${type}; is it the primary for this zone?`,
      );
    }
    if (!packet.flag_aa) {
      throw new BackendError(
        'NOTZONE',
        'NOTAUTH',
        `${this.#serverText()} is not authoritative for ${qname}; point the backend at the zone's primary`,
      );
    }
    return recordsOf(packet.answers);
  }

  #assertInZone(name: string, zone: string): void {
    if (!this.#opts.zones.some((z) => normalizeName(z) === zone)) {
      throw new BackendError('NOTZONE', 'NOTZONE', `backend ${this.name} does not serve zone ${zone}`);
    }
    if (!isSubdomain(name, zone)) {
      throw new BackendError('NOTZONE', 'NOTZONE', `${name} is not inside zone ${zone}`);
    }
  }

  #serverText(): string {
    return `${this.name} (${this.#opts.server.host}:${this.#opts.server.port})`;
  }

  #where(zone: string): string {
    return `update of zone ${zone} at ${this.#serverText()}`;
  }
}

/** Adds the answer to a query for `qname` and `type` to what `current` holds. */
function addAnswers(
  current: CurrentRecords,
  qname: string,
  type: 'A' | 'AAAA' | 'TXT',
  answers: RecordAnswer[],
): void {
  const here = answers.filter((a) => normalizeName(a.name) === qname);
  const cname = here.find((a) => a.type === 'CNAME');
  if (cname && type !== 'TXT') current.cname = normalizeName(String(cname.data));
  if (type === 'TXT') {
    const txt = here.filter((a) => a.type === 'TXT');
    if (txt.length) current.marker = txt.map((a) => joinTxt(a.data)).sort();
    return;
  }
  const rrs = here.filter((a) => a.type === type);
  if (rrs.length) {
    current[type] = {
      ttl: Math.min(...rrs.map((a) => a.ttl ?? 0)),
      addresses: normalizeAddresses(rrs.map((a) => String(a.data))),
    };
  }
}

/**
 * Notes the role of the in-zone name an NS or MX record points at, or of a delegation point
 * (an NS below the apex), as `CurrentRecords.protected` says it.
 */
function addRole(roles: Map<string, string>, zone: string, rr: RecordAnswer): void {
  if (rr.type === 'NS') {
    const target = normalizeName(String(rr.data));
    if (isSubdomain(target, zone))
      roles.set(target, `the target of the NS record of ${normalizeName(rr.name)}`);
    const owner = normalizeName(rr.name);
    if (owner !== zone) roles.set(owner, 'a delegation point (it holds NS records)');
  } else if (rr.type === 'MX') {
    const target = normalizeName(String((rr.data as { exchange?: string }).exchange ?? ''));
    if (target && isSubdomain(target, zone))
      roles.set(target, `the target of the MX record of ${normalizeName(rr.name)}`);
  }
}

/** The names of a transferred zone as reads see them: A, AAAA, CNAME, the marker TXT and roles. */
function indexTransfer(zone: string, records: RecordAnswer[]): Map<string, CurrentRecords> {
  const roles = new Map<string, string>();
  const byName = new Map<string, RecordAnswer[]>();
  for (const rr of records) {
    if (rr.type === 'NS' || rr.type === 'MX') addRole(roles, zone, rr);
    if (rr.type !== 'A' && rr.type !== 'AAAA' && rr.type !== 'CNAME' && rr.type !== 'TXT') continue;
    const name = normalizeName(rr.name);
    const list = byName.get(name);
    if (list) list.push(rr);
    else byName.set(name, [rr]);
  }
  const index = new Map<string, CurrentRecords>();
  const prefix = `${markerName('')}`;
  for (const [name, rrs] of byName) {
    if (name.startsWith(prefix)) continue;
    const current: CurrentRecords = { name };
    addAnswers(current, name, 'A', rrs);
    addAnswers(current, name, 'AAAA', rrs);
    index.set(name, current);
  }
  for (const [name, rrs] of byName) {
    if (!name.startsWith(prefix)) continue;
    const owner = name.slice(prefix.length);
    if (!isSubdomain(owner, zone)) continue;
    const current = index.get(owner) ?? { name: owner };
    addAnswers(current, name, 'TXT', rrs);
    if (current.marker) index.set(owner, current);
  }
  for (const [name, role] of roles) index.set(name, { ...(index.get(name) ?? { name }), protected: role });
  return index;
}

function joinTxt(data: unknown): string {
  const parts = Array.isArray(data) ? data : [data];
  return parts.map((p) => (Buffer.isBuffer(p) ? p.toString('utf8') : String(p))).join('');
}

interface Chunk {
  changes: NameChange[];
  prerequisites: UpdateRR[];
  updates: UpdateRR[];
}

/**
 * Lays out the RRs of several changes in one message. Every name first appears in the leading
 * run of "no CNAME" prerequisites, which keeps it within the first 16 KiB where a compression
 * pointer can reach it; the bulky marker values come after. Updates keep each change's order
 * (delete before add), as RFC 2136 3.4.2 applies them in sequence.
 */
function assemble(changes: NameChange[]): Chunk {
  const parts = changes.map(changeToRRs);
  return {
    changes,
    prerequisites: [
      ...parts.map((p) => p.prerequisites[0]!),
      ...parts.map((p) => p.prerequisites[1]!),
      ...parts.flatMap((p) => p.prerequisites.slice(2)),
    ],
    updates: parts.flatMap((p) => p.updates),
  };
}

/**
 * Packs changes into as few UPDATE messages as fit in 64 KiB (TSIG included). A change is never
 * split: each message holds whole names, so a failed prerequisite leaves all of them untouched.
 * Compression makes sizes non-additive, so each chunk is sized by encoding it (binary search).
 */
export function packChunks(zone: string, changes: NameChange[]): Chunk[] {
  const fits = (candidate: NameChange[]): boolean => {
    const chunk = assemble(candidate);
    try {
      return encodeUpdate({ id: 0, zone, ...chunk }).length <= MAX_MESSAGE - TSIG_RESERVE;
    } catch {
      return false;
    }
  };
  const chunks: Chunk[] = [];
  let start = 0;
  while (start < changes.length) {
    // The largest k with changes[start, start+k) fitting; one change always goes alone.
    let lo = 1;
    let hi = changes.length - start;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(changes.slice(start, start + mid))) lo = mid;
      else hi = mid - 1;
    }
    chunks.push(assemble(changes.slice(start, start + lo)));
    start += lo;
  }
  return chunks;
}
