import { randomInt } from 'node:crypto';
import type { AddressType, FamilyResolution, ResolveFailureReason } from '../plan/types.ts';
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
  /** Milliseconds since the epoch; injected so tests and the cache agree on time. */
  now: () => number;
  /** Called after every real lookup (not for cache hits), for metrics. */
  observe?: (seconds: number, result: FamilyResolution) => void;
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
  { ok: true; packet: DecodedMessage } | { ok: false; reason: ResolveFailureReason; message: string };

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
  #next = 0;

  constructor(opts: ResolverOptions) {
    if (opts.servers.length === 0)
      throw new DnsError('ERR_RESOLVER_NO_SERVERS', 'no resolver servers configured');
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
        const ttl = result.kind === 'failed' ? 0 : result.ttl;
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
    for (;;) {
      const outcome = await this.#query(qname, type);
      if (!outcome.ok) return { kind: 'failed', reason: outcome.reason, message: outcome.message, chain };
      const walk = walkAnswer(outcome.packet, qname, type, chain, ttl);
      switch (walk.kind) {
        case 'addresses':
          return { kind: 'addresses', addresses: walk.addresses, ttl: finite(walk.ttl), chain: walk.chain };
        case 'nxdomain':
        case 'nodata':
          return { kind: 'missing', reason: walk.kind, ttl: finite(walk.ttl), chain: walk.chain };
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

  /** Asks the servers in turn until one gives a usable answer or the attempts run out. */
  async #query(name: string, type: AddressType): Promise<Outcome> {
    const { servers, attempts, timeoutMs, transport } = this.#opts;
    let last: Outcome = { ok: false, reason: 'timeout', message: 'no attempt made' };
    for (let attempt = 0; attempt < Math.max(1, attempts); attempt++) {
      const server = servers[this.#next++ % servers.length]!;
      const where = `${server.host}:${server.port}`;
      this.stats.queries++;
      try {
        const reply = await transport.exchange(server, encodeQuery(randomInt(0, 65536), name, type), {
          timeoutMs,
        });
        const packet = decodeMessage(reply);
        const rcode = packet.rcode ?? 'NOERROR';
        if (rcode === 'NOERROR' || rcode === 'NXDOMAIN') return { ok: true, packet };
        const reason: ResolveFailureReason =
          rcode === 'SERVFAIL' ? 'servfail' : rcode === 'REFUSED' ? 'refused' : 'rcode';
        last = { ok: false, reason, message: `${where} answered ${rcode} for ${name} ${type}` };
      } catch (err) {
        last = { ok: false, ...failureOf(err, where, name, type) };
      }
    }
    return last;
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
