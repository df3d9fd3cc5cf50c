import { randomInt } from 'node:crypto';
import { normalizeName, isSubdomain } from '../dns/names.ts';
import { decodeMessage, encodeQuery, recordsOf } from '../dns/query.ts';
import type { DnsTransport, Endpoint } from '../dns/transport.ts';
import { formatEndpoint } from '../dns/endpoint.ts';
import { normalizeAddresses, sameAddresses } from '../plan/addresses.ts';
import type { AddressType } from '../plan/types.ts';
import type { Resolver } from '../resolve/resolver.ts';
import { mapLimit } from '../util/concurrency.ts';

/** How long a zone's discovered nameserver list is reused. */
const DISCOVERY_TTL_MS = 5 * 60_000;
/** How long a nameserver that timed out is not asked again (for any zone). */
const DOWN_MS = 30_000;

export interface Nameserver {
  /** How the nameserver is named in metrics and messages: "ns1.example.com" or "192.0.2.53:53". */
  label: string;
  endpoint: Endpoint;
}

/** What one nameserver serves for one name, compared with what it should serve. */
export interface NameserverVerdict {
  /** It answered, and with something other than what it should serve. */
  drifted: boolean;
  /**
   * It did not answer (timeout, refused, an error RCODE), even when asked again. That says
   * nothing about what it serves, so it is never reported as drift.
   */
  unreachable: boolean;
  /** Per type it answered for: whether it serves something else. */
  types: Partial<Record<AddressType, boolean>>;
  /** "serves A 192.0.2.1, expected 192.0.2.2", or the query error. */
  detail: string;
}

export interface NameserverVerifierOptions {
  transport: DnsTransport;
  timeoutMs: number;
  /** The primary, asked for the zone's NS RRset and in-zone glue. */
  primary: Endpoint;
  /** Configured authoritative servers; when set, no discovery happens. */
  configured?: Endpoint[];
  /** Resolves out-of-zone nameserver hostnames. */
  resolver: Resolver;
  now: () => number;
}

/**
 * Asks every authoritative nameserver of a zone what it serves for a name, so that a secondary
 * that lags behind or missed a NOTIFY shows up (behaviour rule 13). The nameservers come from the
 * configuration, or from the zone's NS RRset at the primary (with their addresses from in-zone
 * glue or the resolver), cached for five minutes.
 */
export class NameserverVerifier {
  readonly #opts: NameserverVerifierOptions;
  readonly #cache = new Map<string, { at: number; servers: Nameserver[] }>();
  readonly #down = new Map<string, { until: number; why: string }>();

  constructor(opts: NameserverVerifierOptions) {
    this.#opts = opts;
  }

