/**
 * SVCB (type 64) and HTTPS (type 65) RDATA, RFC 9460: the wire codec and the presentation
 * format. dns-packet has neither. Pure. Both types share one format; only the type number differs.
 *
 * AliasMode (SvcPriority 0) is what apexalias writes beside the flattened addresses:
 * `example.com. HTTPS 0 my-lb.provider.net.`. ServiceMode records are decoded in full so that
 * someone else's record at the same name is read, compared and reported correctly.
 */
import { SocketAddress, isIPv4, isIPv6 } from 'node:net';
import { DnsError, SvcbError } from './errors.ts';
import type { SvcbErrorCode } from './errors.ts';
import { decodeCharString, encodeCharString, nameFromWire, nameToWire, splitFields } from './presentation.ts';
import { ipv4Octets, ipv6Octets } from './rdata.ts';

/** The RR type numbers (IANA "Resource Record (RR) TYPEs"). */
export const SVCB_TYPE = 64;
export const HTTPS_TYPE = 65;

/**
 * One SvcParam, decoded. Keys without a decoder here (all but the seven of RFC 9460 section 14.3.2)
 * are `unknown` and keep their raw value; their presentation name is `key<code>`.
 */
export type SvcParam =
  /** Key 0: keys that a client must understand to use the record, ascending. */
  | { key: 'mandatory'; keys: number[] }
  /** Key 1: ALPN protocol identifiers (1 to 255 octets each), in the record's order. */
  | { key: 'alpn'; protocols: Buffer[] }
  /** Key 2: the scheme's default ALPN set is not offered. */
  | { key: 'no-default-alpn' }
  /** Key 3. */
  | { key: 'port'; port: number }
  /** Key 4: canonical IPv4 text, in the record's order. */
  | { key: 'ipv4hint'; addresses: string[] }
  /** Key 5: an ECHConfigList, its own 2-octet length prefix included. */
  | { key: 'ech'; config: Buffer }
  /** Key 6: canonical IPv6 text (RFC 5952), in the record's order. */
  | { key: 'ipv6hint'; addresses: string[] }
  | { key: 'unknown'; code: number; value: Buffer };

/** The RDATA of one SVCB or HTTPS record. */
export interface SvcbRecord {
  /** 0 is AliasMode; 1 to 65535 is ServiceMode, lower preferred. */
  priority: number;
  /**
   * The TargetName in presentation format, absolute, ending in a dot (`foo.example.com.`);
   * `.` is the root (in ServiceMode: the owner name itself). Case is kept as received.
   */
  target: string;
  /** Ascending by key number once decoded or parsed; empty in AliasMode as apexalias writes it. */
  params: SvcParam[];
}

type KnownKey = Exclude<SvcParam['key'], 'unknown'>;

/** RFC 9460 section 14.3.2. */
const KEY_CODES: Readonly<Record<KnownKey, number>> = {
  mandatory: 0,
  alpn: 1,
  'no-default-alpn': 2,
  port: 3,
  ipv4hint: 4,
  ech: 5,
  ipv6hint: 6,
};
const KEY_NAMES = new Map<number, KnownKey>(
  Object.entries(KEY_CODES).map(([name, code]) => [code, name as KnownKey]),
);
/** "Reserved (Invalid key)". */
const INVALID_KEY = 65535;
const MAX_ALPN_ID = 255;

function fail(code: SvcbErrorCode, message: string, cause?: unknown): SvcbError {
  return new SvcbError(code, message, cause === undefined ? undefined : { cause });
}

/** The number of a SvcParam's key. */
export function svcParamCode(param: SvcParam): number {
  return param.key === 'unknown' ? param.code : KEY_CODES[param.key];
}

/** The presentation name of a key number: `alpn`, or `key667` for one without a name. */
export function svcParamKeyName(code: number): string {
  return KEY_NAMES.get(code) ?? `key${code}`;
}

/** A key's number from its presentation name; undefined when it is neither a name nor `keyNNNNN`. */
function keyCodeOf(name: string): number | undefined {
  const known = KEY_CODES[name as KnownKey];
  if (known !== undefined) return known;
  const generic = /^key(0|[1-9][0-9]{0,4})$/.exec(name);
  if (!generic) return undefined;
  const code = Number(generic[1]);
  return code <= 0xffff ? code : undefined;
}

// ---------------------------------------------------------------------------------------------
// SvcParamValues: wire octets <-> typed values
// ---------------------------------------------------------------------------------------------

