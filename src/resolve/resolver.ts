import { randomInt } from 'node:crypto';
import type { AddressType, FamilyResolution, ResolveFailureReason } from '../plan/types.ts';
import {
  describeExtendedError,
  extendedErrors,
  isDnssecFailure,
  untrustedValidators,
} from '../dns/dnssec.ts';
import type { DnssecMode } from '../dns/dnssec.ts';
import { DnsError, DnsNetworkError } from '../dns/errors.ts';
import { normalizeName } from '../dns/names.ts';
import { decodeMessage, encodeQuery } from '../dns/query.ts';
import type { DecodedMessage } from '../dns/query.ts';
import type { DnsTransport, Endpoint } from '../dns/transport.ts';
import { walkAnswer } from './chain.ts';
import { TtlCache } from './cache.ts';

/** TTL used for a negative answer that carries no SOA, and for failures (retry soon). */
const DEFAULT_NEGATIVE_TTL = 30;

export interface ResolverOptions {
  servers: Endpoint[];
  transport: DnsTransport;
  timeoutMs: number;
  /** Tries in all, spread across the servers in turn. */
  attempts: number;
  cacheMaxEntries: number;
  /**
   * An answer is kept at most this long, however long its TTL (`refresh.maxSeconds`: a target is
   * looked up again at least this often). Default: its TTL.
   */
  maxCacheSeconds?: number;
  /** Milliseconds since the epoch; injected so tests and the cache agree on time. */
  now: () => number;
  /** Called after every real lookup (not for cache hits), for metrics. */
  observe?: (seconds: number, result: FamilyResolution) => void;
  /**
   * `off` (the default) asks plain questions. `prefer` sets the DO bit and records in each
   * result whether the whole chain was validated. `require` also fails a lookup whose chain
   * was not, with reason `dnssec-unvalidated`. See docs/dnssec.md.
   */
  dnssec?: DnssecMode;
  /** IP addresses of validators reached over a trusted path, besides loopback (always trusted). */
  trustedValidators?: readonly string[];
}

/** One family of one target, with the moment it should be looked up again. */
export interface Resolved {
  result: FamilyResolution;
  /** Epoch ms at which the answer's TTL runs out. */
  expiresAt: number;
  /** True when served from the cache without a query. */
  cached: boolean;
}

export interface ResolverStats {
  queries: number;
  cacheHits: number;
  cacheMisses: number;
}

type Outcome =
  | {
      ok: true;
      packet: DecodedMessage;
      /** The AD bit, from a server on a trusted path (always false with `dnssec: off`). */
      validated: boolean;
      /** Why `validated` is false, for messages. */
      why: string;
    }
  | { ok: false; reason: ResolveFailureReason; message: string };

/**
 * Resolves A and AAAA for targets through upstream servers. Follows CNAME chains across
 * responses, caches per (name, type) for the answer's TTL, and lets concurrent callers for the
 * same key share one lookup, so 10,000 aliases over 1,000 targets cost 1,000 queries per TTL.
 */
export class Resolver {
  readonly stats: ResolverStats = { queries: 0, cacheHits: 0, cacheMisses: 0 };
  readonly #opts: ResolverOptions;
  readonly #cache: TtlCache<Resolved>;
  readonly #inflight = new Map<string, Promise<Resolved>>();
  readonly #dnssec: DnssecMode;
  readonly #untrusted: Set<string>;
  #next = 0;

  /**
   * @throws DnsError `ERR_RESOLVER_NO_SERVERS` without servers; `ERR_RESOLVER_UNTRUSTED_VALIDATOR`
   *   with `dnssec: require` and a server that is neither loopback nor in `trustedValidators`,
   *   since its AD bit proves nothing.
   */
  constructor(opts: ResolverOptions) {
    if (opts.servers.length === 0)
      throw new DnsError('ERR_RESOLVER_NO_SERVERS', 'no resolver servers configured');
    this.#dnssec = opts.dnssec ?? 'off';
    this.#untrusted = new Set(untrustedValidators(opts.servers, opts.trustedValidators ?? []));
    if (this.#dnssec === 'require' && this.#untrusted.size > 0) {
      throw new DnsError(
        'ERR_RESOLVER_UNTRUSTED_VALIDATOR',
        `resolver.dnssec is "require", but the path to ${[...this.#untrusted].join(', ')} is not trusted: ` +
          'its AD bit could be forged on the way. Use a validating resolver on loopback, or list the ' +
          'address in resolver.trustedValidators once the path to it is protected (see docs/dnssec.md)',
      );
    }
    this.#opts = opts;
    this.#cache = new TtlCache(opts.cacheMaxEntries);
  }

