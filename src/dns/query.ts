import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer } from 'dns-packet';
import { DnsError, DnsMalformedError, rcodeName } from './errors.ts';
import { checkMessageStructure } from './message-check.ts';
import { normalizeName } from './names.ts';
import { HEADER_LENGTH } from './wire-reader.ts';

/** A resource record of an answer or authority section (the EDNS OPT pseudo-record excluded). */
export type RecordAnswer = Exclude<Answer, OptAnswer>;

/** The real resource records of a section, without the OPT pseudo-record. */
export function recordsOf(section: Answer[] | undefined): RecordAnswer[] {
  return (section ?? []).filter((a): a is RecordAnswer => a.type !== 'OPT');
}

/** The types the resolver asks for. */
export type QueryType = 'A' | 'AAAA' | 'TXT' | 'CNAME' | 'SOA' | 'NS' | 'MX' | 'AXFR';

/**
 * A message as dns-packet decodes it. dns-packet sets `opcode` and `rcode` (mnemonics) at run
 * time without declaring them; `rcode` is the 4-bit header RCODE named by our `rcodeName`.
 */
export type DecodedMessage = DecodedPacket & { opcode: string; rcode: string };

/** The UDP payload size advertised with EDNS0: the DNS Flag Day 2020 value, no fragmentation. */
export const EDNS_UDP_PAYLOAD = 1232;

/** Options of {@link encodeQuery}. */
export interface QueryOptions {
  /** RD, default true; authoritative queries clear it. */
  recursionDesired?: boolean;
  /** Add an EDNS0 OPT record with the DO bit (RFC 3225), so a validator reports AD and EDE. */
  dnssecOk?: boolean;
  /** Set CD (RFC 4035 section 3.2.2): the validator answers without validating. */
  checkingDisabled?: boolean;
}

/**
 * Encode an ordinary query (opcode QUERY, one question, class IN) with dns-packet.
 * @throws DnsError `ERR_DNS_NAME` for an invalid name, `ERR_DNS_QUERY` for an ID outside 16 bits.
 */
export function encodeQuery(id: number, name: string, type: QueryType, opts: QueryOptions = {}): Buffer {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff) {
    throw new DnsError('ERR_DNS_QUERY', `query ID ${id} is not a 16-bit unsigned integer`);
  }
  let flags = (opts.recursionDesired ?? true) ? dnsPacket.RECURSION_DESIRED : 0;
  if (opts.checkingDisabled) flags |= dnsPacket.CHECKING_DISABLED;
  return dnsPacket.encode({
    type: 'query',
    id,
    flags,
    questions: [{ type, class: 'IN', name: normalizeName(name) }],
    additionals: opts.dnssecOk
      ? [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: EDNS_UDP_PAYLOAD,
            extendedRcode: 0,
            ednsVersion: 0,
            flags: dnsPacket.DNSSEC_OK,
            flag_do: true,
            options: [],
          },
        ]
      : [],
  });
}

/**
 * Decode any DNS message with dns-packet. Hostile input must not escape as a RangeError or a
 * TypeError from deep inside the library, nor be misread where dns-packet ignores RDLENGTH, so
 * the structure is checked first and every failure becomes a DnsMalformedError. Trailing octets
 * after the last record are ignored. A record whose RDATA does not fit its type is rejected, and
 * that includes the empty RDATA of RFC 2136 prerequisites and deletions: dns-packet cannot read
 * UPDATE messages.
 * @throws DnsMalformedError when the buffer is not a well-formed DNS message.
 */
export function decodeMessage(buf: Buffer): DecodedMessage {
  if (buf.length < HEADER_LENGTH) {
    throw new DnsMalformedError(`malformed DNS message: ${buf.length} octets, shorter than a header`);
  }
  const end = checkMessageStructure(buf);
  let packet: DecodedPacket;
  try {
    packet = dnsPacket.decode(buf);
  } catch (cause) {
    throw new DnsMalformedError(`malformed DNS message: ${(cause as Error).message}`, { cause });
  }
  // Any type whose decoder ignores RDLENGTH and that the walk above does not know shows up here.
  if (dnsPacket.decode.bytes !== end) {
    throw new DnsMalformedError(`malformed DNS message: records do not end where their lengths say`);
  }
  // One naming for RCODEs across the project (dns-packet says RCODE_11 where IANA says DSOTYPENI).
  return Object.assign(packet, {
    rcode: rcodeName(buf.readUInt16BE(2) & 0xf),
    opcode: String((packet as { opcode?: unknown }).opcode),
  });
}
