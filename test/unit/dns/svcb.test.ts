import { describe, expect, it } from 'vitest';
import { DnsError, SvcbError } from '../../../src/dns/errors.ts';
import {
  decodeSvcb,
  encodeAliasMode,
  encodeSvcb,
  formatGenericRdata,
  formatSvcb,
  parseSvcb,
} from '../../../src/dns/svcb.ts';
import type { SvcbRecord } from '../../../src/dns/svcb.ts';

/** The RFC writes its wire vectors as strings with \xNN escapes; latin1 keeps every octet. */
const octets = (...parts: string[]): Buffer => Buffer.from(parts.join(''), 'latin1');

interface Vector {
  title: string;
  /** Every presentation form the RFC gives, RDATA only (what follows the type). */
  presentation: string[];
  /** The RFC's RFC 3597 generic form, comments included. */
  generic: string;
  /** The RFC's wire format. */
  wire: Buffer;
  /** What formatSvcb prints for the wire form: keys sorted, IPv6 in RFC 5952 text. */
  canonical: string;
}

/** RFC 9460 Appendix D.1 and D.2, every vector, transcribed from the RFC. */
const VECTORS: Vector[] = [
  {
    title: 'D.1 AliasMode',
    presentation: ['0 foo.example.com.'],
    generic: `\\# 19 (
      00 00                                              ; priority
      03 66 6f 6f 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 ; target
      )`,
    wire: octets('\x00\x00', '\x03foo\x07example\x03com\x00'),
    canonical: '0 foo.example.com.',
  },
  {
    title: 'D.2 TargetName is "."',
    presentation: ['1 .'],
    generic: `\\# 3 (
      00 01      ; priority
      00         ; target (root label)
      )`,
    wire: octets('\x00\x01', '\x00'),
    canonical: '1 .',
  },
  {
    title: 'D.2 Specifies a port',
    presentation: ['16 foo.example.com. port=53'],
    generic: `\\# 25 (
      00 10                                              ; priority
      03 66 6f 6f 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 ; target
      00 03                                              ; key 3
      00 02                                              ; length 2
      00 35                                              ; value
      )`,
    wire: octets('\x00\x10', '\x03foo\x07example\x03com\x00', '\x00\x03', '\x00\x02', '\x00\x35'),
    canonical: '16 foo.example.com. port=53',
  },
  {
    title: 'D.2 A generic key and unquoted value',
    presentation: ['1 foo.example.com. key667=hello'],
    generic: `\\# 28 (
      00 01                                              ; priority
      03 66 6f 6f 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 ; target
      02 9b                                              ; key 667
      00 05                                              ; length 5
      68 65 6c 6c 6f                                     ; value
      )`,
    wire: octets('\x00\x01', '\x03foo\x07example\x03com\x00', '\x02\x9b', '\x00\x05', 'hello'),
    canonical: '1 foo.example.com. key667=hello',
  },
  {
    title: 'D.2 A generic key and quoted value with a decimal escape',
    presentation: ['1 foo.example.com. key667="hello\\210qoo"'],
    generic: `\\# 32 (
      00 01                                              ; priority
      03 66 6f 6f 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 ; target
      02 9b                                              ; key 667
      00 09                                              ; length 9
      68 65 6c 6c 6f d2 71 6f 6f                         ; value
      )`,
    wire: octets('\x00\x01', '\x03foo\x07example\x03com\x00', '\x02\x9b', '\x00\x09', 'hello\xd2qoo'),
    canonical: '1 foo.example.com. key667="hello\\210qoo"',
  },
  {
    title: 'D.2 Two quoted IPv6 hints',
    presentation: [
      `1 foo.example.com. (
                          ipv6hint="2001:db8::1,2001:db8::53:1"
                          )`,
    ],
    generic: `\\# 55 (
      00 01                                              ; priority
      03 66 6f 6f 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 ; target
      00 06                                              ; key 6
      00 20                                              ; length 32
      20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01    ; first address
      20 01 0d b8 00 00 00 00 00 00 00 00 00 53 00 01    ; second address
      )`,
    wire: octets(
      '\x00\x01',
      '\x03foo\x07example\x03com\x00',
      '\x00\x06',
      '\x00\x20',
      '\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01',
      '\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x53\x00\x01',
    ),
    canonical: '1 foo.example.com. ipv6hint=2001:db8::1,2001:db8::53:1',
  },
  {
    title: 'D.2 An IPv6 hint using the embedded IPv4 syntax',
    presentation: ['1 example.com. ipv6hint="2001:db8:122:344::192.0.2.33"'],
    generic: `\\# 35 (
      00 01                                              ; priority
      07 65 78 61 6d 70 6c 65 03 63 6f 6d 00             ; target
      00 06                                              ; key 6
      00 10                                              ; length 16
      20 01 0d b8 01 22 03 44 00 00 00 00 c0 00 02 21    ; address
      )`,
    wire: octets(
      '\x00\x01',
      '\x07example\x03com\x00',
      '\x00\x06',
      '\x00\x10',
      '\x20\x01\x0d\xb8\x01\x22\x03\x44\x00\x00\x00\x00\xc0\x00\x02\x21',
    ),
    // RFC 5952 keeps the embedded-IPv4 notation for well-known prefixes only.
    canonical: '1 example.com. ipv6hint=2001:db8:122:344::c000:221',
  },
  {
    title: 'D.2 SvcParamKey ordering is arbitrary in presentation format but sorted in wire format',
    presentation: [
      `16 foo.example.org. (
                          alpn=h2,h3-19 mandatory=ipv4hint,alpn
                          ipv4hint=192.0.2.1
                          )`,
    ],
    generic: `\\# 48 (
      00 10                                              ; priority
      03 66 6f 6f 07 65 78 61 6d 70 6c 65 03 6f 72 67 00 ; target
      00 00                                              ; key 0
      00 04                                              ; param length 4
      00 01                                              ; value: key 1
      00 04                                              ; value: key 4
      00 01                                              ; key 1
      00 09                                              ; param length 9
      02                                                 ; alpn length 2
      68 32                                              ; alpn value
      05                                                 ; alpn length 5
      68 33 2d 31 39                                     ; alpn value
      00 04                                              ; key 4
      00 04                                              ; param length 4
      c0 00 02 01                                        ; param value
      )`,
    wire: octets(
      '\x00\x10',
      '\x03foo\x07example\x03org\x00',
      '\x00\x00',
      '\x00\x04',
      '\x00\x01',
      '\x00\x04',
      '\x00\x01',
      '\x00\x09',
      '\x02',
      'h2',
      '\x05',
      'h3-19',
      '\x00\x04',
      '\x00\x04',
      '\xc0\x00\x02\x01',
    ),
    canonical: '16 foo.example.org. mandatory=alpn,ipv4hint alpn=h2,h3-19 ipv4hint=192.0.2.1',
  },
  {
    title: 'D.2 An alpn value with an escaped comma and an escaped backslash in two presentation formats',
    presentation: [
      '16 foo.example.org. alpn="f\\\\\\\\oo\\\\,bar,h2"',
      '16 foo.example.org. alpn=f\\\\\\092oo\\092,bar,h2',
    ],
    generic: `\\# 35 (
      00 10                                              ; priority
      03 66 6f 6f 07 65 78 61 6d 70 6c 65 03 6f 72 67 00 ; target
      00 01                                              ; key 1
      00 0c                                              ; param length 12
      08                                                 ; alpn length 8
      66 5c 6f 6f 2c 62 61 72                            ; alpn value
      02                                                 ; alpn length 2
      68 32                                              ; alpn value
      )`,
    wire: octets(
      '\x00\x10',
      '\x03foo\x07example\x03org\x00',
      '\x00\x01',
      '\x00\x0c',
      '\x08',
      'f\\oo,bar',
      '\x02',
      'h2',
    ),
    canonical: '16 foo.example.org. alpn="f\\\\\\\\oo\\\\,bar,h2"',
  },
];

