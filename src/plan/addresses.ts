import { isIPv4, isIPv6 } from 'node:net';
import { ValidationError } from '../errors.ts';
import type { AddressType, Family } from './types.ts';

/**
 * Canonical address text, so that the same address read back from a backend, decoded by
 * dns-packet (which compresses the first zero run, not the longest) or typed by a user compares
 * equal and never causes a spurious write. IPv6 follows RFC 5952: lower case, no leading
 * zeros, the longest run of two or more zero groups (the first on a tie) compressed to `::`,
 * and IPv4-mapped addresses in mixed notation (`::ffff:192.0.2.1`).
 */

/** The family of an address, or undefined when the text is not a plain IP address. */
export function familyOf(address: string): Family | undefined {
  if (isIPv4(address)) return 'IPv4';
  // A zone index ("fe80::1%eth0") is local to a host and has no place in an AAAA record.
  if (isIPv6(address) && !address.includes('%')) return 'IPv6';
  return undefined;
}

/** The address type that carries an address, or undefined for text that is not an IP address. */
export function addressTypeOf(address: string): AddressType | undefined {
  const family = familyOf(address);
  return family === undefined ? undefined : family === 'IPv4' ? 'A' : 'AAAA';
}

function ipv4Octets(text: string): number[] {
  return text.split('.').map((part) => Number(part));
}

/** Eight 16-bit groups; `text` must already be a valid IPv6 address without a zone index. */
function ipv6Groups(text: string): number[] {
  let s = text;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = ipv4Octets(tail);
    s = `${s.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const gap = s.indexOf('::');
  if (gap < 0) return parse(s);
  const head = parse(s.slice(0, gap));
  const rest = parse(s.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

function formatIPv6(groups: number[]): string {
  const isMapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (isMapped) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return `::ffff:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLength < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The numeric form used for ordering: 4 octets or 8 groups. */
function addressKey(address: string): { family: Family; parts: number[] } | undefined {
  const family = familyOf(address);
  if (family === 'IPv4') return { family, parts: ipv4Octets(address) };
  if (family === 'IPv6') return { family, parts: ipv6Groups(address) };
  return undefined;
}

/** The canonical text of an IP address, or undefined when `address` is not one. */
export function tryCanonicalAddress(address: string): string | undefined {
  const key = addressKey(address);
  if (key === undefined) return undefined;
  return key.family === 'IPv4' ? key.parts.join('.') : formatIPv6(key.parts);
}

/** The canonical text of an IP address; throws a `ValidationError` when `address` is not one. */
export function canonicalAddress(address: string): string {
  const canonical = tryCanonicalAddress(address);
  if (canonical === undefined) throw new ValidationError(`not an IP address: ${JSON.stringify(address)}`);
  return canonical;
}

/** Orders canonical addresses numerically, IPv4 before IPv6. */
export function compareAddresses(a: string, b: string): number {
  const ka = addressKey(a);
  const kb = addressKey(b);
  // Text that is not an address sorts last, by its text, so sorting never throws.
  if (ka === undefined || kb === undefined) {
    if (ka !== undefined) return -1;
    if (kb !== undefined) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (ka.family !== kb.family) return ka.family === 'IPv4' ? -1 : 1;
  for (let i = 0; i < ka.parts.length; i++) {
    const diff = (ka.parts[i] ?? 0) - (kb.parts[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/**
 * Canonical, de-duplicated and sorted. Text that is not an IP address is kept, lower-cased, so
 * that comparing against a zone that holds something odd reports a difference instead of
 * throwing; use `canonicalAddress` where such text must be refused.
 */
export function normalizeAddresses(addresses: readonly string[]): string[] {
  const canonical = addresses.map((a) => tryCanonicalAddress(a) ?? a.trim().toLowerCase());
  return [...new Set(canonical)].sort(compareAddresses);
}

/** Splits a mixed list (`spec.fallbackAddresses`) into canonical, sorted lists per address type. */
export function splitByType(addresses: readonly string[]): Record<AddressType, string[]> {
  const result: Record<AddressType, string[]> = { A: [], AAAA: [] };
  for (const address of normalizeAddresses(addresses)) {
    const type = addressTypeOf(address);
    if (type !== undefined) result[type].push(address);
  }
  return result;
}

/** Set equality of two address lists after canonicalisation (order and duplicates ignored). */
export function sameAddresses(a: readonly string[], b: readonly string[]): boolean {
  const na = normalizeAddresses(a);
  const nb = normalizeAddresses(b);
  return na.length === nb.length && na.every((address, i) => address === nb[i]);
}
