import { isUtf8 } from 'node:buffer';
import { DnsMalformedError } from './errors.ts';
import { HEADER_LENGTH, readHeader, readName, readQuestions, readRecord } from './wire-reader.ts';
import type { RecordEntry } from './wire-reader.ts';

/** RDATA of a fixed size. */
const FIXED_LENGTH: Readonly<Record<number, number>> = { 1: 4, 28: 16 }; // A, AAAA

/** Types whose RDATA is exactly one (possibly compressed) name: CNAME, NS, PTR, DNAME. */
const NAME_TYPES = new Set([5, 2, 12, 39]);
const TYPE_SOA = 6;
const TYPE_MX = 15;

function rdataMismatch(rr: RecordEntry, why: string): DnsMalformedError {
  return new DnsMalformedError(
    `malformed DNS message: type ${rr.type} record has RDLENGTH ${rr.rdlength}, but ${why}`,
  );
}

/**
 * dns-packet gives names as dotted text, and the walk of a CNAME chain compares that text. A
 * label that holds a dot ("demo.test" as one label) or bytes that are not UTF-8 (decoded to
 * U+FFFD) would read the same as another name on the wire, and let a record of a name outside
 * the chain pass for one inside it. No hostname has such labels: refuse the message.
 */
function checkLabels(labels: readonly Buffer[]): void {
  for (const label of labels) {
    if (label.includes(0x2e)) throw malformedName(label, 'holds a dot');
    if (!isUtf8(label)) throw malformedName(label, 'is not UTF-8');
  }
}

function malformedName(label: Buffer, why: string): DnsMalformedError {
  return new DnsMalformedError(
    `malformed DNS message: the label 0x${label.toString('hex')} ${why}, so its name cannot be told from another`,
  );
}

/** Offset just after the name at `offset`, which must lie inside the RDATA. */
function nameEnd(buf: Buffer, rr: RecordEntry, offset: number): number {
  const { labels, next: end } = readName(buf, offset);
  checkLabels(labels);
  if (end > rr.next) throw rdataMismatch(rr, 'a name in it runs past the RDATA');
  return end;
}

function checkRdata(buf: Buffer, rr: RecordEntry): void {
  const fixed = FIXED_LENGTH[rr.type];
  if (fixed !== undefined) {
    if (rr.rdlength !== fixed) throw rdataMismatch(rr, `the type needs ${fixed} octets`);
    return;
  }
  let used: number;
  if (NAME_TYPES.has(rr.type)) used = nameEnd(buf, rr, rr.rdataOffset);
  else if (rr.type === TYPE_MX) used = nameEnd(buf, rr, rr.rdataOffset + 2);
  else if (rr.type === TYPE_SOA) used = nameEnd(buf, rr, nameEnd(buf, rr, rr.rdataOffset)) + 20;
  else return;
  if (used !== rr.next) throw rdataMismatch(rr, 'its fields do not fill it exactly');
}

/**
 * Walk every section and check that each record's RDATA fits its RDLENGTH. dns-packet's decoders
 * for A, AAAA, CNAME, NS, PTR, MX and SOA read their fields and ignore RDLENGTH, so a hostile or
 * empty RDATA would be misread silently and shift every later record.
 * @returns the offset just after the last record.
 * @throws DnsMalformedError on the first record that does not fit.
 */
export function checkMessageStructure(buf: Buffer): number {
  const header = readHeader(buf);
  const { questions, next } = readQuestions(buf, HEADER_LENGTH, header.qdcount);
  for (const q of questions) checkLabels(q.labels);
  let pos = next;
  const records = header.ancount + header.nscount + header.arcount;
  for (let i = 0; i < records; i++) {
    const rr = readRecord(buf, pos);
    checkLabels(rr.labels);
    checkRdata(buf, rr);
    pos = rr.next;
  }
  return pos;
}
