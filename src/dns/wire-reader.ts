import { DnsMalformedError } from './errors.ts';

/** Every DNS message starts with this fixed header (RFC 1035 4.1.1). */
export const HEADER_LENGTH = 12;

/** The fixed DNS header, flags already split out. */
export interface MessageHeader {
  id: number;
  flags: number;
  qr: boolean;
  opcode: number;
  tc: boolean;
  /** The 4-bit header RCODE only; extended RCODEs live in OPT or TSIG. */
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

/** A question (or, in UPDATE, zone) entry. `labels` are the raw octets, case kept. */
export interface QuestionEntry {
  labels: Buffer[];
  type: number;
  class: number;
}

/** The fixed part of a resource record and where its RDATA lies. */
export interface RecordEntry {
  labels: Buffer[];
  type: number;
  class: number;
  ttl: number;
  rdataOffset: number;
  rdlength: number;
  /** Offset of the first byte after this record. */
  next: number;
}

function malformed(what: string): DnsMalformedError {
  return new DnsMalformedError(`malformed DNS message: ${what}`);
}

function need(buf: Buffer, offset: number, length: number, what: string): void {
  if (offset + length > buf.length) throw malformed(`${what} runs past the end of the message`);
}

/** Parse the 12-byte header. @throws DnsMalformedError if the buffer is shorter. */
export function readHeader(buf: Buffer): MessageHeader {
  need(buf, 0, HEADER_LENGTH, 'header');
  const flags = buf.readUInt16BE(2);
  return {
    id: buf.readUInt16BE(0),
    flags,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    tc: (flags & 0x0200) !== 0,
    rcode: flags & 0xf,
    qdcount: buf.readUInt16BE(4),
    ancount: buf.readUInt16BE(6),
    nscount: buf.readUInt16BE(8),
    arcount: buf.readUInt16BE(10),
  };
}

/**
 * Read a possibly compressed name. Pointers must point strictly backwards from the label that
 * holds them, which rules out loops without counting hops.
 */
export function readName(buf: Buffer, offset: number): { labels: Buffer[]; next: number } {
  const labels: Buffer[] = [];
  let pos = offset;
  let next = -1;
  let wireLength = 1;
  for (;;) {
    need(buf, pos, 1, 'name');
    const len = buf[pos] as number;
    if ((len & 0xc0) === 0xc0) {
      need(buf, pos, 2, 'compression pointer');
      const target = buf.readUInt16BE(pos) & 0x3fff;
      if (target >= pos) throw malformed('compression pointer does not point backwards');
      if (next < 0) next = pos + 2;
      pos = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw malformed(`unsupported label type 0x${len.toString(16)}`);
    if (len === 0) {
      if (next < 0) next = pos + 1;
      return { labels, next };
    }
    need(buf, pos + 1, len, 'label');
    wireLength += len + 1;
    if (wireLength > 255) throw malformed('name longer than 255 octets');
    labels.push(buf.subarray(pos + 1, pos + 1 + len));
    pos += len + 1;
  }
}

/** Dotted text of wire labels, without the trailing dot ('' for the root). */
export function labelsToText(labels: Buffer[]): string {
  return labels.map((l) => l.toString('utf8')).join('.');
}

/** Compare two wire names octet by octet, folding ASCII case only (RFC 4343). */
export function sameLabels(a: Buffer[], b: Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Buffer;
    const y = b[i] as Buffer;
    if (x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) {
      if (foldAscii(x[j] as number) !== foldAscii(y[j] as number)) return false;
    }
  }
  return true;
}

function foldAscii(octet: number): number {
  return octet >= 0x41 && octet <= 0x5a ? octet | 0x20 : octet;
}

/** Read `count` question entries starting at `offset`. */
export function readQuestions(
  buf: Buffer,
  offset: number,
  count: number,
): { questions: QuestionEntry[]; next: number } {
  const questions: QuestionEntry[] = [];
  let pos = offset;
  for (let i = 0; i < count; i++) {
    const { labels, next } = readName(buf, pos);
    need(buf, next, 4, 'question');
    questions.push({ labels, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) });
    pos = next + 4;
  }
  return { questions, next: pos };
}

/** Read one resource record's fixed fields and locate its RDATA. */
export function readRecord(buf: Buffer, offset: number): RecordEntry {
  const { labels, next } = readName(buf, offset);
  need(buf, next, 10, 'resource record');
  const rdlength = buf.readUInt16BE(next + 8);
  const rdataOffset = next + 10;
  need(buf, rdataOffset, rdlength, 'RDATA');
  return {
    labels,
    type: buf.readUInt16BE(next),
    class: buf.readUInt16BE(next + 2),
    ttl: buf.readUInt32BE(next + 4),
    rdataOffset,
    rdlength,
    next: rdataOffset + rdlength,
  };
}
