import { isIPv4, isIPv6 } from 'node:net';
import { ApexAliasError } from '../../errors.ts';

/**
 * One resource record of an RFC 1035 master file, with every piece of file context resolved:
 * the owner is absolute, the TTL and class are explicit, and domain names inside the RDATA of
 * the well-known types are absolute, so the record means the same wherever it is written.
 */
export interface ZoneRecord {
  /** Absolute owner name, ASCII lower-case, without the trailing dot; master-file escapes kept. */
  name: string;
  ttl: number;
  class: 'IN';
  /** Type mnemonic in upper case ("A", "TXT", "TYPE65534"). */
  type: string;
  /**
   * Presentation text of the RDATA: the tokens as written (quotes and `\DDD` escapes kept),
   * parentheses and comments removed, separated by single spaces. Domain-name fields of the
   * types in `NAME_FIELDS` are made absolute (trailing dot), because `$ORIGIN` is not kept.
   */
  rdata: string;
}

/** The records of a master file plus the first `$TTL` it declared (kept when it is rewritten). */
export interface ParsedZone {
  records: ZoneRecord[];
  defaultTtl?: number;
}

/**
 * A master file that cannot be read, or records that cannot be written as one. `line` is 1-based
 * and points at the offending entry; it is 0 when no line applies (writing).
 */
export class ZoneFileError extends ApexAliasError {
  readonly line: number;
  readonly file: string | undefined;
  constructor(message: string, line: number, file?: string) {
    super('ERR_ZONEFILE_PARSE', `${file ?? 'zone file'}${line > 0 ? `:${line}` : ''}: ${message}`);
    this.line = line;
    this.file = file;
  }
}

export interface ParseOptions {
  /** The file name used in error messages. */
  file?: string;
}

/** RFC 2181 section 8: a TTL is an unsigned 31-bit value. */
export const MAX_TTL = 2 ** 31 - 1;

/**
 * Which RDATA fields (0-based) hold a domain name that may be written relative to `$ORIGIN`.
 * Types not listed here keep their RDATA exactly as written.
 */
const NAME_FIELDS: Readonly<Record<string, readonly number[]>> = {
  NS: [0],
  MD: [0],
  MF: [0],
  CNAME: [0],
  MB: [0],
  MG: [0],
  MR: [0],
  PTR: [0],
  DNAME: [0],
  NSEC: [0],
  SOA: [0, 1],
  MINFO: [0, 1],
  RP: [0, 1],
  TALINK: [0, 1],
  MX: [1],
  AFSDB: [1],
  RT: [1],
  KX: [1],
  LP: [1],
  SVCB: [1],
  HTTPS: [1],
  PX: [1, 2],
  SRV: [3],
  NAPTR: [5],
  RRSIG: [7],
};

/** The exact number of RDATA fields, where it is fixed. */
const EXACT_FIELDS: Readonly<Record<string, number>> = {
  A: 1,
  AAAA: 1,
  NS: 1,
  CNAME: 1,
  DNAME: 1,
  PTR: 1,
  MX: 2,
  SRV: 4,
  SOA: 7,
};

/** The least number of RDATA fields of the types this project reads or checks. */
const MIN_FIELDS: Readonly<Record<string, number>> = { ...EXACT_FIELDS, TXT: 1 };

interface Token {
  text: string;
  quoted: boolean;
  line: number;
}

/** One logical entry: a physical line, or several joined by parentheses. */
interface Entry {
  line: number;
  /** The line began with white space, so the owner of the previous entry applies. */
  ownerOmitted: boolean;
  tokens: Token[];
}

const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r';

/**
 * Splits master-file text into entries (RFC 1035 section 5.1): `;` comments outside quotes,
 * parentheses joining lines, quoted strings with backslash escapes, and backslash escapes in
 * unquoted tokens. Tokens keep their text exactly as written, quotes included.
 */