describe('SVCB/HTTPS codec against RFC 9460 Appendix D', () => {
  describe.each(VECTORS)('$title', (v) => {
    it('the RFC generic form and wire form are the same octets', () => {
      expect(encodeSvcb(parseSvcb(v.generic))).toEqual(v.wire);
      expect(formatGenericRdata(v.wire)).toBe(`\\# ${v.wire.length} ${v.wire.toString('hex')}`);
    });

    it.each(v.presentation)('presentation -> wire: %s', (text) => {
      expect(encodeSvcb(parseSvcb(text)).toString('hex')).toBe(v.wire.toString('hex'));
    });

    it('wire -> presentation, and that text parses back to the same octets', () => {
      const decoded = decodeSvcb(v.wire);
      expect(formatSvcb(decoded)).toBe(v.canonical);
      expect(encodeSvcb(parseSvcb(v.canonical))).toEqual(v.wire);
      expect(encodeSvcb(decoded)).toEqual(v.wire);
    });
  });

  it('decodes the SvcParams to typed values', () => {
    const sorted = decodeSvcb(VECTORS[7]!.wire);
    expect(sorted).toEqual({
      priority: 16,
      target: 'foo.example.org.',
      params: [
        { key: 'mandatory', keys: [1, 4] },
        { key: 'alpn', protocols: [Buffer.from('h2'), Buffer.from('h3-19')] },
        { key: 'ipv4hint', addresses: ['192.0.2.1'] },
      ],
    } satisfies SvcbRecord);
    expect(decodeSvcb(VECTORS[8]!.wire).params).toEqual([
      { key: 'alpn', protocols: [Buffer.from('f\\oo,bar'), Buffer.from('h2')] },
    ]);
    expect(decodeSvcb(VECTORS[4]!.wire).params).toEqual([
      { key: 'unknown', code: 667, value: Buffer.from('hello\xd2qoo', 'latin1') },
    ]);
    expect(decodeSvcb(VECTORS[0]!.wire)).toEqual({ priority: 0, target: 'foo.example.com.', params: [] });
  });

  /** D.3: every failure vector must be refused, each for its own reason. */
  it.each([
    [
      'Multiple instances of the same SvcParamKey',
      '1 foo.example.com. ( key123=abc key123=def )',
      'ERR_SVCB_DUPLICATE_KEY',
    ],
    ['Missing SvcParamValue: mandatory', '1 foo.example.com. mandatory', 'ERR_SVCB_VALUE'],
    ['Missing SvcParamValue: alpn', '1 foo.example.com. alpn', 'ERR_SVCB_VALUE'],
    ['Missing SvcParamValue: port', '1 foo.example.com. port', 'ERR_SVCB_VALUE'],
    ['Missing SvcParamValue: ipv4hint', '1 foo.example.com. ipv4hint', 'ERR_SVCB_VALUE'],
    ['Missing SvcParamValue: ipv6hint', '1 foo.example.com. ipv6hint', 'ERR_SVCB_VALUE'],
    ['no-default-alpn must be empty', '1 foo.example.com. no-default-alpn=abc', 'ERR_SVCB_VALUE'],
    ['A mandatory SvcParam is missing', '1 foo.example.com. mandatory=key123', 'ERR_SVCB_INCONSISTENT'],
    ['mandatory must not list itself', '1 foo.example.com. mandatory=mandatory', 'ERR_SVCB_INCONSISTENT'],
    [
      'Multiple instances of the same SvcParamKey in the mandatory list',
      '1 foo.example.com. ( mandatory=key123,key123 key123=abc )',
      'ERR_SVCB_DUPLICATE_KEY',
    ],
  ])('D.3 %s is refused', (_title, text, code) => {
    expect(() => parseSvcb(text)).toThrow(SvcbError);
    expect(() => parseSvcb(text)).toThrow(expect.objectContaining({ code }));
  });
});