  async servers(zone: string): Promise<Nameserver[]> {
    const { configured, now } = this.#opts;
    if (configured?.length)
      return configured.map((endpoint) => ({ label: formatEndpoint(endpoint), endpoint }));
    const cached = this.#cache.get(zone);
    if (cached && now() - cached.at < DISCOVERY_TTL_MS) return cached.servers;
    const servers: Nameserver[] = [];
    for (const host of await this.#ask(this.#opts.primary, zone, 'NS')) {
      const name = normalizeName(String(host));
      let addresses: string[];
      if (isSubdomain(name, zone)) addresses = (await this.#ask(this.#opts.primary, name, 'A')).map(String);
      else {
        const r = (await this.#opts.resolver.resolve(name, 'A')).result;
        addresses = r.kind === 'addresses' ? r.addresses : [];
      }
      for (const host of addresses) servers.push({ label: name, endpoint: { host, port: 53 } });
    }
    this.#cache.set(zone, { at: now(), servers });
    return servers;
  }

  /**
   * Verifies many names of one zone at once (behaviour rule 13). Each nameserver is first asked
   * for the zone's SOA serial: one that serves the primary's serial serves the primary's copy of
   * the zone, so every name checks out without a question of its own; only a nameserver whose
   * serial differs is asked per name and type. A nameserver that does not answer is unreachable
   * for every name, and is not asked again for other zones for a while.
   */
  async checkZone(
    zone: string,
    names: ReadonlyArray<{ name: string; expected: Partial<Record<AddressType, string[] | null>> }>,
  ): Promise<Map<string, Map<string, NameserverVerdict>>> {
    const result = new Map(names.map((n) => [n.name, new Map<string, NameserverVerdict>()]));
    if (names.length === 0) return result;
    const servers = await this.servers(zone);
    const primary = await this.#serial(this.#opts.primary, zone).catch(() => undefined);
    await mapLimit(servers, 8, async (ns) => {
      let serial: number | undefined;
      let failure: string | undefined;
      try {
        serial = await this.#serial(ns.endpoint, zone);
      } catch (err) {
        failure = (err as Error).message;
      }
      if (failure !== undefined) {
        for (const n of names)
          result
            .get(n.name)!
            .set(ns.label, { drifted: false, unreachable: true, types: {}, detail: `SOA: ${failure}` });
        return;
      }
      if (primary !== undefined && serial === primary) {
        for (const n of names) {
          const types = Object.fromEntries(Object.keys(n.expected).map((t) => [t, false]));
          result.get(n.name)!.set(ns.label, { drifted: false, unreachable: false, types, detail: '' });
        }
        return;
      }
      for (const n of names) result.get(n.name)!.set(ns.label, await this.#checkOn(ns, n.name, n.expected));
    });
    return result;
  }

  /**
   * What each nameserver serves for `name`, against `expected` per type (`null`: the type must be
   * absent; a type left out is not checked). A query that fails is asked once more before the
   * server counts as unreachable: under load a single reply can go missing.
   */
  async check(
    zone: string,
    name: string,
    expected: Partial<Record<AddressType, string[] | null>>,
  ): Promise<Map<string, NameserverVerdict>> {
    const verdicts = new Map<string, NameserverVerdict>();
    const servers = await this.servers(zone);
    await mapLimit(servers, 8, async (ns) => {
      verdicts.set(ns.label, await this.#checkOn(ns, name, expected));
    });
    return verdicts;
  }

  async #checkOn(
    ns: Nameserver,
    name: string,
    expected: Partial<Record<AddressType, string[] | null>>,
  ): Promise<NameserverVerdict> {
    const problems: string[] = [];
    const types: Partial<Record<AddressType, boolean>> = {};
    const failures: string[] = [];
    for (const [type, want] of Object.entries(expected) as Array<[AddressType, string[] | null]>) {
      let served: string[];
      try {
        served = await this.#askTwice(ns.endpoint, name, type);
      } catch (err) {
        failures.push(`${type}: ${(err as Error).message}`);
        continue;
      }
      const wanted = want ?? [];
      types[type] = !sameAddresses(served, wanted);
      if (types[type])
        problems.push(
          `serves ${type} ${served.join(',') || '(none)'}, expected ${wanted.join(',') || '(none)'}`,
        );
    }
    return {
      drifted: problems.length > 0,
      unreachable: failures.length > 0,
      types,
      detail: [...problems, ...failures].join('; '),
    };
  }

  /** The zone's SOA serial at `server`, asked twice; a server that times out is skipped for a while. */
  async #serial(server: Endpoint, zone: string): Promise<number> {
    const key = formatEndpoint(server);
    const down = this.#down.get(key);
    if (down && down.until > this.#opts.now()) throw new Error(`${down.why} (not asked again for a while)`);
    try {
      let data: unknown[];
      try {
        data = await this.#ask(server, zone, 'SOA');
      } catch {
        data = await this.#ask(server, zone, 'SOA');
      }
      const serial = (data[0] as { serial?: number } | undefined)?.serial;
      if (serial === undefined) throw new Error(`${key} serves no SOA for ${zone}`);
      this.#down.delete(key);
      return serial;
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_DNS_TIMEOUT')
        this.#down.set(key, { until: this.#opts.now() + DOWN_MS, why: (err as Error).message });
      throw err;
    }
  }

  async #askTwice(server: Endpoint, name: string, type: AddressType): Promise<string[]> {
    try {
      return normalizeAddresses((await this.#ask(server, name, type)).map(String));
    } catch {
      return normalizeAddresses((await this.#ask(server, name, type)).map(String));
    }
  }

  /** The RDATA of the records of `type` at `name` that a server answers authoritatively. */
  async #ask(server: Endpoint, name: string, type: 'A' | 'AAAA' | 'NS' | 'SOA'): Promise<unknown[]> {
    const reply = await this.#opts.transport.exchange(
      server,
      encodeQuery(randomInt(0, 65536), name, type, { recursionDesired: false }),
      { timeoutMs: this.#opts.timeoutMs },
    );
    const packet = decodeMessage(reply);
    if (packet.rcode !== 'NOERROR' && packet.rcode !== 'NXDOMAIN')
      throw new Error(`${formatEndpoint(server)} answered ${packet.rcode}`);
    return recordsOf(packet.answers)
      .filter((a) => a.type === type && normalizeName(a.name) === normalizeName(name))
      .map((a) => a.data);
  }
}
