/**
 * The zone-file ("presentation") text of RDATA, RFC 1035 section 5.1: fields, character-strings
 * with their `\X` and `\DDD` escapes, and domain names with escaped labels. Pure. Used where a
 * record type has no dns-packet codec (SVCB/HTTPS) and its text must survive a round trip
 * through BIND, Knot and a zone file.
 */
import { DnsError } from './errors.ts';

/** RFC 1035 2.3.4. */
const MAX_LABEL = 63;
const MAX_NAME_WIRE = 255;

function presentationError(why: string): DnsError {
  return new DnsError('ERR_DNS_PRESENTATION', why);
}

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/**
 * Splits RDATA text into its fields, keeping each one exactly as written (quotes and escapes
 * included) so that the caller decides how to read it. Outside quotes, `(` and `)` only group
 * lines and `;` starts a comment that runs to the end of the line. A field may mix plain text
 * and one quoted part, as in `alpn="h2,h3"`.
 * @throws DnsError `ERR_DNS_PRESENTATION` on an unterminated quote, an unbalanced parenthesis or
 *   a trailing backslash.
 */
export function splitFields(text: string): string[] {
  const fields: string[] = [];
  let current = '';
  let depth = 0;
  let inField = false;
  const flush = (): void => {
    if (inField) fields.push(current);
    current = '';
    inField = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      if (i + 1 >= text.length) throw presentationError(`a backslash ends the text ${JSON.stringify(text)}`);
      current += c + text[i + 1]!;
      inField = true;
      i++;
    } else if (c === '"') {
      const close = closingQuote(text, i);
      if (close < 0) throw presentationError(`unterminated quoted string in ${JSON.stringify(text)}`);
      current += text.slice(i, close + 1);
      inField = true;
      i = close;
    } else if (c === ';') {
      flush();
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (c === '(' || c === ')') {
      flush();
      depth += c === '(' ? 1 : -1;
      if (depth < 0) throw presentationError(`")" without "(" in ${JSON.stringify(text)}`);
    } else if (isSpace(c)) {
      flush();
    } else {
      current += c;
      inField = true;
    }
  }
  if (depth !== 0) throw presentationError(`"(" without ")" in ${JSON.stringify(text)}`);
  flush();
  return fields;
}

/** Index of the quote that closes the one at `open`, skipping escaped characters; -1 if none. */
function closingQuote(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

/** Octets that may stand unescaped outside quotes: VCHAR minus DQUOTE, `;`, `(`, `)`, `\`. */
function isNonSpecial(octet: number): boolean {
  return octet > 0x20 && octet < 0x7f && ![0x22, 0x3b, 0x28, 0x29, 0x5c].includes(octet);
}

/**
 * Decodes the escapes of a character-string body: `\DDD` is the octet DDD (000-255) and `\X`
 * is X itself. Everything else stands for its UTF-8 octets.
 */
function unescape(body: string, whole: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const next = body[i + 1];
    if (next === undefined) throw presentationError(`a backslash ends ${JSON.stringify(whole)}`);
    if (next >= '0' && next <= '9') {
      const digits = body.slice(i + 1, i + 4);
      if (!/^[0-9]{3}$/.test(digits) || Number(digits) > 255) {
        throw presentationError(
          `"\\${digits}" in ${JSON.stringify(whole)} is not a decimal escape: use exactly three digits, 000 to 255`,
        );
      }
      out.push(Number(digits));
      i += 3;
    } else {
      // A surrogate pair is one character of two code units: take it whole.
      const char = String.fromCodePoint(body.codePointAt(i + 1)!);
      out.push(...Buffer.from(char, 'utf8'));
      i += char.length;
    }
  }
  return Buffer.from(out);
}

/**
 * The octets of one character-string field, quoted (`"a b"`) or contiguous (`a\032b`).
 * Unlike RFC 1035's `<character-string>`, the length is not limited to 255 (RFC 9460 Appendix A).
 * @throws DnsError `ERR_DNS_PRESENTATION` on a bad escape, a stray quote or a special character.
 */
export function decodeCharString(field: string): Buffer {
  if (field.startsWith('"')) {
    if (field.length < 2 || closingQuote(field, 0) !== field.length - 1) {
      throw presentationError(`${JSON.stringify(field)} is not one quoted string`);
    }
    return unescape(field.slice(1, -1), field);
  }
  for (let i = 0; i < field.length; i++) {
    const c = field[i]!;
    if (c === '\\') i++;
    else if (c === '"' || c === '(' || c === ')' || c === ';' || isSpace(c)) {
      throw presentationError(`${JSON.stringify(field)} holds an unescaped ${JSON.stringify(c)}; quote it`);
    }
  }
  return unescape(field, field);
}

