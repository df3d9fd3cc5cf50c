import { createHmac, timingSafeEqual } from 'node:crypto';
import { DnsError, DnsMalformedError, TsigError, rcodeName } from './errors.ts';
import { encodeName, normalizeName } from './names.ts';
import {
  HEADER_LENGTH,
  labelsToText,
  readHeader,
  readName,
  readQuestions,
  readRecord,
} from './wire-reader.ts';

/** The HMAC algorithms apexalias signs with, by their RFC 8945 wire names. */
export type TsigAlgorithm = 'hmac-sha1' | 'hmac-sha224' | 'hmac-sha256' | 'hmac-sha384' | 'hmac-sha512';

/** A shared TSIG key, as configured on the server (`key "name" { algorithm …; secret …; }`). */
export interface TsigKey {
  name: string;
  algorithm: TsigAlgorithm;
  secret: Buffer;
}

/** The fields of a TSIG RR (RFC 8945 4.2). Names are dotted text without the trailing dot. */
export interface TsigRecord {
  keyName: string;
  algorithm: string;
  /** Seconds since the Unix epoch (48 bits on the wire). */
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  /** 0, or an extended RCODE: 16 BADSIG, 17 BADKEY, 18 BADTIME, 22 BADTRUNC. */
  error: number;
  otherData: Buffer;
}

const TYPE_TSIG = 250;
const CLASS_ANY = 255;
const DEFAULT_FUDGE = 300;
const MAX_TIME_SIGNED = 2 ** 48 - 1;

/** Node's digest name and output length for each algorithm. */
const HASHES: Readonly<Record<TsigAlgorithm, { digest: string; length: number }>> = {
  'hmac-sha1': { digest: 'sha1', length: 20 },
  'hmac-sha224': { digest: 'sha224', length: 28 },
  'hmac-sha256': { digest: 'sha256', length: 32 },
  'hmac-sha384': { digest: 'sha384', length: 48 },
  'hmac-sha512': { digest: 'sha512', length: 64 },
};

/** TSIG error values a server reports in the RR (RFC 8945 5.3). */
const TSIG_ERRORS: Readonly<Record<number, string>> = {
  16: 'BADSIG',
  17: 'BADKEY',
  18: 'BADTIME',
  22: 'BADTRUNC',
};

function hashOf(key: TsigKey): { digest: string; length: number } {
  const hash = Object.hasOwn(HASHES, key.algorithm) ? HASHES[key.algorithm] : undefined;
  if (!hash) {
    throw new TsigError(
      'BADALG',
      `TSIG key "${key.name}" uses unsupported algorithm "${key.algorithm}"; use one of ${Object.keys(HASHES).join(', ')}`,
    );
  }
  return hash;
}

function uint16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value, 0);
  return b;
}

function uint48(value: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(value, 0, 6);
  return b;
}

/**
 * The "TSIG variables" of RFC 8945 4.3.3, in the order they enter the MAC: key name (canonical),
 * class ANY, TTL 0, algorithm name (canonical), time signed, fudge, error, other len, other data.
 */
function tsigVariables(
  keyName: string,
  algorithm: string,
  timeSigned: number,
  fudge: number,
  error: number,
  otherData: Buffer,
): Buffer {
  const classTtl = Buffer.alloc(6);
  classTtl.writeUInt16BE(CLASS_ANY, 0);
  return Buffer.concat([
    encodeName(normalizeName(keyName)),
    classTtl,
    encodeName(normalizeName(algorithm)),
    uint48(timeSigned),
    uint16(fudge),
    uint16(error),
    uint16(otherData.length),
    otherData,
  ]);
}

function hmac(key: TsigKey, parts: Buffer[]): Buffer {
  const h = createHmac(hashOf(key).digest, key.secret);
  for (const part of parts) h.update(part);
  return h.digest();
}

/** A request MAC as it prefixes the digest of a response: 2-octet length, then the MAC. */
function macPrefix(requestMac: Buffer | undefined): Buffer[] {
  return requestMac ? [uint16(requestMac.length), requestMac] : [];
}

/**
 * Sign a complete DNS message: compute the MAC over (request MAC,) message and TSIG variables,
 * append the TSIG RR (class ANY, TTL 0, original ID = the message ID, error 0, no other data)
 * and add one to ARCOUNT. Pass `requestMac` only when signing a response.
 * @returns the signed message and its MAC, which the caller keeps to verify the response.
 */
