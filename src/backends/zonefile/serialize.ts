import { compareAddresses } from '../../plan/addresses.ts';
import { MAX_TTL, splitLabels, ZoneFileError } from './parse.ts';
import type { ZoneRecord } from './parse.ts';

export interface SerializeOptions {
  /** The `$TTL` line. Every record carries its own TTL anyway; this is the file's default. */
  defaultTtl?: number;
}

/** The first line of every file apexalias writes, so that whoever edits it by hand knows. */
export const HEADER_COMMENT =
  'managed in part by apexalias: A/AAAA at names with an _apexalias marker are written by it';

const DEFAULT_TTL = 300;
const OWNER_COLUMN_MAX = 32;

const asciiLower = (s: string): string => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * RFC 4034 section 6.1 canonical order of absolute names (no trailing dot): labels compared
 * from the rightmost, a name sorting before every name below it.
 */
export function compareNames(a: string, b: string): number {
  return compareLabelLists(nameKey(a), nameKey(b));
}

/** The labels of a name from the rightmost, case folded: what canonical order compares. */
function nameKey(name: string): string[] {
  return splitLabels(name).reverse().map(asciiLower);
}

function compareLabelLists(la: readonly string[], lb: readonly string[]): number {
  for (let k = 0; k < Math.min(la.length, lb.length); k++) {
    const c = compareText(la[k] as string, lb[k] as string);
    if (c !== 0) return c;
  }
  return la.length - lb.length;
}

/** True when `name` is `zone` or lies below it; both absolute, lower-case, without the dot. */
export function inZone(name: string, zone: string): boolean {
  return zone === '' || name === zone || name.endsWith(`.${zone}`);
}

/** Where a type goes among the records of one owner: SOA, then NS, then by mnemonic. */
function typeRank(type: string): number {
  return type === 'SOA' ? 0 : type === 'NS' ? 1 : 2;
}

function compareRdata(type: string, a: string, b: string): number {
  if (type === 'A' || type === 'AAAA') {
    const c = compareAddresses(a, b);
    if (c !== 0) return c;
  }
  return compareText(a, b);
}

/**
 * The order in which records are written: the zone's apex first (SOA, NS, the rest), then every
 * other owner in canonical order, names outside the zone last. Within an owner, types by
 * mnemonic, then RDATA (addresses numerically), then TTL.
 */
export function compareRecords(zone: string, a: ZoneRecord, b: ZoneRecord): number {
  const origin = normaliseZone(zone);
  return (
    ownerGroup(a.name, origin) - ownerGroup(b.name, origin) ||
    compareNames(a.name, b.name) ||
    compareAtOwner(a, b)
  );
}

/** 0 for the apex, 1 for the names below it, 2 for names outside the zone. */
function ownerGroup(name: string, zone: string): number {
  return name === zone ? 0 : inZone(name, zone) ? 1 : 2;
}

function compareAtOwner(a: ZoneRecord, b: ZoneRecord): number {
  return (
    typeRank(a.type) - typeRank(b.type) ||
    compareText(a.type, b.type) ||
    compareRdata(a.type, a.rdata, b.rdata) ||
    a.ttl - b.ttl
  );
}

/** `records` in `compareRecords` order (a sorted copy). */
export function sortRecords(zone: string, records: readonly ZoneRecord[]): ZoneRecord[] {
  const origin = normaliseZone(zone);
  // Sort the owner names once, with their label lists computed once: zones hold 100,000s of records.
  const byName = new Map<string, { name: string; key: string[]; group: number; records: ZoneRecord[] }>();
  for (const r of records) {
    const entry = byName.get(r.name);
    if (entry) entry.records.push(r);
    else
      byName.set(r.name, {
        name: r.name,
        key: nameKey(r.name),
        group: ownerGroup(r.name, origin),
        records: [r],
      });
  }
  return [...byName.values()]
    .sort((a, b) => a.group - b.group || compareLabelLists(a.key, b.key) || compareText(a.name, b.name))
    .flatMap((entry) => entry.records.sort(compareAtOwner));
}

function normaliseZone(zone: string): string {
  const z = asciiLower(zone.trim());
  return z === '.' ? '' : z.endsWith('.') ? z.slice(0, -1) : z;
}

/** The owner as written under `$ORIGIN zone.`: `@`, a relative name, or an absolute one. */
function ownerText(name: string, zone: string): string {
  let text: string;
  if (name === zone) text = '@';
  else if (zone === '') text = name;
  else if (name.endsWith(`.${zone}`)) text = name.slice(0, -zone.length - 1);
  else text = name === '' ? '.' : `${name}.`;
  // A leading `$` would read back as a directive, and a lone `@` label as the origin.
  if (name !== zone && (text.startsWith('$') || text === '@')) text = `\\${text}`;
  return text;
}