/**
 * The presentation text of a character-string: bare when every octet may stand unescaped,
 * otherwise quoted, with `"` and `\` escaped and octets outside printable ASCII as `\DDD`.
 * The empty string is `""`.
 */
export function encodeCharString(octets: Uint8Array): string {
  if (octets.length > 0 && octets.every(isNonSpecial)) return Buffer.from(octets).toString('latin1');
  let out = '"';
  for (const o of octets) {
    if (o === 0x22 || o === 0x5c) out += `\\${String.fromCharCode(o)}`;
    else if (o >= 0x20 && o < 0x7f) out += String.fromCharCode(o);
    else out += `\\${String(o).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/** Label octets that must be escaped in a name's text besides the non-printable ones. */
const NAME_SPECIAL = new Set([0x2e, 0x5c, 0x22, 0x3b, 0x28, 0x29, 0x40, 0x24]); // . \ " ; ( ) @ $

/**
 * The uncompressed wire form of a domain name written in presentation format, escapes
 * included (`a\.b.example.` is two labels below `example`). A name that does not end in an
 * unescaped dot is relative: `origin` (absolute, presentation format) is appended, and `@`
 * alone is the origin itself.
 * @throws DnsError `ERR_DNS_PRESENTATION` for an empty label, a label over 63 octets, a name
 *   over 255 octets, or a relative name without `origin`.
 */
export function nameToWire(text: string, origin?: string): Buffer {
  if (text === '@') {
    if (origin === undefined) throw presentationError('"@" needs an origin');
    return nameToWire(origin);
  }
  if (text === '.') return Buffer.from([0]);
  if (text === '') throw presentationError('an empty name; the root is written "."');
  const labels: Buffer[] = [];
  let current = '';
  let absolute = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      const digits = /^[0-9]{3}/.test(text.slice(i + 1)) ? 3 : 1;
      current += text.slice(i, i + 1 + digits);
      i += digits;
    } else if (c === '.') {
      if (current === '') throw presentationError(`${JSON.stringify(text)} has an empty label`);
      labels.push(unescape(current, text));
      current = '';
      if (i === text.length - 1) absolute = true;
    } else {
      current += c;
    }
  }
  if (current !== '') labels.push(unescape(current, text));
  const parts: Buffer[] = [];
  for (const label of labels) {
    if (label.length > MAX_LABEL) {
      throw presentationError(`${JSON.stringify(text)} has a label longer than ${MAX_LABEL} octets`);
    }
    parts.push(Buffer.from([label.length]), label);
  }
  let wire: Buffer;
  if (absolute) {
    wire = Buffer.concat([...parts, Buffer.from([0])]);
  } else {
    if (origin === undefined) {
      throw presentationError(`${JSON.stringify(text)} is relative; write it fully qualified, ending in "."`);
    }
    wire = Buffer.concat([...parts, nameToWire(origin)]);
  }
  if (wire.length > MAX_NAME_WIRE) {
    throw presentationError(`${JSON.stringify(text)} is longer than ${MAX_NAME_WIRE} octets on the wire`);
  }
  return wire;
}

/**
 * Reads an uncompressed name from `buf` at `offset`, not past `end`, and returns its absolute
 * presentation text (`.` for the root) with special and non-printable octets escaped.
 * @throws DnsError `ERR_DNS_PRESENTATION` for a compression pointer, a label type other than a
 *   plain length, a name over 255 octets or one that runs past `end`.
 */
export function nameFromWire(buf: Uint8Array, offset: number, end: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  for (;;) {
    if (pos >= end) throw presentationError('the name runs past the end of its data');
    const len = buf[pos]!;
    if ((len & 0xc0) === 0xc0) throw presentationError('the name is compressed where it must not be');
    if (len > MAX_LABEL) throw presentationError(`unsupported label type 0x${len.toString(16)}`);
    if (pos + 1 + len > end) throw presentationError('a label runs past the end of its data');
    if (pos + 1 + len - offset > MAX_NAME_WIRE) {
      throw presentationError(`the name is longer than ${MAX_NAME_WIRE} octets`);
    }
    if (len === 0) return { name: labels.length === 0 ? '.' : `${labels.join('.')}.`, next: pos + 1 };
    let label = '';
    for (const o of buf.subarray(pos + 1, pos + 1 + len)) {
      if (NAME_SPECIAL.has(o)) label += `\\${String.fromCharCode(o)}`;
      else if (o > 0x20 && o < 0x7f) label += String.fromCharCode(o);
      else label += `\\${String(o).padStart(3, '0')}`;
    }
    labels.push(label);
    pos += 1 + len;
  }
}
