import crypto from 'node:crypto';

import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer, Packet, Question } from 'dns-packet';

import { DnsTimeoutError } from '../../src/dns/errors.ts';
import type { DnsTransport, Endpoint, ExchangeOptions } from '../../src/dns/transport.ts';
import { fingerprintRequest, matchReply } from '../../src/dns/reply-match.ts';

/** Address record types the test server holds. */
export type AddressType = 'A' | 'AAAA';

/**
 * How the server misbehaves for a name (and optionally one type):
 * - `servfail`, `refused`: that rcode, no records.
 * - `drop`: no reply at all, over UDP and TCP (a timeout for the client).
 * - `truncate`: over UDP an empty reply with TC=1; over TCP the full answer.
 * - `truncate-always`: TC=1 and no records over TCP as well.
 * - `malformed`: bytes that start like a reply with the right ID but do not parse.
 * - `wrong-id`: the right answer under another message ID, never the right one.
 * - `wrong-question`: the right ID, but the question (and answers) name `wrong-question.invalid`.
 * - `nodata-soa`: NOERROR, empty answer, SOA in authority, even when records exist.
 * - `normal`: answer from the data (clears a behaviour).
 */
export type AuthBehaviour =
  | 'servfail'
  | 'refused'
  | 'drop'
  | 'truncate'
  | 'truncate-always'
  | 'malformed'
  | 'wrong-id'
  | 'wrong-question'
  | 'nodata-soa'
  | 'normal';

/** How {@link Targets} answers. */
export interface TargetsOptions {
  /**
   * Follow CNAMEs to names this server knows and add their records to the answer, as an
   * authoritative server does for in-zone targets. Default true. With false, a CNAME answer holds
   * the CNAME alone and the client must ask for the target itself.
   */
  chaseCnames?: boolean;
  /** TTL and MINIMUM of the SOA in negative answers. Default 30. */
  negativeTtl?: number;
}

/** Filter for {@link TestAuthServer.queries}; omitted fields match everything. */
export interface QueryFilter {
  name?: string;
  type?: string;
  tcp?: boolean;
}

interface AddressSet {
  addresses: string[];
  ttl: number;
}

interface NameData {
  A?: AddressSet;
  AAAA?: AddressSet;
  cname?: { target: string; ttl: number };
}

const MAX_CHASE = 16;
const SERVER_UDP_PAYLOAD = 1232;
const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const WRONG_QUESTION_NAME = 'wrong-question.invalid';

/** Lower case, no trailing dot: the key of every map here. */
function norm(name: string): string {
  const n = name.toLowerCase().replace(/\.$/, '');
  return n === '' ? '.' : n;
}

/** The zone a name's negative answer is signed by: its last two labels (the name itself if shorter). */
function zoneOf(name: string): string {
  const labels = norm(name).split('.');
  return labels.length <= 2 ? norm(name) : labels.slice(-2).join('.');
}

/**
 * The data and the answers of the project's programmable authoritative server for targets: A,
 * AAAA and CNAME data for any number of names (map lookups, so 10,000+ names cost nothing),
 * answered with AA set, with misbehaviour per name. {@link TestAuthServer} serves it on loopback
 * sockets; {@link Targets.transport} answers in-process, for unit tests that need a real
 * `Resolver` without a server.
 *
 * Unknown names get NXDOMAIN and a name without the asked type gets NODATA, both with an SOA
 * (TTL 30 unless configured) in the authority section for negative caching. UDP replies larger
 * than the client's EDNS size (512 without EDNS, at most 1232) are sent empty with TC=1.
 *
 * CNAME chasing stops before a name that has a behaviour set, so such a name is always asked
 * for on its own and its misbehaviour reaches the client; it also stops at a loop or after 16
 * CNAMEs, returning the chain so far with NOERROR, as BIND does.
 */
export class Targets {
  readonly #chase: boolean;
  readonly #negativeTtl: number;
  readonly #names = new Map<string, NameData>();
  readonly #behaviours = new Map<string, Map<string, AuthBehaviour>>();
  /** name → "TYPE|tcp" or "TYPE|udp" → count. */
  readonly #counts = new Map<string, Map<string, number>>();

  constructor(options: TargetsOptions = {}) {
    this.#chase = options.chaseCnames ?? true;
    this.#negativeTtl = options.negativeTtl ?? 30;
  }

  /**
   * Sets the A or AAAA RRset of `name` (replacing it, and any CNAME at the name). An empty list
   * leaves the name existing without that type, so it answers NODATA.
   */
  setAddresses(name: string, type: AddressType, addresses: string[], ttl: number): void {
    const data = this.#names.get(norm(name)) ?? {};
    delete data.cname;
    data[type] = { addresses: [...addresses], ttl };
    this.#names.set(norm(name), data);
  }

  /** Makes `name` a CNAME to `target` (dropping its A/AAAA: a CNAME stands alone). */
  setCname(name: string, target: string, ttl: number): void {
    this.#names.set(norm(name), { cname: { target: target.replace(/\.$/, ''), ttl } });
  }