describe('SVCB wire decoding refuses what RFC 9460 section 2.2 calls malformed', () => {
  const head = '0001' + '03666f6f076578616d706c6503636f6d00'; // priority 1, foo.example.com.
  it.each([
    ['RDATA shorter than a priority and a name', '0001'],
    ['the RDATA ends within a SvcParam', head + '0003'],
    ['a value runs past the end', head + '000300040035'],
    ['keys out of order', head + '000300020035' + '00010003026832'],
    ['a key twice', head + '000300020035' + '000300020035'],
    ['a compressed TargetName', '0001' + 'c00c'],
    ['a TargetName without its root label', '0001' + '03666f6f'],
    ['an empty alpn', head + '00010000'],
    ['an alpn id running past its value', head + '00010002' + '0368'],
    ['a zero-length alpn id', head + '00010001' + '00'],
    ['no-default-alpn with a value', head + '00010003026832' + '00020001' + '61'],
    ['a 3-octet port', head + '00030003000035'],
    ['an ipv4hint of 3 octets', head + '00040003c00002'],
    ['an empty ipv6hint', head + '00060000'],
    ['an ech without its length prefix', head + '00050003' + '010203'],
    ['mandatory of an odd length', head + '00000003000100' + '00010003026832'],
    ['mandatory out of order', head + '000000040004' + '0001' + '00010003026832' + '00040004c0000201'],
    ['key 65535', head + 'ffff0000'],
  ])('%s', (_title, hex) => {
    expect(() => decodeSvcb(Buffer.from(hex, 'hex'))).toThrow(
      expect.objectContaining({ code: 'ERR_SVCB_MALFORMED' }),
    );
  });

  it('refuses a ServiceMode record that is not self-consistent, but keeps AliasMode SvcParams as they are', () => {
    const noAlpn = '0001' + '03666f6f076578616d706c6503636f6d00' + '00020000';
    expect(() => decodeSvcb(Buffer.from(noAlpn, 'hex'))).toThrow(
      expect.objectContaining({ code: 'ERR_SVCB_INCONSISTENT' }),
    );
    const missing = '0001' + '03666f6f076578616d706c6503636f6d00' + '000000020003';
    expect(() => decodeSvcb(Buffer.from(missing, 'hex'))).toThrow(
      expect.objectContaining({ code: 'ERR_SVCB_INCONSISTENT' }),
    );
    // RFC 9460 section 2.4.2: recipients ignore AliasMode SvcParams; a reader must still see them.
    expect(decodeSvcb(Buffer.from('0000' + '00' + '00020000', 'hex'))).toEqual({
      priority: 0,
      target: '.',
      params: [{ key: 'no-default-alpn' }],
    });
  });
});