  /** Resolves one family of `target`, from the cache when the TTL has not run out. */
  resolve(target: string, type: AddressType): Promise<Resolved> {
    const name = normalizeName(target);
    const key = `${name}|${type}`;
    const now = this.#opts.now();
    const hit = this.#cache.get(key, now);
    if (hit) {
      this.stats.cacheHits++;
      return Promise.resolve({ ...hit, cached: true });
    }
    const running = this.#inflight.get(key);
    if (running) {
      this.stats.cacheHits++;
      return running;
    }
    this.stats.cacheMisses++;
    const started = performance.now();
    const lookup = this.#lookup(name, type)
      .then((result) => {
        this.#opts.observe?.((performance.now() - started) / 1000, result);
        const ttl =
          result.kind === 'failed' ? 0 : Math.min(result.ttl, this.#opts.maxCacheSeconds ?? Infinity);
        const resolved: Resolved = { result, expiresAt: this.#opts.now() + ttl * 1000, cached: false };
        // Failures are not cached: the caller's backoff decides when to ask again.
        if (result.kind !== 'failed' && ttl > 0) this.#cache.set(key, resolved, resolved.expiresAt);
        return resolved;
      })
      .finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, lookup);
    return lookup;
  }

  /** Drops every cached answer for `target` (both families). */
  forget(target: string): void {
    const name = normalizeName(target);
    this.#cache.delete(`${name}|A`);
    this.#cache.delete(`${name}|AAAA`);
  }

  async #lookup(target: string, type: AddressType): Promise<FamilyResolution> {
    let qname = target;
    let chain = [target];
    let ttl = Number.POSITIVE_INFINITY;
    // Every response along the chain must be validated for the chain to be.
    let validated = true;
    for (;;) {
      const outcome = await this.#query(qname, type);
      if (!outcome.ok) return { kind: 'failed', reason: outcome.reason, message: outcome.message, chain };
      if (!outcome.validated) {
        validated = false;
        if (this.#dnssec === 'require') {
          return { kind: 'failed', reason: 'dnssec-unvalidated', message: outcome.why, chain };
        }
      }
      const walk = walkAnswer(outcome.packet, qname, type, chain, ttl);
      const state = this.#dnssec === 'off' ? {} : { validated };
      switch (walk.kind) {
        case 'addresses':
          return {
            kind: 'addresses',
            addresses: walk.addresses,
            ttl: finite(walk.ttl),
            chain: walk.chain,
            ...state,
          };
        case 'nxdomain':
        case 'nodata':
          return { kind: 'missing', reason: walk.kind, ttl: finite(walk.ttl), chain: walk.chain, ...state };
        case 'cname-pending':
          qname = walk.next;
          chain = walk.chain;
          ttl = walk.ttl;
          continue;
        default:
          return { kind: 'failed', reason: walk.kind, message: walk.message, chain: walk.chain };
      }
    }
  }

