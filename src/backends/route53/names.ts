/**
 * Names and TXT values as the Route 53 API writes them, and the order in which
 * ListResourceRecordSets returns record sets. Pure.
 */

/**
 * A record name from the API in the project's form: lower case, no trailing dot, and the
 * `\ooo` octal escapes Route 53 uses for every character other than a-z, 0-9, '-' and '_'
 * ("*" comes back as `\052`) decoded.
 */
export function fromApiName(name: string): string {
  const decoded = name.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(parseInt(octal, 8)),
  );
  const lower = decoded.replace(/[A-Z]+/g, (s) => s.toLowerCase());
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * A name in the form the API takes: absolute, with the characters Route 53 requires escaped
 * (0x00-0x20, 0x7F-0xFF and a '.' inside a label cannot occur in a DNS name here) written as
 * `\ooo`. Owner names are LDH labels and `_apexalias`, which pass unchanged.
 */
export function toApiName(name: string): string {
  let escaped = '';
  for (const c of name) {
    const code = c.charCodeAt(0);
    escaped += code <= 0x20 || code >= 0x7f ? `\\${code.toString(8).padStart(3, '0')}` : c;
  }
  return escaped.endsWith('.') ? escaped : `${escaped}.`;
}

/**
 * Route 53 lists record sets "by DNS name with the labels reversed, for example
 * com.example.www., [where] the trailing dot can change the sort order" (ListResourceRecordSets).
 * Both spellings of the key are kept: the documented one, and the same without the trailing
 * dot, which is how moto sorts. A page boundary is trusted only where both agree, so a reader
 * that relies on the order can never skip a record on either.
 */
function orderKeys(name: string): string[] {
  const reversed = name.split('.').reverse().join('.');
  return [`${reversed}.`, reversed];
}

/**
 * Every spelling a name from the API may sort under: as the API wrote it (escapes kept, case
 * kept) and decoded, since it is not documented which of the two the order is taken on.
 */
function apiOrderKeys(apiName: string): string[] {
  const bare = apiName.endsWith('.') ? apiName.slice(0, -1) : apiName;
  const decoded = bare.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(parseInt(octal, 8)),
  );
  return [...orderKeys(bare), ...orderKeys(decoded)];
}

/**
 * True when record name `apiName` (as the API wrote it, e.g. a NextRecordName) comes after
 * owner name `name` (project form, LDH and '_' only) in every order the API may use.
 */
export function definitelyAfter(apiName: string, name: string): boolean {
  const ours = orderKeys(name);
  const theirs = apiOrderKeys(apiName);
  // Compare like with like: documented key to documented key, bare to bare.
  return theirs.every((key, i) => key > ours[i % 2]!);
}

/** True when record name `apiName` comes before owner name `name` in every order the API may use. */
export function definitelyBefore(apiName: string, name: string): boolean {
  const ours = orderKeys(name);
  return apiOrderKeys(apiName).every((key, i) => key < ours[i % 2]!);
}

/** True when owner name `a` comes no later than owner name `b` in both orders (both project form). */
export function definitelyNotAfter(a: string, b: string): boolean {
  const ka = orderKeys(a);
  const kb = orderKeys(b);
  return ka.every((key, i) => key <= kb[i]!);
}

/** Sorts owner names by Route 53's documented order, so that a reader walks the zone forwards. */
export function compareNames(a: string, b: string): number {
  const ka = orderKeys(a)[0]!;
  const kb = orderKeys(b)[0]!;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** RFC 1035 3.3: one character-string holds at most 255 octets. */
const MAX_STRING = 255;

/**
 * A TXT value as Route 53 requires it: each character-string in double quotes, `"` and `\`
 * escaped, anything outside printable ASCII as `\ooo`, split into strings of at most 255 octets.
 */
export function quoteTxt(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  const strings: string[] = [];
  for (let at = 0; at < bytes.length || strings.length === 0; at += MAX_STRING) {
    let out = '';
    for (const byte of bytes.subarray(at, at + MAX_STRING)) {
      if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
      else if (byte < 0x20 || byte > 0x7e) out += `\\${byte.toString(8).padStart(3, '0')}`;
      else out += String.fromCharCode(byte);
    }
    strings.push(`"${out}"`);
  }
  return strings.join(' ');
}

/**
 * The text of one TXT record from the API: its character-strings, quoted or bare, with `\x`
 * and `\ooo` escapes decoded, joined without separators (as the planner compares markers).
 */
export function unquoteTxt(value: string): string {
  const bytes: number[] = [];
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && value[i] === ' ') i++;
    if (i >= n) break;
    const quoted = value[i] === '"';
    if (quoted) i++;
    while (i < n) {
      const c = value[i]!;
      if (quoted ? c === '"' : c === ' ') break;
      if (c === '\\' && i + 1 < n) {
        const octal = /^[0-7]{3}/.exec(value.slice(i + 1, i + 4));
        if (octal) {
          bytes.push(parseInt(octal[0], 8));
          i += 4;
        } else {
          bytes.push(...Buffer.from(value[i + 1]!, 'utf8'));
          i += 2;
        }
        continue;
      }
      bytes.push(...Buffer.from(c, 'utf8'));
      i++;
    }
    if (quoted) i++;
  }
  return Buffer.from(bytes).toString('utf8');
}
