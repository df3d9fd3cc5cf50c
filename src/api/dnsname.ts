/**
 * DNS names and IP addresses as the ApexAlias API and the configuration accept them. Pure.
 *
 * Every regular expression here is used twice: by JavaScript (standalone validation) and by the
 * apiserver's CEL `matches()` (RE2). They are written in the subset both engines read the same
 * way: character classes, `(?:…)` groups, bounded repeats, anchors. Nothing else.
 */

/** One lower-case LDH label: a-z, 0-9 and '-', not starting or ending with '-', 1..63 characters. */
export const LABEL_RE = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';

/**
 * The last label of a zone or hostname must start with a letter. That rules out an IP address
 * ("192.0.2.1") posing as a hostname; every real top-level domain (including "xn--…") fits.
 */
const LAST_LABEL_RE = '[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?';

/** A zone: one or more labels, the last starting with a letter, optionally absolute (trailing dot). */
export const ZONE_RE = `^(?:${LABEL_RE}\\.)*${LAST_LABEL_RE}\\.?$`;

/** A target hostname: at least two labels, the last starting with a letter, optionally absolute. */
export const HOSTNAME_RE = `^(?:${LABEL_RE}\\.)+${LAST_LABEL_RE}\\.?$`;

/** An owner name as written in `spec.name` (other than "@"): relative, or absolute with a trailing dot. */
export const OWNER_NAME_RE = `^${LABEL_RE}(?:\\.${LABEL_RE})*\\.?$`;

/** A single label, for names of backends and the like. */
export const LABEL_ONLY_RE = `^${LABEL_RE}$`;

/** Longest DNS name in text form without the trailing dot (RFC 1035 §2.3.4 leaves 253 usable characters). */
export const MAX_NAME_LENGTH = 253;

const zoneRe = new RegExp(ZONE_RE);
const hostnameRe = new RegExp(HOSTNAME_RE);
const labelOnlyRe = new RegExp(LABEL_ONLY_RE);

/** Same name in absolute form, with exactly one trailing dot. */
export function absoluteName(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

function withinLength(name: string): boolean {
  return name.length <= (name.endsWith('.') ? MAX_NAME_LENGTH + 1 : MAX_NAME_LENGTH);
}

/** A lower-case zone name (one label or more), with or without the trailing dot. */
export function isZoneName(name: string): boolean {
  return zoneRe.test(name) && withinLength(name);
}

/** A lower-case hostname with at least two labels, with or without the trailing dot. */
export function isHostname(name: string): boolean {
  return hostnameRe.test(name) && withinLength(name);
}

/** A single lower-case LDH label (RFC 1123), e.g. a backend name. */
export function isLabel(name: string): boolean {
  return labelOnlyRe.test(name);
}

/** Parsed IP address. `bytes` has 4 entries for IPv4 and 16 for IPv6. */
export interface ParsedIp {
  family: 4 | 6;
  bytes: Uint8Array;
  /** IPv6 zone ("eth0" in "fe80::1%eth0"), or "". */
  zone: string;
}

function parseIPv4Fields(s: string, out: Uint8Array, at: number): boolean {
  // A port of Go's net/netip parser, so that the answers match the apiserver's `isIP()` exactly:
  // four decimal fields, each 0..255, no leading zeros, no empty fields.
  let val = 0;
  let pos = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && val === 0) return false;
      val = val * 10 + (c - 48);
      digits++;
      if (val > 255) return false;
    } else if (c === 46) {
      if (i === 0 || i === s.length - 1 || s[i - 1] === '.') return false;
      if (pos === 3) return false;
      out[at + pos] = val;
      pos++;
      val = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  if (pos < 3) return false;
  out[at + 3] = val;
  return true;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function parseIPv6(input: string): ParsedIp | undefined {
  let s = input;
  let zone = '';
  const pct = s.indexOf('%');
  if (pct !== -1) {
    zone = s.slice(pct + 1);
    s = s.slice(0, pct);
    if (zone === '') return undefined;
  }
  const ip = new Uint8Array(16);
  let ellipsis = -1;
  if (s.startsWith('::')) {
    ellipsis = 0;
    s = s.slice(2);
    if (s.length === 0) return { family: 6, bytes: ip, zone };
  }
  let i = 0;
  while (i < 16) {
    let off = 0;
    let acc = 0;
    for (; off < s.length; off++) {
      const h = hexValue(s.charCodeAt(off));
      if (h < 0) break;
      acc = acc * 16 + h;
      if (off > 3 || acc > 0xffff) return undefined;
    }
    if (off === 0) return undefined;
    if (off < s.length && s[off] === '.') {
      if (ellipsis < 0 && i !== 12) return undefined;
      if (i + 4 > 16) return undefined;
      if (!parseIPv4Fields(s, ip, i)) return undefined;
      s = '';
      i += 4;
      break;
    }
    ip[i] = acc >> 8;
    ip[i + 1] = acc & 0xff;
    i += 2;
    s = s.slice(off);
    if (s.length === 0) break;
    if (s[0] !== ':' || s.length === 1) return undefined;
    s = s.slice(1);
    if (s[0] === ':') {
      if (ellipsis >= 0) return undefined;
      ellipsis = i;
      s = s.slice(1);
      if (s.length === 0) break;
    }
  }
  if (s.length !== 0) return undefined;
  if (i < 16) {
    if (ellipsis < 0) return undefined;
    const n = 16 - i;
    for (let j = i - 1; j >= ellipsis; j--) ip[j + n] = ip[j] ?? 0;
    ip.fill(0, ellipsis, ellipsis + n);
  } else if (ellipsis >= 0) {
    return undefined;
  }
  return { family: 6, bytes: ip, zone };
}

/**
 * Parses an IP address the way Go's `netip.ParseAddr` does (which is what the apiserver's CEL
 * `ip()`/`isIP()` use). Returns undefined when `text` is not an address.
 */
export function parseIp(text: string): ParsedIp | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '.') {
      const bytes = new Uint8Array(4);
      return parseIPv4Fields(text, bytes, 0) ? { family: 4, bytes, zone: '' } : undefined;
    }
    if (c === ':') return parseIPv6(text);
    if (c === '%') return undefined;
  }
  return undefined;
}

function isIPv4Mapped(ip: ParsedIp): boolean {
  if (ip.family !== 6) return false;
  for (let i = 0; i < 10; i++) if (ip.bytes[i] !== 0) return false;
  return ip.bytes[10] === 0xff && ip.bytes[11] === 0xff;
}

/**
 * The apiserver's CEL `isIP()` (k8s.io/apiserver/pkg/cel/library/ip.go) in TypeScript: an IPv4 or
 * IPv6 address without a zone, not leading-zero IPv4, and not IPv4-mapped IPv6 (::ffff:a.b.c.d).
 */
export function isIP(text: string): boolean {
  const ip = parseIp(text);
  return ip !== undefined && ip.zone === '' && !isIPv4Mapped(ip);
}

/** Canonical text of an address (RFC 5952 for IPv6: lower-case, longest zero run as "::"). */
export function formatIp(ip: ParsedIp): string {
  const b = ip.bytes;
  if (ip.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]): string => g.map((x) => x.toString(16)).join(':');
  const text =
    bestLen >= 2
      ? `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`
      : hex(groups);
  return ip.zone ? `${text}%${ip.zone}` : text;
}

/** Canonical text of an address given as text, or undefined when it is not an address. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : undefined;
}