function ipv6Text(octets: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((octets[i]! << 8) | octets[i + 1]!).toString(16));
  // libuv's inet_ntop, bundled with Node: the same RFC 5952 text on every platform.
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

/**
 * The typed value of key `code` from its wire octets. `errorCode` says how a bad value is
 * reported: as malformed wire data, or as a bad value in presentation text (`key1=\002h2`).
 */
function decodeValue(code: number, value: Buffer, errorCode: SvcbErrorCode): SvcParam {
  const name = svcParamKeyName(code);
  const bad = (why: string): SvcbError => fail(errorCode, `SvcParam ${name}: ${why}`);
  if (code === INVALID_KEY) throw bad('key 65535 is reserved as the invalid key');
  switch (KEY_NAMES.get(code)) {
    case 'mandatory': {
      if (value.length === 0 || value.length % 2 !== 0) {
        throw bad(`needs one or more 2-octet keys, got ${value.length} octets`);
      }
      const keys: number[] = [];
      for (let i = 0; i < value.length; i += 2) {
        const k = value.readUInt16BE(i);
        if (keys.length > 0 && k <= keys[keys.length - 1]!) {
          throw bad('keys must be in strictly increasing order (no key twice)');
        }
        keys.push(k);
      }
      return { key: 'mandatory', keys };
    }
    case 'alpn': {
      if (value.length === 0) throw bad('needs at least one protocol identifier');
      const protocols: Buffer[] = [];
      for (let i = 0; i < value.length;) {
        const len = value[i]!;
        if (len === 0) throw bad('a protocol identifier is empty');
        if (i + 1 + len > value.length) throw bad('a protocol identifier runs past the end of the value');
        protocols.push(Buffer.from(value.subarray(i + 1, i + 1 + len)));
        i += 1 + len;
      }
      return { key: 'alpn', protocols };
    }
    case 'no-default-alpn':
      if (value.length !== 0) throw bad('the value must be empty');
      return { key: 'no-default-alpn' };
    case 'port':
      if (value.length !== 2) throw bad(`needs 2 octets, got ${value.length}`);
      return { key: 'port', port: value.readUInt16BE(0) };
    case 'ipv4hint': {
      if (value.length === 0 || value.length % 4 !== 0) {
        throw bad(`needs one or more 4-octet addresses, got ${value.length} octets`);
      }
      const addresses: string[] = [];
      for (let i = 0; i < value.length; i += 4) addresses.push([...value.subarray(i, i + 4)].join('.'));
      return { key: 'ipv4hint', addresses };
    }
    case 'ech':
      if (value.length < 2 || value.readUInt16BE(0) !== value.length - 2) {
        throw bad('is not an ECHConfigList (its 2-octet length prefix must count the octets that follow)');
      }
      return { key: 'ech', config: Buffer.from(value) };
    case 'ipv6hint': {
      if (value.length === 0 || value.length % 16 !== 0) {
        throw bad(`needs one or more 16-octet addresses, got ${value.length} octets`);
      }
      const addresses: string[] = [];
      for (let i = 0; i < value.length; i += 16) addresses.push(ipv6Text(value.subarray(i, i + 16)));
      return { key: 'ipv6hint', addresses };
    }
    default:
      return { key: 'unknown', code, value: Buffer.from(value) };
  }
}

