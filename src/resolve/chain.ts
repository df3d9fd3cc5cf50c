import { isIPv4, isIPv6 } from 'node:net';
import type { AddressType } from '../plan/types.ts';
import { canonicalAddress, normalizeAddresses } from '../plan/addresses.ts';
import { recordsOf } from '../dns/query.ts';
import type { DecodedMessage } from '../dns/query.ts';

/** The most CNAME hops followed before the chain counts as too long (behaviour rule 2). */
export const MAX_CHAIN_HOPS = 8;
/** More addresses than this in one answer is treated as hostile, not published. */
export const MAX_ADDRESSES = 64;

/** What one response says about one name, after following the CNAMEs it carries. */
export type AnswerWalk =
  | { kind: 'addresses'; addresses: string[]; ttl: number; chain: string[] }
  | { kind: 'cname-pending'; next: string; ttl: number; chain: string[] }
  | { kind: 'nxdomain' | 'nodata'; ttl: number; chain: string[] }
  | { kind: 'loop' | 'chain-too-long' | 'malformed'; message: string; chain: string[] };

/**
 * DNS folds ASCII case only (RFC 4343). `toLowerCase()` would also fold other letters, and make
 * a record of a name outside the chain ("\u212a.cdn.test", with a Kelvin sign) pass for one in
 * it ("k.cdn.test").
 */
const lower = (n: string): string => n.replace(/[A-Z]+/g, (s) => s.toLowerCase()).replace(/\.$/, '');

/**
 * Follows the CNAME chain inside one response, starting at `qname`, with `chain` and `minTtl`
 * carried over from earlier responses. Pure: decides from the packet alone.
 */
export function walkAnswer(
  packet: DecodedMessage,
  qname: string,
  type: AddressType,
  chain: string[],
  minTtl: number,
): AnswerWalk {
  const answers = recordsOf(packet.answers);
  let name = qname;
  let ttl = minTtl;
  const path = [...chain];
  for (;;) {
    const here = answers.filter((a) => lower(a.name) === name);
    const addrs = here.filter((a) => a.type === type);
    if (addrs.length > 0) {
      if (addrs.length > MAX_ADDRESSES) {
        return { kind: 'malformed', message: `${addrs.length} ${type} records for ${name}`, chain: path };
      }
      const set = new Set<string>();
      for (const a of addrs) {
        const data = typeof a.data === 'string' ? a.data : '';
        const valid = type === 'A' ? isIPv4(data) : isIPv6(data);
        if (!valid) return { kind: 'malformed', message: `bad ${type} data for ${name}`, chain: path };
        set.add(canonicalAddress(data));
        ttl = Math.min(ttl, a.ttl ?? 0);
      }
      return { kind: 'addresses', addresses: normalizeAddresses([...set]), ttl, chain: path };
    }
    const cname = here.find((a) => a.type === 'CNAME');
    if (!cname) break;
    const next = typeof cname.data === 'string' ? lower(cname.data) : '';
    if (!next) return { kind: 'malformed', message: `empty CNAME at ${name}`, chain: path };
    ttl = Math.min(ttl, cname.ttl ?? 0);
    if (path.includes(next)) {
      return { kind: 'loop', message: `CNAME loop: ${[...path, next].join(' → ')}`, chain: path };
    }
    path.push(next);
    if (path.length - 1 > MAX_CHAIN_HOPS) {
      return {
        kind: 'chain-too-long',
        message: `CNAME chain longer than ${MAX_CHAIN_HOPS} hops: ${path.join(' → ')}`,
        chain: path,
      };
    }
    name = next;
  }

  const soa = recordsOf(packet.authorities).find((a) => a.type === 'SOA');
  // RFC 2308: the negative TTL is the lower of the SOA's TTL and its MINIMUM field.
  const negTtl = soa ? Math.min(soa.ttl ?? 0, (soa.data as { minimum?: number }).minimum ?? 0) : 0;
  if (packet.rcode === 'NXDOMAIN')
    return { kind: 'nxdomain', ttl: Math.min(ttl, negTtl || ttl), chain: path };
  if (name !== qname && !soa) {
    // An authoritative server hands out an out-of-zone CNAME without chasing it: ask again.
    return { kind: 'cname-pending', next: name, ttl, chain: path };
  }
  if (!soa) {
    // NODATA carries the zone's SOA (RFC 2308). An empty answer without one is a referral or a
    // broken server, and must never count as "the target has no addresses" (behaviour rule 6).
    return {
      kind: 'malformed',
      message: `empty answer without SOA for ${name} ${type} (a referral?); point the resolver at a recursive server`,
      chain: path,
    };
  }
  return { kind: 'nodata', ttl: Math.min(ttl, negTtl || ttl), chain: path };
}