export function signMessage(
  message: Buffer,
  key: TsigKey,
  opts: { timeSigned: number; fudge?: number; requestMac?: Buffer },
): { message: Buffer; mac: Buffer } {
  const header = readHeader(message);
  const fudge = opts.fudge ?? DEFAULT_FUDGE;
  if (!Number.isInteger(opts.timeSigned) || opts.timeSigned < 0 || opts.timeSigned > MAX_TIME_SIGNED) {
    throw new DnsError('ERR_TSIG_TIME', `TSIG time ${opts.timeSigned} is not whole Unix seconds in 48 bits`);
  }
  if (!Number.isInteger(fudge) || fudge < 0 || fudge > 0xffff) {
    throw new DnsError('ERR_TSIG_FUDGE', `TSIG fudge ${fudge} is not a 16-bit unsigned integer`);
  }
  if (header.arcount === 0xffff) throw new DnsMalformedError('cannot sign: ARCOUNT is already 65535');
  const keyName = normalizeName(key.name);
  const algorithm = key.algorithm;
  const noOther = Buffer.alloc(0);
  const mac = hmac(key, [
    ...macPrefix(opts.requestMac),
    message,
    tsigVariables(keyName, algorithm, opts.timeSigned, fudge, 0, noOther),
  ]);
  const rdata = Buffer.concat([
    encodeName(algorithm),
    uint48(opts.timeSigned),
    uint16(fudge),
    uint16(mac.length),
    mac,
    uint16(header.id),
    uint16(0),
    uint16(0),
  ]);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(TYPE_TSIG, 0);
  fixed.writeUInt16BE(CLASS_ANY, 2);
  fixed.writeUInt32BE(0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  const signed = Buffer.concat([message, encodeName(keyName), fixed, rdata]);
  signed.writeUInt16BE(header.arcount + 1, 10);
  if (signed.length > 0xffff) {
    throw new DnsMalformedError(`signed message is ${signed.length} octets, over 65535`);
  }
  return { message: signed, mac };
}

function tsigMalformed(why: string): DnsMalformedError {
  return new DnsMalformedError(`malformed TSIG record: ${why}`);
}

/**
 * Find and parse the TSIG RR, which RFC 8945 requires to be the last record of the additional
 * section. Earlier sections may use name compression.
 * @returns `undefined` when the message has no additional records or the last one is not TSIG.
 * @throws DnsMalformedError when the message or the TSIG RDATA cannot be parsed.
 */
export function readTsig(message: Buffer): { tsig: TsigRecord; offset: number } | undefined {
  const header = readHeader(message);
  if (header.arcount === 0) return undefined;
  let pos = readQuestions(message, HEADER_LENGTH, header.qdcount).next;
  const before = header.ancount + header.nscount + header.arcount - 1;
  for (let i = 0; i < before; i++) pos = readRecord(message, pos).next;
  const offset = pos;
  const rr = readRecord(message, offset);
  if (rr.type !== TYPE_TSIG) return undefined;
  if (rr.next !== message.length) throw tsigMalformed('data follows the TSIG record');
  if (rr.class !== CLASS_ANY) throw tsigMalformed(`class ${rr.class}, expected ANY (255)`);
  const end = rr.next;
  const alg = readName(message, rr.rdataOffset);
  let p = alg.next;
  const fixedNeed = (n: number, what: string): void => {
    if (p + n > end) throw tsigMalformed(`${what} runs past the RDATA`);
  };
  fixedNeed(10, 'fixed fields');
  const timeSigned = message.readUIntBE(p, 6);
  const fudge = message.readUInt16BE(p + 6);
  const macSize = message.readUInt16BE(p + 8);
  p += 10;
  fixedNeed(macSize, 'MAC');
  const mac = Buffer.from(message.subarray(p, p + macSize));
  p += macSize;
  fixedNeed(6, 'original ID, error and other length');
  const originalId = message.readUInt16BE(p);
  const error = message.readUInt16BE(p + 2);
  const otherLen = message.readUInt16BE(p + 4);
  p += 6;
  fixedNeed(otherLen, 'other data');
  const otherData = Buffer.from(message.subarray(p, p + otherLen));
  p += otherLen;
  if (p !== end) throw tsigMalformed('RDLENGTH does not match its fields');
  return {
    tsig: {
      keyName: labelsToText(rr.labels),
      algorithm: labelsToText(alg.labels),
      timeSigned,
      fudge,
      mac,
      originalId,
      error,
      otherData,
    },
    offset,
  };
}

function describeTime(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString()} (${seconds})`;
}

/** The error a server put into an unsigned TSIG error reply, with advice for the operator. */
function serverReported(tsig: TsigRecord, key: TsigKey): TsigError {
  const name = TSIG_ERRORS[tsig.error] ?? rcodeName(tsig.error);
  switch (name) {
    case 'BADKEY':
      return new TsigError(
        name,
        `the DNS server does not know TSIG key "${key.name}" with algorithm ${key.algorithm} (BADKEY); ` +
          'check that the key name and algorithm match the key clause on the server',
      );
    case 'BADSIG':
      return new TsigError(
        name,
        `the DNS server rejected our signature with TSIG key "${key.name}" (BADSIG); check the key secret`,
      );
    case 'BADTIME': {
      // A BADTIME reply carries the server's clock in the other data (RFC 8945 5.2.3).
      const serverTime = tsig.otherData.length === 6 ? tsig.otherData.readUIntBE(0, 6) : undefined;
      const clock = serverTime === undefined ? '' : `; the server's clock says ${describeTime(serverTime)}`;
      return new TsigError(
        name,
        `the DNS server rejected the time of our TSIG signature, signed at ${describeTime(tsig.timeSigned)} (BADTIME)` +
          `${clock}; check that both clocks are synchronized (NTP)`,
      );
    }
    default:
      return new TsigError(name, `the DNS server reported TSIG error ${name} (${tsig.error})`);
  }
}