/** The wire octets of a typed value. @throws SvcbError `ERR_SVCB_VALUE` when it is out of range. */
function encodeValue(param: SvcParam): Buffer {
  const bad = (why: string): SvcbError =>
    fail('ERR_SVCB_VALUE', `SvcParam ${svcParamKeyName(svcParamCode(param))}: ${why}`);
  const u16 = (n: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return b;
  };
  const isU16 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffff;
  switch (param.key) {
    case 'mandatory': {
      if (param.keys.length === 0) throw bad('needs at least one key');
      if (!param.keys.every(isU16)) throw bad('keys are 16-bit numbers');
      const sorted = [...param.keys].sort((a, b) => a - b);
      if (sorted.some((k, i) => i > 0 && k === sorted[i - 1])) {
        throw fail('ERR_SVCB_DUPLICATE_KEY', 'SvcParam mandatory lists a key twice');
      }
      return Buffer.concat(sorted.map(u16));
    }
    case 'alpn':
      if (param.protocols.length === 0) throw bad('needs at least one protocol identifier');
      return Buffer.concat(
        param.protocols.map((p) => {
          if (p.length === 0 || p.length > MAX_ALPN_ID) {
            throw bad(`a protocol identifier has ${p.length} octets; 1 to ${MAX_ALPN_ID} are allowed`);
          }
          return Buffer.concat([Buffer.from([p.length]), p]);
        }),
      );
    case 'no-default-alpn':
      return Buffer.alloc(0);
    case 'port':
      if (!isU16(param.port)) throw bad(`${param.port} is not a port number (0 to 65535)`);
      return u16(param.port);
    case 'ipv4hint':
      if (param.addresses.length === 0) throw bad('needs at least one address');
      return Buffer.concat(
        param.addresses.map((a) => {
          if (!isIPv4(a)) throw bad(`${JSON.stringify(a)} is not an IPv4 address`);
          return Buffer.from(ipv4Octets(a));
        }),
      );
    case 'ech':
      // The same check as on the way in: the list's own length prefix must fit.
      decodeValue(KEY_CODES.ech, param.config, 'ERR_SVCB_VALUE');
      return Buffer.from(param.config);
    case 'ipv6hint':
      if (param.addresses.length === 0) throw bad('needs at least one address');
      return Buffer.concat(
        param.addresses.map((a) => {
          if (!isIPv6(a) || a.includes('%')) throw bad(`${JSON.stringify(a)} is not an IPv6 address`);
          return ipv6Octets(a);
        }),
      );
    case 'unknown':
      if (!isU16(param.code) || KEY_NAMES.has(param.code)) {
        throw bad(`${param.code} is not the number of a key without a name`);
      }
      if (param.code === INVALID_KEY) throw bad('key 65535 is reserved as the invalid key');
      return Buffer.from(param.value);
  }
}

/**
 * The self-consistency rules of RFC 9460 sections 7.1.1 and 8, for ServiceMode: `mandatory`
 * never lists itself and only lists keys the record has; `no-default-alpn` needs `alpn`.
 */
function checkConsistency(params: readonly SvcParam[]): void {
  const present = new Set(params.map(svcParamCode));
  const mandatory = params.find((p) => p.key === 'mandatory');
  if (mandatory) {
    for (const k of mandatory.keys) {
      if (k === KEY_CODES.mandatory) {
        throw fail('ERR_SVCB_INCONSISTENT', 'SvcParam mandatory must not list "mandatory" itself');
      }
      if (!present.has(k)) {
        throw fail(
          'ERR_SVCB_INCONSISTENT',
          `SvcParam mandatory lists ${svcParamKeyName(k)}, which the record does not have; add it or drop it from the list`,
        );
      }
    }
  }
  if (present.has(KEY_CODES['no-default-alpn']) && !present.has(KEY_CODES.alpn)) {
    throw fail('ERR_SVCB_INCONSISTENT', 'SvcParam no-default-alpn needs alpn in the same record');
  }
}

function checkPriority(priority: number): void {
  if (!Number.isInteger(priority) || priority < 0 || priority > 0xffff) {
    throw fail('ERR_SVCB_VALUE', `SvcPriority ${priority} is not a number from 0 to 65535`);
  }
}

// ---------------------------------------------------------------------------------------------
// Wire format (RFC 9460 section 2.2)
// ---------------------------------------------------------------------------------------------

/**
 * Decodes SVCB/HTTPS RDATA (the RDATA alone, not a whole message). The RRset a malformed record
 * belongs to must be rejected as a whole (RFC 9460 section 2.2).
 * @throws SvcbError `ERR_SVCB_MALFORMED` for anything section 2.2 calls malformed, including a
 *   value of the wrong format; `ERR_SVCB_INCONSISTENT` for a ServiceMode record that is not
 *   self-consistent.
 */
