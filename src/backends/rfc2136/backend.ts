import { randomInt } from 'node:crypto';
import type { AddressType, CurrentRecords, NameChange } from '../../plan/types.ts';
import { markerName } from '../../plan/ownership.ts';
import { normalizeAddresses, sameAddresses } from '../../plan/addresses.ts';
import { decodeMessage, encodeQuery, recordsOf } from '../../dns/query.ts';
import type { RecordAnswer } from '../../dns/query.ts';
import { normalizeName, isSubdomain } from '../../dns/names.ts';
import type { DnsTransport, Endpoint } from '../../dns/transport.ts';
import type { TsigKey } from '../../dns/tsig.ts';
import { signMessage, verifyResponse } from '../../dns/tsig.ts';
import { decodeUpdateResponse, encodeUpdate } from '../../dns/update.ts';
import type { UpdateRR } from '../../dns/update.ts';
import { BackendError } from '../errors.ts';
import { TsigError } from '../../dns/errors.ts';
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
}

/**
 * A primary server spoken to over RFC 2136 (BIND, Knot, PowerDNS, Windows DNS). Reads are plain
 * queries to the primary; writes are TSIG-signed UPDATE messages over TCP, each one atomic and
 * conditional on the ownership marker, packed with as many names as fit in one message.
 */
export class Rfc2136Backend implements DnsBackend {
  readonly type = 'rfc2136';
  readonly name: string;
  readonly #opts: Rfc2136Options;

  constructor(opts: Rfc2136Options) {
    this.name = opts.name;
    this.#opts = opts;
  }

  capabilities(): BackendCapabilities {
    return { atomicBatch: true, conditional: true, maxBatchNames: 1000 };
  }

  async read(zone: string, names: string[], opts?: BackendCallOptions): Promise<Map<string, CurrentRecords>> {
    const z = normalizeName(zone);
    const result = new Map<string, CurrentRecords>();
    const jobs: Array<{ name: string; qname: string; type: 'A' | 'AAAA' | 'TXT' }> = [];
    for (const raw of names) {
      const name = normalizeName(raw);
      this.#assertInZone(name, z);
      result.set(name, { name });
      jobs.push({ name, qname: name, type: 'A' }, { name, qname: name, type: 'AAAA' });
      jobs.push({ name, qname: markerName(name), type: 'TXT' });
    }
    await mapLimit(jobs, this.#opts.readConcurrency ?? 64, async (job) => {
      const answers = await this.#query(job.qname, job.type, opts?.signal);
      const current = result.get(job.name)!;
      const here = answers.filter((a) => a.name.toLowerCase().replace(/\.$/, '') === job.qname);
      const cname = here.find((a) => a.type === 'CNAME');
      if (cname && job.type !== 'TXT') current.cname = normalizeName(String(cname.data));
      if (job.type === 'TXT') {
        const txt = here.filter((a) => a.type === 'TXT');
        if (txt.length) current.marker = txt.map((a) => joinTxt(a.data)).sort();
        return;
      }
      const rrs = here.filter((a) => a.type === job.type);
      if (rrs.length) {
        current[job.type as AddressType] = {
          ttl: Math.min(...rrs.map((a) => a.ttl ?? 0)),
          addresses: normalizeAddresses(rrs.map((a) => String(a.data))),
        };
      }
    });
    return result;
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
      // Credentials, policy and reachability fail the same way for every chunk: stop early.
      if (error && error.kind !== 'PRECONDITION') fatal = error;
    }
    return result;
  }

  async close(): Promise<void> {}

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
        if (!unsignedError) return errorForTransport(err, this.#where(zone), tsig.name);
      }
    }
    return errorForRcode(header.rcode, this.#where(zone), tsig?.name);
  }

  async #query(qname: string, type: 'A' | 'AAAA' | 'TXT', signal?: AbortSignal): Promise<RecordAnswer[]> {
    const { transport, server, timeoutMs } = this.#opts;
    let reply: Buffer;
    try {
      const query = encodeQuery(randomInt(0, 65536), qname, type, { recursionDesired: false });
      reply = await transport.exchange(server, query, { timeoutMs, signal });
    } catch (err) {
      signal?.throwIfAborted();
      throw errorForTransport(err, `${this.#serverText()} reading ${qname} ${type}`);
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