function tokenize(text: string, file: string | undefined): Entry[] {
  const entries: Entry[] = [];
  let line = 1;
  let depth = 0;
  let openedAt = 0;
  let entry: Entry | undefined;
  let atLineStart = true;
  let i = 0;

  const finish = (): void => {
    if (entry && entry.tokens.length > 0) entries.push(entry);
    entry = undefined;
  };

  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\n') {
      line++;
      i++;
      atLineStart = true;
      if (depth === 0) finish();
      continue;
    }
    if (atLineStart) {
      atLineStart = false;
      if (depth === 0) entry = { line, ownerOmitted: isBlank(c), tokens: [] };
    }
    // `entry` is always set here: it is created at the start of every line outside parentheses.
    const current = entry as Entry;
    if (isBlank(c)) {
      i++;
    } else if (c === ';') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '(') {
      if (depth > 0) throw new ZoneFileError('nested "(" is not allowed', line, file);
      depth = 1;
      openedAt = line;
      i++;
    } else if (c === ')') {
      if (depth === 0) throw new ZoneFileError('")" without a matching "("', line, file);
      depth = 0;
      i++;
    } else if (c === '"') {
      let j = i + 1;
      for (;;) {
        const d = text[j];
        if (d === undefined || d === '\n') {
          throw new ZoneFileError('quoted string is not closed on the line where it starts', line, file);
        }
        if (d === '"') break;
        j += d === '\\' && text[j + 1] !== undefined && text[j + 1] !== '\n' ? 2 : 1;
      }
      current.tokens.push({ text: text.slice(i, j + 1), quoted: true, line });
      i = j + 1;
    } else {
      let j = i;
      for (;;) {
        const d = text[j];
        if (d === undefined || d === '\n' || isBlank(d) || d === ';' || d === '(' || d === ')' || d === '"') {
          break;
        }
        if (d === '\\') {
          const next = text[j + 1];
          if (next === undefined || next === '\n') {
            throw new ZoneFileError('a backslash must escape a character on the same line', line, file);
          }
          j += 2;
        } else {
          j++;
        }
      }
      current.tokens.push({ text: text.slice(i, j), quoted: false, line });
      i = j;
    }
  }
  if (depth > 0) throw new ZoneFileError('"(" is never closed', openedAt, file);
  finish();
  return entries;
}

const asciiLower = (s: string): string => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());

/** True when `name` ends in a dot that is not escaped by a backslash. */
function endsWithDot(name: string): boolean {
  if (!name.endsWith('.')) return false;
  let slashes = 0;
  for (let k = name.length - 2; k >= 0 && name[k] === '\\'; k--) slashes++;
  return slashes % 2 === 0;
}

/** The labels of a dotted name, splitting only on dots that are not escaped. */
export function splitLabels(name: string): string[] {
  if (name === '') return [];
  const labels: string[] = [];
  let label = '';
  for (let k = 0; k < name.length; k++) {
    const c = name[k] as string;
    if (c === '\\') {
      label += c + (name[k + 1] ?? '');
      k++;
    } else if (c === '.') {
      labels.push(label);
      label = '';
    } else {
      label += c;
    }
  }
  labels.push(label);
  return labels;
}

/** Octets of one label, counting `\X` and `\DDD` as one. */
function labelOctets(label: string): number {
  let n = 0;
  for (let k = 0; k < label.length; k++) {
    if (label[k] === '\\') k += /^\d{3}/.test(label.slice(k + 1, k + 4)) ? 3 : 1;
    n += label.charCodeAt(k) > 0x7f ? Buffer.byteLength(label[k] as string) : 1;
  }
  return n;
}

/** Checks label and name lengths (RFC 1035 section 2.3.4); returns why it is invalid, if it is. */
function nameProblem(absolute: string): string | undefined {
  if (absolute === '') return undefined;
  let total = 1;
  for (const label of splitLabels(absolute)) {
    if (label === '') return 'it has an empty label';
    const n = labelOctets(label);
    if (n > 63) return `the label "${label}" is longer than 63 octets`;
    total += n + 1;
  }
  return total > 255 ? 'it is longer than 255 octets' : undefined;
}

/** `origin` in canonical form: lower-case, without the trailing dot, `''` for the root. */
function normaliseOrigin(origin: string): string {
  const o = origin.trim();
  return asciiLower(o === '.' ? '' : endsWithDot(o) ? o.slice(0, -1) : o);
}

/**
 * Resolves an owner name or `$ORIGIN` argument against the current origin. The result is
 * absolute, lower-case and has no trailing dot.
 */
function absoluteName(text: string, origin: string, line: number, file: string | undefined): string {
  let name: string;
  if (text === '@') name = origin;
  else if (text === '.') name = '';
  else if (endsWithDot(text)) name = text.slice(0, -1);
  else name = origin === '' ? text : `${text}.${origin}`;
  name = asciiLower(name);
  const problem = nameProblem(name);
  if (problem) throw new ZoneFileError(`invalid name "${text}": ${problem}`, line, file);
  return name;
}

/** A domain name inside RDATA, made absolute (with its trailing dot) without changing case. */
function absoluteRdataName(text: string, origin: string): string {
  if (text === '@') return `${origin}.`;
  if (endsWithDot(text)) return text;
  return origin === '' ? `${text}.` : `${text}.${origin}.`;
}