export function decodeSvcb(rdata: Uint8Array): SvcbRecord {
  const buf = Buffer.from(rdata.buffer, rdata.byteOffset, rdata.byteLength);
  if (buf.length < 3) throw fail('ERR_SVCB_MALFORMED', `SVCB RDATA of ${buf.length} octets is too short`);
  const priority = buf.readUInt16BE(0);
  let target: { name: string; next: number };
  try {
    target = nameFromWire(buf, 2, buf.length);
  } catch (cause) {
    throw fail('ERR_SVCB_MALFORMED', `SVCB TargetName: ${(cause as Error).message}`, cause);
  }
  const params: SvcParam[] = [];
  let previous = -1;
  for (let pos = target.next; pos < buf.length;) {
    if (pos + 4 > buf.length) throw fail('ERR_SVCB_MALFORMED', 'the RDATA ends within a SvcParam');
    const code = buf.readUInt16BE(pos);
    const length = buf.readUInt16BE(pos + 2);
    if (code <= previous) {
      throw fail(
        'ERR_SVCB_MALFORMED',
        `SvcParamKeys are not in strictly increasing order (${svcParamKeyName(code)} after ${svcParamKeyName(previous)})`,
      );
    }
    if (pos + 4 + length > buf.length) {
      throw fail('ERR_SVCB_MALFORMED', `SvcParam ${svcParamKeyName(code)} runs past the end of the RDATA`);
    }
    params.push(decodeValue(code, buf.subarray(pos + 4, pos + 4 + length), 'ERR_SVCB_MALFORMED'));
    previous = code;
    pos += 4 + length;
  }
  if (priority !== 0) checkConsistency(params);
  return { priority, target: target.name, params };
}

/**
 * Encodes SVCB/HTTPS RDATA: SvcParams sorted by key, the TargetName uncompressed.
 * @throws SvcbError `ERR_SVCB_VALUE`, `ERR_SVCB_DUPLICATE_KEY`, `ERR_SVCB_INCONSISTENT` or
 *   `ERR_SVCB_SYNTAX` (a TargetName that is not an absolute name in presentation format).
 */
export function encodeSvcb(record: SvcbRecord): Buffer {
  checkPriority(record.priority);
  const sorted = [...record.params].sort((a, b) => svcParamCode(a) - svcParamCode(b));
  sorted.forEach((p, i) => {
    if (i > 0 && svcParamCode(p) === svcParamCode(sorted[i - 1]!)) {
      throw fail('ERR_SVCB_DUPLICATE_KEY', `SvcParam ${svcParamKeyName(svcParamCode(p))} is given twice`);
    }
  });
  if (record.priority !== 0) checkConsistency(sorted);
  const parts: Buffer[] = [Buffer.alloc(2), targetWire(record.target)];
  parts[0]!.writeUInt16BE(record.priority);
  for (const p of sorted) {
    const value = encodeValue(p);
    if (value.length > 0xffff) throw fail('ERR_SVCB_VALUE', `SvcParam ${p.key} is longer than 65535 octets`);
    const head = Buffer.alloc(4);
    head.writeUInt16BE(svcParamCode(p), 0);
    head.writeUInt16BE(value.length, 2);
    parts.push(head, value);
  }
  const rdata = Buffer.concat(parts);
  if (rdata.length > 0xffff) throw fail('ERR_SVCB_VALUE', 'the RDATA is longer than 65535 octets');
  return rdata;
}

function targetWire(target: string, origin?: string): Buffer {
  try {
    return nameToWire(target, origin);
  } catch (cause) {
    throw fail('ERR_SVCB_SYNTAX', `SVCB TargetName: ${(cause as Error).message}`, cause);
  }
}

/**
 * The RDATA of the one AliasMode record apexalias writes: SvcPriority 0, `target`, no SvcParams.
 * `target` is absolute with or without its trailing dot (`my-lb.provider.net`, as apexalias
 * writes names); presentation escapes are honoured.
 * @throws SvcbError `ERR_SVCB_SYNTAX` when `target` is not a valid name.
 */
export function encodeAliasMode(target: string): Buffer {
  return encodeSvcb({ priority: 0, target: target.endsWith('.') ? target : `${target}.`, params: [] });
}

// ---------------------------------------------------------------------------------------------
// Presentation format (RFC 9460 section 2.1 and Appendix A)
// ---------------------------------------------------------------------------------------------

/** Escapes `,` and `\` in one value-list item (Appendix A.1). */
function escapeItem(item: Buffer): Buffer {
  const out: number[] = [];
  for (const o of item) {
    if (o === 0x2c || o === 0x5c) out.push(0x5c);
    out.push(o);
  }
  return Buffer.from(out);
}

function formatParam(param: SvcParam): string {
  const name = svcParamKeyName(svcParamCode(param));
  switch (param.key) {
    case 'mandatory':
      return `${name}=${param.keys.map(svcParamKeyName).join(',')}`;
    case 'alpn': {
      const list = Buffer.concat(
        param.protocols.flatMap((p, i) => [Buffer.from(i ? ',' : ''), escapeItem(p)]),
      );
      return `${name}=${encodeCharString(list)}`;
    }
    case 'no-default-alpn':
      return name;
    case 'port':
      return `${name}=${param.port}`;
    case 'ipv4hint':
    case 'ipv6hint':
      return `${name}=${param.addresses.join(',')}`;
    case 'ech':
      return `${name}=${param.config.toString('base64')}`;
    case 'unknown':
      return param.value.length === 0 ? name : `${name}=${encodeCharString(param.value)}`;
  }
}