  /** One exchange with one server; the decoded reply or why there is none. */
  async #exchange(
    server: Endpoint,
    name: string,
    type: AddressType,
    checkingDisabled: boolean,
  ): Promise<{ packet: DecodedMessage } | { failure: { reason: ResolveFailureReason; message: string } }> {
    const where = `${server.host}:${server.port}`;
    this.stats.queries++;
    try {
      const query = encodeQuery(randomInt(0, 65536), name, type, {
        dnssecOk: this.#dnssec !== 'off',
        checkingDisabled,
      });
      const reply = await this.#opts.transport.exchange(server, query, { timeoutMs: this.#opts.timeoutMs });
      return { packet: decodeMessage(reply) };
    } catch (err) {
      return { failure: failureOf(err, where, name, type) };
    }
  }

  /** Asks the servers in turn until one gives a usable answer or the attempts run out. */
  async #query(name: string, type: AddressType): Promise<Outcome> {
    const { servers, attempts } = this.#opts;
    let last: Outcome = { ok: false, reason: 'timeout', message: 'no attempt made' };
    for (let attempt = 0; attempt < Math.max(1, attempts); attempt++) {
      const server = servers[this.#next++ % servers.length]!;
      const where = `${server.host}:${server.port}`;
      const exchanged = await this.#exchange(server, name, type, false);
      if ('failure' in exchanged) {
        last = { ok: false, ...exchanged.failure };
        continue;
      }
      const { packet } = exchanged;
      const rcode = packet.rcode ?? 'NOERROR';
      if (rcode === 'NOERROR' || rcode === 'NXDOMAIN')
        return { ok: true, packet, ...this.#validation(packet, server) };
      if (rcode === 'SERVFAIL' && this.#dnssec !== 'off') {
        const bogus = await this.#bogus(server, packet, name, type);
        // A validator that proved the data bogus has answered: asking another one is not a retry.
        if (bogus) return { ok: false, reason: 'dnssec-bogus', message: `${where} ${bogus}` };
      }
      const reason: ResolveFailureReason =
        rcode === 'SERVFAIL' ? 'servfail' : rcode === 'REFUSED' ? 'refused' : 'rcode';
      last = { ok: false, reason, message: `${where} answered ${rcode} for ${name} ${type}` };
    }
    return last;
  }

  /** Whether a usable reply counts as validated, and if not, why. */
  #validation(packet: DecodedMessage, server: Endpoint): { validated: boolean; why: string } {
    if (this.#dnssec === 'off') return { validated: false, why: 'DNSSEC is off' };
    const where = `${server.host}:${server.port}`;
    const question = `${packet.questions?.[0]?.name ?? '?'} ${packet.questions?.[0]?.type ?? ''}`.trim();
    if (this.#untrusted.has(server.host)) {
      return {
        validated: false,
        why: `the answer for ${question} came from ${where}, whose path is not trusted (resolver.trustedValidators)`,
      };
    }
    if (packet.flag_ad) return { validated: true, why: '' };
    const ede = extendedErrors(packet).map(describeExtendedError);
    return {
      validated: false,
      why:
        `${where} did not validate the answer for ${question} (AD bit clear: unsigned, insecurely ` +
        `delegated, or the server does not validate)${ede.length ? `; ${ede.join('; ')}` : ''}`,
    };
  }

  /**
   * Tells a validator's SERVFAIL for bogus data from an ordinary one. An Extended DNS Error
   * with a DNSSEC code settles it without another query. Otherwise the question is asked again
   * with CD set: a validator that then answers has the data and refused it only because it did
   * not validate. Returns the message for a bogus answer, undefined for an ordinary SERVFAIL.
   */
  async #bogus(
    server: Endpoint,
    packet: DecodedMessage,
    name: string,
    type: AddressType,
  ): Promise<string | undefined> {
    const ede = extendedErrors(packet);
    if (isDnssecFailure(ede)) {
      return `answered SERVFAIL for ${name} ${type}: DNSSEC validation failed (${ede.map(describeExtendedError).join('; ')})`;
    }
    const unchecked = await this.#exchange(server, name, type, true);
    if ('failure' in unchecked) return undefined;
    const rcode = unchecked.packet.rcode ?? 'NOERROR';
    if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return undefined;
    return (
      `answered SERVFAIL for ${name} ${type} but ${rcode} with checking disabled (CD): ` +
      'the data exists and failed DNSSEC validation'
    );
  }
}

function failureOf(
  err: unknown,
  where: string,
  name: string,
  type: string,
): { reason: ResolveFailureReason; message: string } {
  const code = (err as { code?: string }).code ?? '';
  const detail = err instanceof Error ? err.message : String(err);
  if (code === 'ERR_DNS_MALFORMED')
    return { reason: 'malformed', message: `${where}: malformed answer for ${name} ${type}: ${detail}` };
  const dropped = (err as { dropped?: string[] }).dropped ?? [];
  if (code === 'ERR_DNS_TIMEOUT' && dropped.includes('malformed')) {
    return {
      reason: 'malformed',
      message: `${where}: only malformed answers for ${name} ${type}: ${detail}`,
    };
  }
  if (code === 'ERR_DNS_TIMEOUT')
    return { reason: 'timeout', message: `${where} did not answer ${name} ${type}: ${detail}` };
  // Nothing listens there (an ICMP port unreachable, or a TCP RST): an answer, not a silence.
  if (err instanceof DnsNetworkError && err.errno === 'ECONNREFUSED') {
    return { reason: 'refused', message: `${where} refused the connection for ${name} ${type}: ${detail}` };
  }
  return { reason: 'timeout', message: `${where} unreachable for ${name} ${type}: ${detail}` };
}

function finite(ttl: number): number {
  return Number.isFinite(ttl) ? Math.max(0, ttl) : DEFAULT_NEGATIVE_TTL;
}