const TTL_UNITS: Readonly<Record<string, number>> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };

/**
 * A TTL in seconds from `3600` or BIND's unit form (`1h30m`, `2d`, `1W`).
 * @returns undefined when the text is not a TTL.
 */
export function parseTtl(text: string): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n <= MAX_TTL ? n : undefined;
  }
  if (!/^(\d+[wdhms])+\d*$/i.test(text)) return undefined;
  let total = 0;
  for (const [, digits, unit] of text.matchAll(/(\d+)([wdhms]?)/gi)) {
    total += Number(digits) * (unit ? (TTL_UNITS[unit.toLowerCase()] as number) : 1);
  }
  return total <= MAX_TTL ? total : undefined;
}

const CLASS_RE = /^(IN|CH|CS|HS|NONE|ANY|CLASS\d+)$/i;
const TYPE_RE = /^(TYPE\d+|[A-Z][A-Z0-9-]*)$/i;

/**
 * Parses an RFC 1035 master file into records. `origin` is the zone (with or without its
 * trailing dot); it is the initial `$ORIGIN`.
 *
 * Supported: `$ORIGIN`, `$TTL`, comments, parentheses across lines, quoted strings, `@`,
 * relative and absolute names, an omitted owner (the previous one applies), an omitted TTL
 * and class in either order, TTL units, `\DDD` escapes (kept as written). Refused with a
 * `ZoneFileError`: `$INCLUDE` and `$GENERATE` (the file must be self-contained), classes other
 * than IN, and malformed entries.
 *
 * A record without a TTL takes `$TTL`; without `$TTL`, the last TTL written out in the file
 * (RFC 1035), and for a leading SOA its MINIMUM field, as BIND and Knot do.
 * @throws ZoneFileError with the 1-based line number of the offending entry.
 */
export function parseZone(text: string, origin: string, options: ParseOptions = {}): ParsedZone {
  const file = options.file;
  const zone = normaliseOrigin(origin);
  let currentOrigin = zone;
  let defaultTtl: number | undefined;
  let firstDefaultTtl: number | undefined;
  let lastTtl: number | undefined;
  let previousOwner: string | undefined;
  const records: ZoneRecord[] = [];

  for (const entry of tokenize(text, file)) {
    const fail = (message: string): never => {
      throw new ZoneFileError(message, entry.line, file);
    };
    const tokens = entry.tokens;
    const first = tokens[0] as Token;

    if (!entry.ownerOmitted && !first.quoted && first.text.startsWith('$')) {
      const directive = first.text.toUpperCase();
      const args = tokens.slice(1);
      if (directive === '$INCLUDE') {
        fail('$INCLUDE is not supported: apexalias rewrites this file and keeps every record in it');
      } else if (directive === '$GENERATE') {
        fail('$GENERATE is not supported: write the generated records out in the file');
      } else if (directive === '$ORIGIN') {
        if (args.length !== 1 || (args[0] as Token).quoted) fail('$ORIGIN takes exactly one domain name');
        currentOrigin = absoluteName((args[0] as Token).text, currentOrigin, entry.line, file);
      } else if (directive === '$TTL') {
        if (args.length !== 1) fail('$TTL takes exactly one TTL');
        const ttl = parseTtl((args[0] as Token).text);
        if (ttl === undefined) fail(`invalid $TTL "${(args[0] as Token).text}"`);
        defaultTtl = ttl;
        firstDefaultTtl ??= ttl;
      } else {
        fail(`unknown directive ${first.text}`);
      }
      continue;
    }

    let k = 0;
    let owner: string;
    if (entry.ownerOmitted) {
      if (previousOwner === undefined)
        fail('the first record must name its owner (the line starts with a blank)');
      owner = previousOwner as string;
    } else {
      if (first.quoted) fail(`an owner name cannot be quoted: ${first.text}`);
      owner = absoluteName(first.text, currentOrigin, entry.line, file);
      k = 1;
    }
    previousOwner = owner;

    let ttl: number | undefined;
    let sawClass = false;
    for (let round = 0; round < 2; round++) {
      const t = tokens[k];
      if (t === undefined || t.quoted) break;
      if (CLASS_RE.test(t.text)) {
        if (sawClass) fail(`the class is given twice: ${t.text}`);
        const cls = t.text.toUpperCase();
        if (cls !== 'IN' && cls !== 'CLASS1') fail(`class ${cls} is not supported; only IN`);
        sawClass = true;
        k++;
      } else if (/^\d/.test(t.text)) {
        if (ttl !== undefined) fail(`the TTL is given twice: ${t.text}`);
        ttl = parseTtl(t.text);
        if (ttl === undefined) fail(`invalid TTL "${t.text}" (at most ${MAX_TTL} seconds)`);
        k++;
      } else {
        break;
      }
    }

    const typeToken = tokens[k];
    if (typeToken === undefined) fail(`the record for ${owner || '.'} has no type`);
    const typeText = (typeToken as Token).text;
    if ((typeToken as Token).quoted || !TYPE_RE.test(typeText)) fail(`invalid record type "${typeText}"`);
    const type = typeText.toUpperCase();
    if (CLASS_RE.test(type)) fail(`the class is given twice: ${typeText}`);

    const fields = tokens.slice(k + 1).map((t) => t.text);
    if (fields.length === 0) fail(`the ${type} record for ${owner || '.'} has no RDATA`);
    const generic = fields[0] === '\\#';
    if (!generic) {
      const exact = EXACT_FIELDS[type];
      const least = MIN_FIELDS[type] ?? 1;
      if (exact !== undefined ? fields.length !== exact : fields.length < least) {
        fail(
          `the ${type} record for ${owner || '.'} needs ${exact ?? `at least ${least}`} RDATA field(s), ` +
            `found ${fields.length}: ${fields.join(' ')}`,
        );
      }
      if (type === 'A' && !isIPv4(fields[0] as string)) fail(`invalid IPv4 address "${fields[0]}"`);
      if (type === 'AAAA' && !isIPv6(fields[0] as string)) fail(`invalid IPv6 address "${fields[0]}"`);
      for (const index of NAME_FIELDS[type] ?? []) {
        const field = fields[index];
        if (field !== undefined) fields[index] = absoluteRdataName(field, currentOrigin);
      }
    }

    if (ttl !== undefined) {
      lastTtl = ttl;
    } else if (defaultTtl !== undefined) {
      ttl = defaultTtl;
    } else if (lastTtl !== undefined) {
      ttl = lastTtl;
    } else if (type === 'SOA' && !generic) {
      ttl = parseTtl(fields[6] as string);
      if (ttl === undefined) fail(`invalid SOA MINIMUM "${fields[6]}"`);
      lastTtl = ttl;
    } else {
      fail(`the record for ${owner || '.'} has no TTL and no $TTL precedes it`);
    }

    records.push({ name: owner, ttl: ttl as number, class: 'IN', type, rdata: fields.join(' ') });
  }
  return firstDefaultTtl === undefined ? { records } : { records, defaultTtl: firstDefaultTtl };
}

