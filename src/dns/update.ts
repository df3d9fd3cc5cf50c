import { DnsError, DnsMalformedError } from './errors.ts';
import { NameCompressor, isSubdomain } from './names.ts';
import { encodeRdata } from './rdata.ts';
import type { UpdateRRType } from './rdata.ts';
import { HEADER_LENGTH, readHeader } from './wire-reader.ts';

/**
 * The classes RFC 2136 gives meaning to: IN adds an RR or asserts a value-dependent
 * prerequisite, ANY deletes an RRset or asserts one exists, NONE deletes one RR or asserts that
 * an RRset does not exist.
 */
export type RRClass = 'IN' | 'NONE' | 'ANY';

/**
 * One record of the prerequisite or update section. `rdata` is the address text for A/AAAA,
 * a list of strings for TXT (each split into ≤255-octet character-strings), the target name for
 * CNAME, and `undefined` for RDLENGTH 0.
 */
export interface UpdateRR {
  name: string;
  type: UpdateRRType;
  class: RRClass;
  ttl: number;
  rdata?: string | string[];
}

/** An RFC 2136 UPDATE request for one zone. */
export interface UpdateMessage {
  id: number;
  zone: string;
  prerequisites: UpdateRR[];
  updates: UpdateRR[];
}

/** RFC 2136 2.2: the UPDATE opcode. */
export const OPCODE_UPDATE = 5;

const TYPE_CODES: Readonly<Record<UpdateRRType | 'SOA', number>> = {
  A: 1,
  CNAME: 5,
  SOA: 6,
  TXT: 16,
  AAAA: 28,
  ANY: 255,
};

const CLASS_CODES: Readonly<Record<RRClass, number>> = { IN: 1, NONE: 254, ANY: 255 };

function updateError(why: string): DnsError {
  return new DnsError('ERR_DNS_UPDATE', `cannot encode DNS UPDATE: ${why}`);
}

function encodeRR(rr: UpdateRR, zone: string, names: NameCompressor, at: number): Buffer {
  // A name outside the zone earns a NOTZONE from the server; refusing it here names the bug.
  if (!isSubdomain(rr.name, zone)) {
    throw new DnsError('ERR_DNS_NAME', `record name "${rr.name}" is not in zone "${zone}"`);
  }
  if (!Number.isInteger(rr.ttl) || rr.ttl < 0 || rr.ttl > 0xffffffff) {
    throw updateError(`TTL ${rr.ttl} of "${rr.name}" is not a 32-bit unsigned integer`);
  }
  const name = names.encode(rr.name, at);
  const rdata = encodeRdata(rr.type, rr.rdata);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(TYPE_CODES[rr.type], 0);
  fixed.writeUInt16BE(CLASS_CODES[rr.class], 2);
  fixed.writeUInt32BE(rr.ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([name, fixed, rdata]);
}

function checkCount(count: number, what: string): void {
  if (count > 0xffff) throw updateError(`${count} ${what} do not fit a 16-bit count`);
}

/**
 * Encode an UPDATE request: opcode 5, one zone entry (zone, SOA, IN), the prerequisites, the
 * updates and no additional records. Owner names are compressed (RFC 1035 4.1.4), so that about
 * 500 names fit in one 64 KiB message; RDATA names are not.
 * @throws DnsError `ERR_DNS_NAME`, `ERR_DNS_RDATA` or `ERR_DNS_UPDATE` on input that cannot be
 *   encoded (invalid names, a name outside the zone, bad RDATA, bad TTL or ID, over 65535 octets).
 */
export function encodeUpdate(msg: UpdateMessage): Buffer {
  if (!Number.isInteger(msg.id) || msg.id < 0 || msg.id > 0xffff) {
    throw updateError(`message ID ${msg.id} is not a 16-bit unsigned integer`);
  }
  checkCount(msg.prerequisites.length, 'prerequisites');
  checkCount(msg.updates.length, 'updates');
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt16BE(msg.id, 0);
  header.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(msg.prerequisites.length, 6);
  header.writeUInt16BE(msg.updates.length, 8);
  header.writeUInt16BE(0, 10);
  const zoneEntry = Buffer.alloc(4);
  zoneEntry.writeUInt16BE(TYPE_CODES.SOA, 0);
  zoneEntry.writeUInt16BE(CLASS_CODES.IN, 2);
  const names = new NameCompressor();
  const parts = [header, names.encode(msg.zone, HEADER_LENGTH), zoneEntry];
  let at = parts.reduce((n, p) => n + p.length, 0);
  for (const rr of [...msg.prerequisites, ...msg.updates]) {
    const encoded = encodeRR(rr, msg.zone, names, at);
    parts.push(encoded);
    at += encoded.length;
  }
  const message = Buffer.concat(parts);
  // Even a TCP frame has only a 16-bit length.
  if (message.length > 0xffff) throw updateError(`message is ${message.length} octets, over 65535`);
  return message;
}

/**
 * The header fields needed to judge an UPDATE response. `rcode` is the 4-bit header RCODE; a
 * TSIG error (BADSIG, BADKEY, BADTIME) is read with `readTsig`/`verifyResponse`.
 * @throws DnsMalformedError when the buffer is shorter than a DNS header.
 */
export function decodeUpdateResponse(buf: Buffer): {
  id: number;
  rcode: number;
  opcode: number;
  qr: boolean;
} {
  if (buf.length < HEADER_LENGTH) {
    throw new DnsMalformedError(`malformed DNS response: ${buf.length} octets, shorter than a header`);
  }
  const { id, rcode, opcode, qr } = readHeader(buf);
  return { id, rcode, opcode, qr };
}