describe('encodeAliasMode', () => {
  it('writes SvcPriority 0 and the target, with or without its trailing dot', () => {
    const expected = Buffer.from('0000' + '0565646765310363646e076578616d706c65036e657400', 'hex');
    expect(encodeAliasMode('edge1.cdn.example.net')).toEqual(expected);
    expect(encodeAliasMode('edge1.cdn.example.net.')).toEqual(expected);
    expect(formatSvcb(decodeSvcb(expected))).toBe('0 edge1.cdn.example.net.');
  });

  it('refuses a name that is not one', () => {
    expect(() => encodeAliasMode('a..b')).toThrow(expect.objectContaining({ code: 'ERR_SVCB_SYNTAX' }));
    expect(() => encodeAliasMode(`${'x'.repeat(64)}.example`)).toThrow(
      expect.objectContaining({ code: 'ERR_SVCB_SYNTAX' }),
    );
  });
});

describe('SVCB presentation format', () => {
  it('round-trips every key, escapes special octets in names and values', () => {
    const record: SvcbRecord = {
      priority: 1,
      target: 'a\\.b.example.com.',
      params: [
        { key: 'mandatory', keys: [1, 3] },
        { key: 'alpn', protocols: [Buffer.from('h3'), Buffer.from('h2'), Buffer.from('x y"z')] },
        { key: 'no-default-alpn' },
        { key: 'port', port: 8443 },
        { key: 'ipv4hint', addresses: ['192.0.2.1', '198.51.100.7'] },
        { key: 'ech', config: Buffer.from('0004deadbeef', 'hex') },
        { key: 'ipv6hint', addresses: ['2001:db8::1'] },
        { key: 'unknown', code: 65280, value: Buffer.alloc(0) },
        { key: 'unknown', code: 65281, value: Buffer.from([0, 59, 40]) },
      ],
    };
    const text = formatSvcb(record);
    expect(text).toBe(
      '1 a\\.b.example.com. mandatory=alpn,port alpn="h3,h2,x y\\"z" no-default-alpn port=8443 ' +
        'ipv4hint=192.0.2.1,198.51.100.7 ech=AATerb7v ipv6hint=2001:db8::1 key65280 key65281="\\000;("',
    );
    const wire = encodeSvcb(record);
    expect(wire.subarray(2, 4)).toEqual(Buffer.from([3, 0x61])); // one label "a.b", escaped dot kept
    expect(parseSvcb(text)).toEqual(record);
    expect(decodeSvcb(wire)).toEqual(record);
  });

  it('reads keyNNNNN as the wire value of a named key, and names relative to an origin', () => {
    expect(parseSvcb('1 svc key1=\\002h2 key3=\\000\\053', { origin: 'example.com.' })).toEqual({
      priority: 1,
      target: 'svc.example.com.',
      params: [
        { key: 'alpn', protocols: [Buffer.from('h2')] },
        { key: 'port', port: 53 },
      ],
    });
    expect(parseSvcb('0 @', { origin: 'example.com.' }).target).toBe('example.com.');
    expect(parseSvcb('1 . ipv6hint=2001:DB8:0:0::1').params).toEqual([
      { key: 'ipv6hint', addresses: ['2001:db8::1'] },
    ]);
  });

  it.each([
    ['a relative TargetName without an origin', '0 foo.example.com', 'ERR_SVCB_SYNTAX'],
    ['no TargetName', '1', 'ERR_SVCB_SYNTAX'],
    ['a priority above 65535', '65536 .', 'ERR_SVCB_SYNTAX'],
    ['an unterminated quote', '1 . alpn="h2', 'ERR_SVCB_SYNTAX'],
    ['an unbalanced parenthesis', '1 . ( alpn=h2', 'ERR_SVCB_SYNTAX'],
    ['an upper-case key', '1 . ALPN=h2', 'ERR_SVCB_SYNTAX'],
    ['an unknown key name', '1 . colour=blue', 'ERR_SVCB_SYNTAX'],
    ['a key number with a leading zero', '1 . key0667=x', 'ERR_SVCB_SYNTAX'],
    ['a key number above 65535', '1 . key65536=x', 'ERR_SVCB_SYNTAX'],
    ['a bad decimal escape', '1 . key667=a\\256', 'ERR_SVCB_SYNTAX'],
    ['a port above 65535', '1 . port=65536', 'ERR_SVCB_VALUE'],
    ['an escape in port', '1 . port=\\053', 'ERR_SVCB_VALUE'],
    ['an IPv6 address in ipv4hint', '1 . ipv4hint=2001:db8::1', 'ERR_SVCB_VALUE'],
    ['an empty item in ipv4hint', '1 . ipv4hint=192.0.2.1,,192.0.2.2', 'ERR_SVCB_VALUE'],
    ['an empty alpn item', '1 . alpn=h2,,h3', 'ERR_SVCB_VALUE'],
    ['an alpn escape other than \\, and \\\\', '1 . alpn=h\\\\2', 'ERR_SVCB_VALUE'],
    ['ech that is not base64', '1 . ech=not*base64', 'ERR_SVCB_VALUE'],
    ['ech without its length prefix', '1 . ech=AQID', 'ERR_SVCB_VALUE'],
    ['key65535', '1 . key65535', 'ERR_SVCB_VALUE'],
    ['no-default-alpn without alpn', '1 . no-default-alpn', 'ERR_SVCB_INCONSISTENT'],
    ['alpn given twice, once by number', '1 . alpn=h2 key1=\\002h3', 'ERR_SVCB_DUPLICATE_KEY'],
    ['generic RDATA of the wrong length', '\\# 4 000100', 'ERR_SVCB_SYNTAX'],
    ['generic RDATA that does not decode', '\\# 4 00010003', 'ERR_SVCB_MALFORMED'],
  ])('refuses %s', (_title, text, code) => {
    let caught: unknown;
    try {
      parseSvcb(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SvcbError);
    expect(caught).toBeInstanceOf(DnsError);
    expect((caught as SvcbError).code).toBe(code);
  });

  it('refuses typed records that do not fit the wire', () => {
    expect(() => encodeSvcb({ priority: 70000, target: '.', params: [] })).toThrow(
      expect.objectContaining({ code: 'ERR_SVCB_VALUE' }),
    );
    expect(() =>
      encodeSvcb({
        priority: 1,
        target: '.',
        params: [{ key: 'alpn', protocols: [Buffer.alloc(256, 0x61)] }],
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_SVCB_VALUE' }));
    expect(() =>
      encodeSvcb({ priority: 1, target: '.', params: [{ key: 'unknown', code: 1, value: Buffer.alloc(0) }] }),
    ).toThrow(expect.objectContaining({ code: 'ERR_SVCB_VALUE' }));
    expect(() =>
      encodeSvcb({
        priority: 1,
        target: '.',
        params: [
          { key: 'port', port: 1 },
          { key: 'port', port: 2 },
        ],
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_SVCB_DUPLICATE_KEY' }));
  });
});