  /** Deletes every record and behaviour of `name`: it answers NXDOMAIN from now on. */
  remove(name: string): void {
    this.#names.delete(norm(name));
    this.#behaviours.delete(norm(name));
  }

  /** Deletes all names and behaviours. */
  clear(): void {
    this.#names.clear();
    this.#behaviours.clear();
  }

  /**
   * Makes queries for `name` (of `type` only, when given) misbehave; `normal` clears it. A
   * type-specific behaviour wins over one for all types.
   */
  setBehaviour(name: string, behaviour: AuthBehaviour, type?: AddressType): void {
    const key = norm(name);
    const byType = this.#behaviours.get(key) ?? new Map<string, AuthBehaviour>();
    const slot = type ?? '*';
    if (behaviour === 'normal') byType.delete(slot);
    else byType.set(slot, behaviour);
    if (byType.size === 0) this.#behaviours.delete(key);
    else this.#behaviours.set(key, byType);
  }

  /** How many queries arrived (any behaviour, dropped ones included) that match `filter`. */
  queries(filter: QueryFilter = {}): number {
    const names = filter.name !== undefined ? [norm(filter.name)] : [...this.#counts.keys()];
    const type = filter.type?.toUpperCase();
    let total = 0;
    for (const name of names) {
      const byKey = this.#counts.get(name);
      if (!byKey) continue;
      for (const [key, count] of byKey) {
        const [t, transport] = key.split('|');
        if (type !== undefined && t !== type) continue;
        if (filter.tcp !== undefined && (transport === 'tcp') !== filter.tcp) continue;
        total += count;
      }
    }
    return total;
  }

  /** Sets every query counter back to zero. */
  resetCounts(): void {
    this.#counts.clear();
  }

  /**
   * A `DnsTransport` that answers from this data without a socket: the request goes through
   * {@link reply} as it would over UDP (then TCP after TC=1, as NetTransport does), a reply that
   * does not match the request is dropped, and no reply is a timeout.
   */
  transport(): DnsTransport {
    const stats = { udpSent: 0, tcpSent: 0, dropped: 0, truncated: 0 };
    const exchange = async (server: Endpoint, request: Buffer, opts: ExchangeOptions): Promise<Buffer> => {
      opts.signal?.throwIfAborted();
      const fingerprint = fingerprintRequest(request);
      let tcp = opts.tcp === true || request.length > 512;
      for (;;) {
        if (tcp) stats.tcpSent++;
        else stats.udpSent++;
        const reply = this.reply(request, tcp);
        const verdict = reply ? matchReply(reply, fingerprint) : undefined;
        if (!reply || !verdict?.accept) {
          if (reply) stats.dropped++;
          throw new DnsTimeoutError(
            `no matching DNS reply from ${server.host}:${server.port} within ${opts.timeoutMs} ms`,
            { dropped: verdict && !verdict.accept ? [verdict.reason] : [] },
          );
        }
        if (!verdict.truncated || tcp) return reply;
        stats.truncated++;
        tcp = true;
      }
    };
    return { stats, exchange };
  }

  #count(name: string, type: string, tcp: boolean): void {
    const key = norm(name);
    let byKey = this.#counts.get(key);
    if (!byKey) {
      byKey = new Map();
      this.#counts.set(key, byKey);
    }
    const k = `${type.toUpperCase()}|${tcp ? 'tcp' : 'udp'}`;
    byKey.set(k, (byKey.get(k) ?? 0) + 1);
  }

