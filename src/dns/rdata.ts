import { isIPv4, isIPv6 } from 'node:net';
import { DnsError } from './errors.ts';
import { encodeName } from './names.ts';

/** The record types apexalias ever puts into an UPDATE message. */
export type UpdateRRType = 'A' | 'AAAA' | 'TXT' | 'CNAME' | 'ANY';

/** Character-strings carry a one-octet length (RFC 1035 3.3). */
const MAX_CHARACTER_STRING = 255;

function rdataError(type: string, rdata: unknown, why: string): DnsError {
  return new DnsError('ERR_DNS_RDATA', `invalid ${type} RDATA ${JSON.stringify(rdata)}: ${why}`);
}

function single(type: string, rdata: string | string[]): string {
  if (typeof rdata !== 'string') throw rdataError(type, rdata, 'expected one string');
  return rdata;
}

/** IPv4 dotted quad to its 4 octets; `text` must already be a valid IPv4 address. */
export function ipv4Octets(text: string): number[] {
  return text.split('.').map(Number);
}

/** One side of an IPv6 address around `::`, as 16-bit groups (an embedded IPv4 counts as two). */
function ipv6Groups(part: string): number[] {
  if (part === '') return [];
  return part.split(':').flatMap((group) => {
    if (!group.includes('.')) return [parseInt(group, 16)];
    const [a, b, c, d] = ipv4Octets(group) as [number, number, number, number];
    return [(a << 8) | b, (c << 8) | d];
  });
}

/**
 * The 16 octets of an IPv6 address in any RFC 4291 text form (`::`, embedded IPv4); `text` must
 * already be a valid IPv6 address without a zone index.
 */
export function ipv6Octets(text: string): Buffer {
  const gap = text.indexOf('::');
  let groups: number[];
  if (gap < 0) {
    groups = ipv6Groups(text);
  } else {
    const head = ipv6Groups(text.slice(0, gap));
    const tail = ipv6Groups(text.slice(gap + 2));
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** TXT RDATA: every string becomes as many ≤255-octet character-strings as it needs. */
function txtRdata(rdata: string | string[]): Buffer {
  const strings = typeof rdata === 'string' ? [rdata] : rdata;
  // A TXT record holds at least one character-string (RFC 1035 3.3.14); RDLENGTH 0 is asked for
  // by leaving rdata undefined, never by an empty list.
  if (strings.length === 0) throw rdataError('TXT', rdata, 'no strings');
  const parts: Buffer[] = [];
  for (const s of strings) {
    const bytes = Buffer.from(s, 'utf8');
    let offset = 0;
    do {
      const chunk = bytes.subarray(offset, offset + MAX_CHARACTER_STRING);
      parts.push(Buffer.from([chunk.length]), chunk);
      offset += MAX_CHARACTER_STRING;
    } while (offset < bytes.length);
  }
  return Buffer.concat(parts);
}

/**
 * The RDATA octets of one record in an UPDATE message. `undefined` means RDLENGTH 0, which
 * RFC 2136 uses for prerequisites on whole RRsets and for RRset deletions.
 * @throws DnsError `ERR_DNS_RDATA` when the text does not fit the type.
 */
export function encodeRdata(type: UpdateRRType, rdata: string | string[] | undefined): Buffer {
  if (rdata === undefined) return Buffer.alloc(0);
  switch (type) {
    case 'A': {
      const text = single(type, rdata);
      if (!isIPv4(text)) throw rdataError(type, rdata, 'not an IPv4 address');
      return Buffer.from(ipv4Octets(text));
    }
    case 'AAAA': {
      const text = single(type, rdata);
      if (!isIPv6(text) || text.includes('%')) throw rdataError(type, rdata, 'not an IPv6 address');
      return ipv6Octets(text);
    }
    case 'TXT':
      return txtRdata(rdata);
    case 'CNAME':
      return encodeName(single(type, rdata));
    case 'ANY':
      throw rdataError(type, rdata, 'type ANY carries no RDATA');
  }
}
