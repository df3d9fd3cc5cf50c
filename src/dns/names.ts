import { DnsError } from './errors.ts';

/** RFC 1035 2.3.4: 63 octets per label; 255 on the wire, which is 253 in dotted text. */
const MAX_LABEL_OCTETS = 63;
const MAX_TEXT_OCTETS = 253;

/**
 * DNS compares names case-insensitively for ASCII only (RFC 4343), so only A-Z are folded;
 * `toLowerCase()` would also rewrite non-ASCII octets and change the name on the wire.
 */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

function nameError(name: string, why: string): DnsError {
  return new DnsError('ERR_DNS_NAME', `invalid DNS name ${JSON.stringify(name)}: ${why}`);
}

/**
 * The labels of a name in dotted text, checked against the RFC 1035 limits. Case is kept.
 * Master-file escapes (`\.`, `\065`) are not interpreted: every dot separates labels.
 */
function labelsOf(name: string): string[] {
  let text = name;
  if (text.endsWith('.')) text = text.slice(0, -1);
  if (text === '') return [];
  if (Buffer.byteLength(text, 'utf8') > MAX_TEXT_OCTETS) {
    throw nameError(name, `longer than ${MAX_TEXT_OCTETS} octets`);
  }
  const labels = text.split('.');
  for (const label of labels) {
    if (label === '') throw nameError(name, 'empty label');
    if (Buffer.byteLength(label, 'utf8') > MAX_LABEL_OCTETS) {
      throw nameError(name, `label "${label}" is longer than ${MAX_LABEL_OCTETS} octets`);
    }
  }
  return labels;
}

/**
 * The canonical text form used everywhere in apexalias: ASCII lower-case, no trailing dot, and
 * `''` for the root (both `''` and `'.'` mean the root).
 * @throws DnsError `ERR_DNS_NAME` on an empty label, a label over 63 octets or a name over 253.
 */
export function normalizeName(name: string): string {
  return asciiLower(labelsOf(name).join('.'));
}

/**
 * {@link normalizeName}, or undefined where it would throw: for input still being validated.
 */
export function tryNormalizeName(name: string): string | undefined {
  try {
    return normalizeName(name);
  } catch {
    return undefined;
  }
}

/**
 * The uncompressed wire form of a name (length-prefixed labels ending in the root label).
 * Case is preserved; pass a normalized name where canonical form matters (TSIG).
 * @throws DnsError `ERR_DNS_NAME` when the name is invalid.
 */
export function encodeName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of labelsOf(name)) {
    const bytes = Buffer.from(label, 'utf8');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/**
 * True when `name` equals `zone` or lies below it, compared label by label and ignoring ASCII
 * case: `www.example.com` is in `example.com`, `badexample.com` is not. Every name is in the root.
 * @throws DnsError `ERR_DNS_NAME` when either name is invalid.
 */
export function isSubdomain(name: string, zone: string): boolean {
  const n = normalizeName(name);
  const z = normalizeName(zone);
  return z === '' || n === z || n.endsWith(`.${z}`);
}

/**
 * Writes names with RFC 1035 4.1.4 message compression: a suffix already written earlier in
 * the message becomes a 2-octet pointer to it. One instance serves one message; `at` is the
 * offset in the message where the name will start. Matching ignores ASCII case.
 */
export class NameCompressor {
  readonly #offsets = new Map<string, number>();

  encode(name: string, at: number): Buffer {
    const labels = labelsOf(name);
    const parts: Buffer[] = [];
    let offset = at;
    for (let i = 0; i < labels.length; i++) {
      const suffix = asciiLower(labels.slice(i).join('.'));
      const known = this.#offsets.get(suffix);
      if (known !== undefined) {
        parts.push(Buffer.from([0xc0 | (known >> 8), known & 0xff]));
        return Buffer.concat(parts);
      }
      // Pointers have 14 bits: only suffixes in the first 16 KiB can be pointed at.
      if (offset < 0x4000) this.#offsets.set(suffix, offset);
      const bytes = Buffer.from(labels[i]!, 'utf8');
      parts.push(Buffer.from([bytes.length]), bytes);
      offset += 1 + bytes.length;
    }
    parts.push(Buffer.from([0]));
    return Buffer.concat(parts);
  }
}