/**
 * Parses an RFC 1035 master file into records; see `parseZone`.
 * @throws ZoneFileError with the 1-based line number of the offending entry.
 */
export function parseZoneFile(text: string, origin: string, options: ParseOptions = {}): ZoneRecord[] {
  return parseZone(text, origin, options).records;
}

/**
 * Decodes the character-strings of TXT-like RDATA (`"a b" c "\"q\"" \065`) into their octets,
 * one Buffer per string.
 * @throws ZoneFileError (line 1) when the RDATA is not a list of character-strings.
 */
export function parseCharacterStringBytes(rdata: string): Buffer[] {
  const entries = tokenize(rdata, 'RDATA');
  const tokens = entries.flatMap((e) => e.tokens);
  return tokens.map((token) => {
    const raw = token.quoted ? token.text.slice(1, -1) : token.text;
    const bytes: number[] = [];
    for (let k = 0; k < raw.length; k++) {
      const c = raw[k] as string;
      if (c === '\\') {
        const digits = raw.slice(k + 1, k + 4);
        if (/^\d{3}$/.test(digits)) {
          const value = Number(digits);
          if (value > 255) throw new ZoneFileError(`escape \\${digits} is larger than 255`, 1, 'RDATA');
          bytes.push(value);
          k += 3;
        } else {
          bytes.push(...Buffer.from(raw[k + 1] ?? '', 'utf8'));
          k += 1;
        }
      } else {
        bytes.push(...Buffer.from(c, 'utf8'));
      }
    }
    return Buffer.from(bytes);
  });
}

/** The character-strings of TXT-like RDATA, each decoded as UTF-8. */
export function parseCharacterStrings(rdata: string): string[] {
  return parseCharacterStringBytes(rdata).map((b) => b.toString('utf8'));
}

/**
 * The text of one TXT record: its character-strings joined. The octets are joined before
 * decoding, so a UTF-8 sequence split across two strings still reads back whole.
 */
export function txtValue(rdata: string): string {
  return Buffer.concat(parseCharacterStringBytes(rdata)).toString('utf8');
}