/** The most frequent TTL, the smallest on a tie: a `$TTL` that fits the file. */
function usualTtl(records: readonly ZoneRecord[]): number {
  const counts = new Map<number, number>();
  for (const r of records) counts.set(r.ttl, (counts.get(r.ttl) ?? 0) + 1);
  let best = DEFAULT_TTL;
  let bestCount = 0;
  for (const [ttl, count] of counts) {
    if (count > bestCount || (count === bestCount && ttl < best)) {
      best = ttl;
      bestCount = count;
    }
  }
  return best;
}

function checkRecord(record: ZoneRecord): void {
  const where = `${record.name || '.'} ${record.type}`;
  if (!Number.isInteger(record.ttl) || record.ttl < 0 || record.ttl > MAX_TTL) {
    throw new ZoneFileError(`cannot write ${where}: TTL ${record.ttl} is out of range`, 0);
  }
  if (/[\r\n]/.test(record.rdata) || record.rdata.trim() === '') {
    throw new ZoneFileError(`cannot write ${where}: RDATA must be one non-empty line`, 0);
  }
  if (/[\s;()"]/.test(record.name) || !/^(TYPE\d+|[A-Z][A-Z0-9-]*)$/.test(record.type)) {
    throw new ZoneFileError(`cannot write ${where}: invalid owner name or type`, 0);
  }
}

/**
 * Writes `records` as an RFC 1035 master file for `zone` that BIND, Knot and NSD load:
 * a header comment, `$ORIGIN zone.`, `$TTL`, then the records in `compareRecords` order, one
 * per line, each with its owner (relative where possible), TTL and class. The output depends
 * only on the set of records, never on their order. RDATA is written as given: build TXT RDATA
 * with `quoteTxt`.
 * @throws ZoneFileError (line 0) when a record cannot be written safely.
 */
export function serializeZone(
  zone: string,
  records: readonly ZoneRecord[],
  options: SerializeOptions = {},
): string {
  const origin = normaliseZone(zone);
  records.forEach(checkRecord);
  const sorted = sortRecords(origin, records);
  const defaultTtl = options.defaultTtl ?? usualTtl(records);

  const owners = sorted.map((r) => ownerText(r.name, origin));
  // Loops, not Math.max(...list): a zone can hold more records than fit on the call stack.
  let ownerWidth = 1;
  let ttlWidth = 1;
  let typeWidth = 1;
  sorted.forEach((r, k) => {
    ownerWidth = Math.max(ownerWidth, Math.min(OWNER_COLUMN_MAX, (owners[k] as string).length));
    ttlWidth = Math.max(ttlWidth, String(r.ttl).length);
    if (r.type.length <= 6) typeWidth = Math.max(typeWidth, r.type.length);
  });

  const lines = [
    `; ${origin || '.'}: ${HEADER_COMMENT}.`,
    '; Other records are kept, but comments and layout are not when apexalias rewrites this file.',
    `$ORIGIN ${origin === '' ? '.' : `${origin}.`}`,
    `$TTL ${defaultTtl}`,
  ];
  let previous: string | undefined;
  sorted.forEach((r, k) => {
    if (r.name !== previous) lines.push('');
    previous = r.name;
    const owner = (owners[k] as string).padEnd(ownerWidth);
    lines.push(`${owner} ${String(r.ttl).padStart(ttlWidth)} IN ${r.type.padEnd(typeWidth)} ${r.rdata}`);
  });
  return `${lines.join('\n')}\n`;
}

/**
 * TXT RDATA for one value: quoted, `"` and `\` escaped, octets outside printable ASCII as
 * `\DDD`, split into character-strings of at most 255 octets (RFC 1035 section 3.3.14).
 */
export function quoteTxt(value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  const strings: string[] = [];
  for (let start = 0; start < bytes.length || strings.length === 0; start += 255) {
    let text = '';
    for (const b of bytes.subarray(start, start + 255)) {
      if (b === 0x22 || b === 0x5c) text += `\\${String.fromCharCode(b)}`;
      else if (b < 0x20 || b > 0x7e) text += `\\${String(b).padStart(3, '0')}`;
      else text += String.fromCharCode(b);
    }
    strings.push(`"${text}"`);
  }
  return strings.join(' ');
}
