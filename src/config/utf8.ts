/**
 * Strict UTF-8 decoding of the files apexalias reads (manifests, zone files). A lossy decode
 * would turn a stray byte into U+FFFD in silence: in a manifest that changes what is applied, and
 * in a zone file it would be written back, changing records apexalias does not own. Pure.
 */
import { ApexAliasError } from '../errors.ts';

/** Bytes that are not UTF-8. `offset` is the 0-based byte offset of the first bad sequence. */
export class TextEncodingError extends ApexAliasError {
  readonly offset: number;
  /** 1-based line of `offset`. */
  readonly line: number;
  constructor(message: string, offset: number, line: number) {
    super('ERR_TEXT_ENCODING', message);
    this.offset = offset;
    this.line = line;
  }
}

const fatal = new TextDecoder('utf-8', { fatal: true });

/**
 * The offset of the first byte that does not start or continue a well-formed UTF-8 sequence
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or -1.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return -1;
}

/**
 * Decodes `bytes` as UTF-8, refusing anything else. A leading byte-order mark is dropped.
 * @param what names the input in the error message ("manifest /x/a.yaml").
 * @throws TextEncodingError with the byte offset and line of the first invalid sequence.
 */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return fatal.decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    let line = 1;
    for (let k = 0; k < offset; k++) if (bytes[k] === 0x0a) line++;
    const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
    const byte = (bytes[offset] ?? 0).toString(16).padStart(2, '0');
    throw new TextEncodingError(
      `${what} is not valid UTF-8: byte 0x${byte} at offset ${offset} (line ${line}); ` +
        (utf16 ? 'it looks like UTF-16, save it as UTF-8' : 'save the file as UTF-8'),
      offset,
      line,
    );
  }
}