/**
 * The presentation text of SVCB/HTTPS RDATA, as it follows the type in a zone file:
 * `1 foo.example.com. alpn=h2,h3 port=8443`. SvcParams come in key order; values are bare when
 * they can be, otherwise quoted with `\DDD` escapes. `named-checkzone` and `kzonecheck` accept it.
 */
export function formatSvcb(record: SvcbRecord): string {
  return [String(record.priority), record.target, ...record.params.map(formatParam)].join(' ');
}

/** RFC 3597 generic RDATA text, `\# 3 000100`, which any zone-file reader accepts for any type. */
export function formatGenericRdata(rdata: Uint8Array): string {
  return rdata.length === 0 ? '\\# 0' : `\\# ${rdata.length} ${Buffer.from(rdata).toString('hex')}`;
}

/** Splits a comma-separated value-list with `\,` and `\\` escapes (Appendix A.1). */
function splitValueList(value: Buffer, name: string): Buffer[] {
  const items: Buffer[] = [];
  let current: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const o = value[i]!;
    if (o === 0x5c) {
      const next = value[i + 1];
      if (next !== 0x2c && next !== 0x5c) {
        throw fail('ERR_SVCB_VALUE', `SvcParam ${name}: a backslash in a list may only escape "," or "\\"`);
      }
      current.push(next);
      i++;
    } else if (o === 0x2c) {
      items.push(Buffer.from(current));
      current = [];
    } else {
      current.push(o);
    }
  }
  items.push(Buffer.from(current));
  if (items.some((item) => item.length === 0))
    throw fail('ERR_SVCB_VALUE', `SvcParam ${name}: an empty list item`);
  return items;
}

/** RFC 4648 section 4 base64 with padding, nothing else. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * One SvcParam from its presentation key and value octets (`undefined` when there was no `=`).
 * `escaped` says whether the written value used an escape, which some keys forbid.
 */
function parseParam(name: string, value: Buffer | undefined, escaped: boolean): SvcParam {
  const code = keyCodeOf(name);
  if (code === undefined) {
    throw fail(
      'ERR_SVCB_SYNTAX',
      `${JSON.stringify(name)} is not a SvcParamKey: use a registered name or keyNNNNN`,
    );
  }
  const bad = (why: string): SvcbError => fail('ERR_SVCB_VALUE', `SvcParam ${name}: ${why}`);
  const known = KEY_NAMES.get(code);
  // keyNNNNN carries the wire value itself, even for a key with a name (`key1=\002h2`).
  if (known === undefined || name !== known)
    return decodeValue(code, value ?? Buffer.alloc(0), 'ERR_SVCB_VALUE');
  const text = (value ?? Buffer.alloc(0)).toString('latin1');
  if (known !== 'alpn' && escaped) throw bad('escape sequences are not allowed in this value');
  if (known === 'no-default-alpn') {
    if (text !== '') throw bad(`the value must be empty, got ${JSON.stringify(text)}`);
    return { key: known };
  }
  if (text === '') throw bad('needs a value');
  switch (known) {
    case 'mandatory': {
      const keys = text.split(',').map((item) => {
        const k = keyCodeOf(item);
        if (k === undefined) throw bad(`${JSON.stringify(item)} is not a SvcParamKey`);
        return k;
      });
      const sorted = [...keys].sort((a, b) => a - b);
      if (sorted.some((k, i) => i > 0 && k === sorted[i - 1])) {
        throw fail('ERR_SVCB_DUPLICATE_KEY', 'SvcParam mandatory lists a key twice');
      }
      return { key: known, keys: sorted };
    }
    case 'alpn':
      return { key: known, protocols: splitValueList(value!, name) };
    case 'port':
      if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 0xffff)
        throw bad(`${JSON.stringify(text)} is not a port number`);
      return { key: known, port: Number(text) };
    case 'ipv4hint':
    case 'ipv6hint': {
      const addresses = text.split(',');
      const valid = known === 'ipv4hint' ? isIPv4 : (a: string) => isIPv6(a) && !a.includes('%');
      const wrong = addresses.find((a) => !valid(a));
      if (wrong !== undefined) {
        throw bad(`${JSON.stringify(wrong)} is not an ${known === 'ipv4hint' ? 'IPv4' : 'IPv6'} address`);
      }
      // Through the wire form, so the text is canonical ("2001:DB8:0::1" becomes "2001:db8::1").
      return decodeValue(code, encodeValue({ key: known, addresses }), 'ERR_SVCB_VALUE');
    }
    case 'ech':
      if (!BASE64.test(text)) throw bad('the value must be base64 (RFC 4648 section 4)');
      return decodeValue(code, Buffer.from(text, 'base64'), 'ERR_SVCB_VALUE');
  }
}