/**
 * Check the TSIG of a response to a request we signed (RFC 8945 5.3): the MAC is computed over
 * the request MAC (2-octet length, then MAC), the response with its original ID restored and
 * ARCOUNT less one, and the TSIG variables; then the time must be within `fudge` (default 300)
 * seconds of `now`. Error replies (BADKEY, BADSIG, BADTIME, BADTRUNC in the TSIG error field)
 * are unsigned by design and are reported without verification.
 * @throws TsigError UNSIGNED (no TSIG), BADKEY (key or algorithm differs), BADTRUNC/FORMERR (MAC
 *   shorter/longer than the full digest), BADSIG (MAC mismatch), BADTIME (outside the fudge), or
 *   the error the server reported.
 * @throws DnsMalformedError when the response cannot be parsed.
 */
export function verifyResponse(
  response: Buffer,
  key: TsigKey,
  opts: { requestMac: Buffer; now: number; fudge?: number },
): void {
  const found = readTsig(response);
  if (!found) {
    throw new TsigError(
      'UNSIGNED',
      `the DNS response carries no TSIG although the request was signed with key "${key.name}"; ` +
        'the server may not know the key, or the reply did not come from the server',
    );
  }
  const { tsig, offset } = found;
  if (tsig.error !== 0) throw serverReported(tsig, key);
  if (normalizeName(tsig.keyName) !== normalizeName(key.name)) {
    throw new TsigError('BADKEY', `the DNS response is signed with key "${tsig.keyName}", not "${key.name}"`);
  }
  if (normalizeName(tsig.algorithm) !== key.algorithm) {
    throw new TsigError(
      'BADKEY',
      `the DNS response is signed with algorithm ${tsig.algorithm}, not ${key.algorithm} of key "${key.name}"`,
    );
  }
  const { length } = hashOf(key);
  // We always send full-length MACs, so a truncated one in the reply is below our policy.
  if (tsig.mac.length < length) {
    throw new TsigError(
      'BADTRUNC',
      `the DNS response MAC is truncated to ${tsig.mac.length} of ${length} octets`,
    );
  }
  if (tsig.mac.length > length) {
    throw new TsigError(
      'FORMERR',
      `the DNS response MAC is ${tsig.mac.length} octets, longer than ${length}`,
    );
  }
  const unsigned = Buffer.from(response.subarray(0, offset));
  unsigned.writeUInt16BE(tsig.originalId, 0);
  unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10);
  const expected = hmac(key, [
    ...macPrefix(opts.requestMac),
    unsigned,
    tsigVariables(key.name, key.algorithm, tsig.timeSigned, tsig.fudge, tsig.error, tsig.otherData),
  ]);
  if (!timingSafeEqual(expected, tsig.mac)) {
    throw new TsigError(
      'BADSIG',
      `the TSIG signature of the DNS response does not verify with key "${key.name}"; ` +
        'check the key secret, or the reply was altered on the way',
    );
  }
  const fudge = opts.fudge ?? DEFAULT_FUDGE;
  if (Math.abs(opts.now - tsig.timeSigned) > fudge) {
    throw new TsigError(
      'BADTIME',
      `the DNS response was signed at ${describeTime(tsig.timeSigned)}, more than ${fudge}s from our clock ` +
        `${describeTime(opts.now)}; check that both clocks are synchronized (NTP)`,
    );
  }
}