  #behaviourFor(name: string, type: string): AuthBehaviour {
    const byType = this.#behaviours.get(norm(name));
    if (!byType) return 'normal';
    return byType.get(type.toUpperCase()) ?? byType.get('*') ?? 'normal';
  }

  /** The reply to one wire-format query, or undefined for no reply. */
  reply(msg: Buffer, tcp: boolean): Buffer | undefined {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined; // Garbage in: a real server would drop or FORMERR; dropping is simplest.
    }
    if (query.type === 'response') return undefined;
    const question = query.questions?.[0];
    const id = query.id ?? 0;
    const opt = query.additionals?.find((a): a is OptAnswer => a.type === 'OPT');
    // Echo opcode and RD; set AA.
    const baseFlags = ((query.flags ?? 0) & (0xf << 11)) | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED);
    if (!question) return this.#encode({ id, flags: baseFlags | RCODE.FORMERR, questions: [] }, opt, tcp);
    // Only QUERY is served: NOTIFY, UPDATE and the rest get NOTIMP, as from a server without them.
    if (((query.flags ?? 0) >> 11) & 0xf) {
      return this.#encode(
        { id, flags: baseFlags | RCODE.NOTIMP, questions: query.questions ?? [] },
        opt,
        tcp,
      );
    }

    this.#count(question.name, question.type, tcp);
    const behaviour = this.#behaviourFor(question.name, question.type);
    const flags = baseFlags | dnsPacket.AUTHORITATIVE_ANSWER;
    const questions: Question[] = [
      { name: question.name, type: question.type, class: question.class ?? 'IN' },
    ];

    switch (behaviour) {
      case 'drop':
        return undefined;
      case 'servfail':
        return this.#encode({ id, flags: baseFlags | RCODE.SERVFAIL, questions }, opt, tcp);
      case 'refused':
        return this.#encode({ id, flags: baseFlags | RCODE.REFUSED, questions }, opt, tcp);
      case 'malformed':
        return malformed(id);
      case 'truncate-always':
        return this.#encode({ id, flags: flags | dnsPacket.TRUNCATED_RESPONSE, questions }, opt, tcp);
      case 'truncate':
        if (!tcp)
          return this.#encode({ id, flags: flags | dnsPacket.TRUNCATED_RESPONSE, questions }, opt, tcp);
        break;
      case 'nodata-soa':
        return this.#encode({ id, flags, questions, authorities: [this.#soa(question.name)] }, opt, tcp);
      default:
        break;
    }

    const answer = this.#answer(question.name, question.type);
    const packet: Packet = {
      id: behaviour === 'wrong-id' ? (id + 1 + crypto.randomInt(1000)) & 0xffff : id,
      flags: flags | answer.rcode,
      questions,
      answers: answer.answers,
      authorities: answer.authorities,
    };
    if (behaviour === 'wrong-question') {
      packet.questions = [{ ...questions[0]!, name: WRONG_QUESTION_NAME }];
      packet.answers = answer.answers.map((a) => ({ ...a, name: WRONG_QUESTION_NAME }));
    }
    return this.#encode(packet, opt, tcp);
  }

  #answer(qname: string, qtype: string): { rcode: number; answers: Answer[]; authorities: Answer[] } {
    const answers: Answer[] = [];
    const seen = new Set<string>();
    let owner = qname;
    for (;;) {
      const key = norm(owner);
      seen.add(key);
      const data = this.#names.get(key);
      if (!data) return { rcode: RCODE.NXDOMAIN, answers, authorities: [this.#soa(owner)] };
      if (data.cname && qtype !== 'CNAME') {
        answers.push({
          name: owner,
          type: 'CNAME',
          class: 'IN',
          ttl: data.cname.ttl,
          data: data.cname.target,
        });
        const next = data.cname.target;
        if (
          !this.#chase ||
          seen.has(norm(next)) ||
          answers.length >= MAX_CHASE ||
          this.#behaviourFor(next, qtype) !== 'normal'
        ) {
          return { rcode: RCODE.NOERROR, answers, authorities: [] };
        }
        // A chased target this server does not know ends as NXDOMAIN below, as a server
        // authoritative for the target would say.
        owner = next;
        continue;
      }
      if (qtype === 'CNAME' && data.cname) {
        answers.push({
          name: owner,
          type: 'CNAME',
          class: 'IN',
          ttl: data.cname.ttl,
          data: data.cname.target,
        });
        return { rcode: RCODE.NOERROR, answers, authorities: [] };
      }
      const set = qtype === 'A' || qtype === 'AAAA' ? data[qtype] : undefined;
      if (set && set.addresses.length > 0) {
        for (const address of set.addresses) {
          answers.push({ name: owner, type: qtype as AddressType, class: 'IN', ttl: set.ttl, data: address });
        }
        return { rcode: RCODE.NOERROR, answers, authorities: [] };
      }
      return { rcode: RCODE.NOERROR, answers, authorities: [this.#soa(owner)] };
    }
  }

  #soa(name: string): Answer {
    const zone = zoneOf(name);
    return {
      name: zone,
      type: 'SOA',
      class: 'IN',
      ttl: this.#negativeTtl,
      data: {
        mname: `ns1.${zone}`,
        rname: `hostmaster.${zone}`,
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: this.#negativeTtl,
      },
    };
  }

  /** Encodes `packet` as a response, adding OPT when the query had one and truncating for UDP. */
  #encode(packet: Packet, queryOpt: OptAnswer | undefined, tcp: boolean): Buffer {
    const additionals: Answer[] = [];
    if (queryOpt) {
      additionals.push({
        type: 'OPT',
        name: '.',
        udpPayloadSize: SERVER_UDP_PAYLOAD,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: [],
      });
    }
    const full: Packet = { ...packet, type: 'response', additionals };
    const wire = dnsPacket.encode(full);
    const limit = queryOpt ? Math.max(512, Math.min(queryOpt.udpPayloadSize, SERVER_UDP_PAYLOAD)) : 512;
    if (tcp || wire.length <= limit) return wire;
    return dnsPacket.encode({
      ...full,
      flags: (full.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
      answers: [],
      authorities: [],
    });
  }
}

/** A reply header with the right ID that promises records the bytes do not hold. */
function malformed(id: number): Buffer {
  const buf = Buffer.alloc(12 + 24);
  buf.writeUInt16BE(id, 0);
  buf.writeUInt16BE(0x8400, 2); // QR, AA, NOERROR
  buf.writeUInt16BE(1, 4); // QDCOUNT
  buf.writeUInt16BE(3, 6); // ANCOUNT
  buf.writeUInt16BE(0, 8);
  buf.writeUInt16BE(0, 10);
  buf[12] = 63; // a 63-byte label, but only 23 bytes follow
  crypto.randomFillSync(buf, 13);
  return buf;
}