/** The octets of RFC 3597 generic RDATA fields after `\#`. */
function parseGeneric(fields: string[]): Buffer {
  const [length, ...hex] = fields;
  if (length === undefined || !/^[0-9]{1,5}$/.test(length)) {
    throw fail('ERR_SVCB_SYNTAX', '"\\#" must be followed by the RDATA length in octets');
  }
  const digits = hex.join('');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits))
    throw fail('ERR_SVCB_SYNTAX', 'generic RDATA must be hexadecimal octets');
  const octets = Buffer.from(digits, 'hex');
  if (octets.length !== Number(length)) {
    throw fail('ERR_SVCB_SYNTAX', `generic RDATA says ${length} octets but holds ${octets.length}`);
  }
  return octets;
}

/**
 * Parses SVCB/HTTPS RDATA written in presentation format: `SvcPriority TargetName SvcParams...`
 * as in RFC 9460 section 2.1 (keys in any order; quoted or bare values; `(` `)` and `;` comments
 * as in a zone file), or RFC 3597 generic `\# <length> <hex>`. The result is sorted by key and
 * has been through the same checks as {@link decodeSvcb}.
 * @param options.origin the origin for a relative TargetName (absolute, e.g. `example.com.`);
 *   without it the TargetName must end in a dot.
 * @throws SvcbError `ERR_SVCB_SYNTAX`, `ERR_SVCB_VALUE`, `ERR_SVCB_DUPLICATE_KEY`,
 *   `ERR_SVCB_INCONSISTENT`, or `ERR_SVCB_MALFORMED` for generic RDATA that does not decode.
 */
export function parseSvcb(text: string, options: { origin?: string } = {}): SvcbRecord {
  let fields: string[];
  try {
    fields = splitFields(text);
  } catch (cause) {
    throw fail('ERR_SVCB_SYNTAX', (cause as Error).message, cause);
  }
  if (fields[0] === '\\#') return decodeSvcb(parseGeneric(fields.slice(1)));
  const [priorityText, targetText, ...paramFields] = fields;
  if (priorityText === undefined || targetText === undefined) {
    throw fail('ERR_SVCB_SYNTAX', 'SVCB RDATA needs at least a SvcPriority and a TargetName');
  }
  if (!/^[0-9]{1,5}$/.test(priorityText) || Number(priorityText) > 0xffff) {
    throw fail(
      'ERR_SVCB_SYNTAX',
      `SvcPriority ${JSON.stringify(priorityText)} is not a number from 0 to 65535`,
    );
  }
  // The canonical text of the TargetName is the one read back from its wire form.
  const target = nameFromWire(targetWire(targetText, options.origin), 0, Infinity).name;
  const params = paramFields.map((field) => {
    const eq = field.indexOf('=');
    const name = eq < 0 ? field : field.slice(0, eq);
    if (!/^[a-z0-9-]{1,63}$/.test(name)) {
      throw fail(
        'ERR_SVCB_SYNTAX',
        `${JSON.stringify(field)} is not a SvcParam (key=value, key in lower case)`,
      );
    }
    if (eq < 0) return parseParam(name, undefined, false);
    const raw = field.slice(eq + 1);
    let value: Buffer;
    try {
      value = decodeCharString(raw);
    } catch (cause) {
      if (cause instanceof DnsError)
        throw fail('ERR_SVCB_SYNTAX', `SvcParam ${name}: ${cause.message}`, cause);
      throw cause;
    }
    return parseParam(name, value, raw.includes('\\'));
  });
  const record: SvcbRecord = { priority: Number(priorityText), target, params };
  // One set of rules for both directions: what encodes is what decodes.
  return decodeSvcb(encodeSvcb(record));
}
