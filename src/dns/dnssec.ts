/**
 * What apexalias needs to know about DNSSEC on the wire, as a stub behind a validating resolver:
 * the modes, which paths to a validator are trusted, and the Extended DNS Errors (RFC 8914) a
 * validator attaches. apexalias never checks a signature itself (see docs/dnssec.md). Pure.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { DecodedMessage } from './query.ts';

/** `resolver.dnssec`: ignore DNSSEC, record the validation state, or require a validated chain. */
export const DNSSEC_MODES = ['off', 'prefer', 'require'] as const;
export type DnssecMode = (typeof DNSSEC_MODES)[number];

/** The EDNS0 option code of an Extended DNS Error (RFC 8914 section 2). */
export const EDE_OPTION = 15;

/**
 * The Extended DNS Error codes that mean "DNSSEC validation failed" (RFC 8914 section 4.2-4.13;
 * 3, 4 and 13 onwards are about stale answers, blocking, networks and policy).
 */
const DNSSEC_FAILURE_CODES = new Set([1, 2, 5, 6, 7, 8, 9, 10, 11, 12]);

/** One Extended DNS Error from a reply's OPT record. */
export interface ExtendedDnsError {
  infoCode: number;
  /** The server's EXTRA-TEXT, reduced to printable ASCII and at most 200 characters. */
  text: string;
}

/** RFC 8914 section 5 names, for messages. */
const EDE_NAMES: Readonly<Record<number, string>> = {
  0: 'Other Error',
  1: 'Unsupported DNSKEY Algorithm',
  2: 'Unsupported DS Digest Type',
  3: 'Stale Answer',
  4: 'Forged Answer',
  5: 'DNSSEC Indeterminate',
  6: 'DNSSEC Bogus',
  7: 'Signature Expired',
  8: 'Signature Not Yet Valid',
  9: 'DNSKEY Missing',
  10: 'RRSIGs Missing',
  11: 'No Zone Key Bit Set',
  12: 'NSEC Missing',
  13: 'Cached Error',
  14: 'Not Ready',
  15: 'Blocked',
  16: 'Censored',
  17: 'Filtered',
  18: 'Prohibited',
  19: 'Stale NXDOMAIN Answer',
  20: 'Not Authoritative',
  21: 'Not Supported',
  22: 'No Reachable Authority',
  23: 'Network Error',
  24: 'Invalid Data',
};

const MAX_TEXT = 200;

/**
 * The Extended DNS Errors of a decoded reply, in the order sent. An option too short to hold
 * an INFO-CODE is ignored, as RFC 8914 section 2 allows.
 */
export function extendedErrors(packet: DecodedMessage): ExtendedDnsError[] {
  const errors: ExtendedDnsError[] = [];
  for (const rr of packet.additionals ?? []) {
    if (rr.type !== 'OPT') continue;
    // dns-packet's option types list only the codes it decodes; EDE arrives as code and data.
    for (const option of (rr.options ?? []) as Array<{ code: number; data?: Buffer }>) {
      const data = option.data;
      if (option.code !== EDE_OPTION || !data || data.length < 2) continue;
      const text = data
        .subarray(2)
        .toString('utf8')
        .replace(/[^\x20-\x7e]/g, '?')
        .slice(0, MAX_TEXT);
      errors.push({ infoCode: data.readUInt16BE(0), text });
    }
  }
  return errors;
}

/** True when one of the errors says that DNSSEC validation failed. */
export function isDnssecFailure(errors: readonly ExtendedDnsError[]): boolean {
  return errors.some((e) => DNSSEC_FAILURE_CODES.has(e.infoCode));
}

/** `EDE 9 (DNSKEY Missing): text`, for messages. */
export function describeExtendedError(e: ExtendedDnsError): string {
  const name = EDE_NAMES[e.infoCode] ?? 'unassigned';
  return `EDE ${e.infoCode} (${name})${e.text ? `: ${e.text}` : ''}`;
}

/**
 * Loopback is always trusted: the validator runs on the same host, and no network lies between.
 * `::ffff:127.0.0.0/104` is checked by the IPv4 rule (BlockList maps it).
 */
function loopback(): BlockList {
  const list = new BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addAddress('::1', 'ipv6');
  return list;
}

/**
 * The servers among `servers` whose path is not trusted to carry the AD bit: neither loopback
 * nor one of the `trusted` IP addresses. A host name is never trusted, since its address is
 * only known after an unvalidated lookup.
 */
export function untrustedValidators(
  servers: ReadonlyArray<{ host: string }>,
  trusted: readonly string[],
): string[] {
  const list = loopback();
  for (const t of trusted) {
    if (isIPv4(t)) list.addAddress(t, 'ipv4');
    else if (isIPv6(t)) list.addAddress(t, 'ipv6');
  }
  return servers
    .map((s) => s.host)
    .filter((host) => {
      if (isIPv4(host)) return !list.check(host, 'ipv4');
      // A link-local server keeps its zone index ("fe80::1%eth0"): the address is what counts.
      const address = host.split('%')[0]!;
      if (isIPv6(address)) return !list.check(address, 'ipv6');
      return true;
    });
}
