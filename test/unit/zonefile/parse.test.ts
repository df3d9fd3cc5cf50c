import { describe, expect, it } from 'vitest';
import {
  parseCharacterStrings,
  parseTtl,
  parseZone,
  parseZoneFile,
  txtValue,
  ZoneFileError,
} from '../../../src/backends/zonefile/parse.ts';
import type { ZoneRecord } from '../../../src/backends/zonefile/parse.ts';
import { ApexAliasError } from '../../../src/errors.ts';

const rr = (name: string, ttl: number, type: string, rdata: string): ZoneRecord => ({
  name,
  ttl,
  class: 'IN',
  type,
  rdata,
});

/** The error `fn` throws, asserted to be a ZoneFileError. */
function parseError(fn: () => unknown): ZoneFileError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ZoneFileError);
    return error as ZoneFileError;
  }
  throw new Error('expected a ZoneFileError');
}

describe('parseZoneFile', () => {
  it('reads $ORIGIN, $TTL, @, relative and absolute names', () => {
    const text = [
      '$TTL 300',
      '@ IN SOA ns1 hostmaster 1 3600 600 86400 60',
      '@ IN NS ns1.example.com.',
      'www IN A 192.0.2.1',
      'Mail.Example.COM. IN A 192.0.2.2',
      '$ORIGIN sub.example.com.',
      'deep IN A 192.0.2.3',
      '@ IN A 192.0.2.4',
    ].join('\n');
    expect(parseZoneFile(text, 'example.com')).toEqual([
      rr('example.com', 300, 'SOA', 'ns1.example.com. hostmaster.example.com. 1 3600 600 86400 60'),
      rr('example.com', 300, 'NS', 'ns1.example.com.'),
      rr('www.example.com', 300, 'A', '192.0.2.1'),
      rr('mail.example.com', 300, 'A', '192.0.2.2'),
      rr('deep.sub.example.com', 300, 'A', '192.0.2.3'),
      rr('sub.example.com', 300, 'A', '192.0.2.4'),
    ]);
  });

  it('accepts the origin with a trailing dot and in upper case', () => {
    expect(parseZoneFile('@ 60 IN A 192.0.2.1', 'EXAMPLE.com.')).toEqual([
      rr('example.com', 60, 'A', '192.0.2.1'),
    ]);
  });

  it('resolves a relative $ORIGIN against the current one', () => {
    const records = parseZoneFile('$ORIGIN sub\nx 60 A 192.0.2.1', 'example.com');
    expect(records[0]?.name).toBe('x.sub.example.com');
  });

  it('makes domain names inside RDATA absolute under the $ORIGIN in force', () => {
    const text = [
      '$TTL 60',
      '$ORIGIN sub.example.com.',
      'a CNAME target',
      'b MX 10 mail',
      'c SRV 0 5 443 @',
      'd NS ns.other.net.',
      'e TXT target',
    ].join('\n');
    expect(parseZoneFile(text, 'example.com').map((r) => r.rdata)).toEqual([
      'target.sub.example.com.',
      '10 mail.sub.example.com.',
      '0 5 443 sub.example.com.',
      'ns.other.net.',
      'target',
    ]);
  });

  it('strips comments outside quotes and keeps ";" inside them', () => {
    const text =
      '$TTL 60 ; default\n; a whole-line comment\nwww TXT "a;b" ; trailing\n   ; indented comment\n';
    expect(parseZoneFile(text, 'example.com')).toEqual([rr('www.example.com', 60, 'TXT', '"a;b"')]);
  });

  it('joins lines inside parentheses and normalises white space', () => {
    const text = [
      '@ 3600 IN SOA ns1.example.com. hostmaster.example.com. (',
      '        2024010101 ; serial',
      '        3600       ; refresh',
      '        600 86400',
      '        60 )',
      'www\t60\tIN\tA\t192.0.2.1',
    ].join('\n');
    expect(parseZoneFile(text, 'example.com')).toEqual([
      rr('example.com', 3600, 'SOA', 'ns1.example.com. hostmaster.example.com. 2024010101 3600 600 86400 60'),
      rr('www.example.com', 60, 'A', '192.0.2.1'),
    ]);
  });

  it('keeps quoted strings with escapes, parentheses and semicolons as written', () => {
    const text = 'txt 60 TXT "say \\"hi\\" (now)" "back\\\\slash" plain\\032word';
    const [record] = parseZoneFile(text, 'example.com');
    expect(record?.rdata).toBe('"say \\"hi\\" (now)" "back\\\\slash" plain\\032word');
    expect(parseCharacterStrings(record?.rdata ?? '')).toEqual([
      'say "hi" (now)',
      'back\\slash',
      'plain word',
    ]);
  });

  it('passes \\DDD escapes through in names and RDATA', () => {
    const [record] = parseZoneFile('a\\046b 60 TXT \\065\\066C', 'example.com');
    expect(record).toEqual(rr('a\\046b.example.com', 60, 'TXT', '\\065\\066C'));
    expect(txtValue(record?.rdata ?? '')).toBe('ABC');
  });

  it('gives a record without an owner the previous owner', () => {
    const text = 'www 60 IN A 192.0.2.1\n    60 IN AAAA 2001:db8::1\n\tIN TXT "x"';
    expect(parseZoneFile(text, 'example.com').map((r) => r.name)).toEqual([
      'www.example.com',
      'www.example.com',
      'www.example.com',
    ]);
  });

  it('keeps the previous owner across an owner-less line after parentheses', () => {
    const text = 'www 60 TXT ( "a"\n "b" )\n 60 A 192.0.2.1';
    expect(parseZoneFile(text, 'example.com')).toEqual([
      rr('www.example.com', 60, 'TXT', '"a" "b"'),
      rr('www.example.com', 60, 'A', '192.0.2.1'),
    ]);
  });

  it('accepts TTL and class omitted or in either order', () => {
    const text = [
      '$TTL 120',
      'a 60 IN A 192.0.2.1',
      'b IN 61 A 192.0.2.2',
      'c IN A 192.0.2.3',
      'd 62 A 192.0.2.4',
      'e A 192.0.2.5',
    ].join('\n');
    expect(parseZoneFile(text, 'example.com').map((r) => [r.name, r.ttl])).toEqual([
      ['a.example.com', 60],
      ['b.example.com', 61],
      ['c.example.com', 120],
      ['d.example.com', 62],
      ['e.example.com', 120],
    ]);
  });

  it('reads TTL units', () => {
    expect(parseTtl('1h30m')).toBe(5400);
    expect(parseTtl('1W2d')).toBe(7 * 86400 + 2 * 86400);
    expect(parseTtl('90s')).toBe(90);
    expect(parseTtl('3600')).toBe(3600);
    expect(parseTtl('1h5')).toBe(3605);
    expect(parseTtl('h1')).toBeUndefined();
    expect(parseTtl('2147483648')).toBeUndefined();
    expect(
      parseZoneFile('$TTL 1d\nwww 1h30m IN A 192.0.2.1\nx A 192.0.2.2', 'example.com').map((r) => r.ttl),
    ).toEqual([5400, 86400]);
  });

  it('without $TTL uses the last TTL written, starting from the SOA MINIMUM', () => {
    const text =
      '@ IN SOA ns1 hostmaster 1 3600 600 86400 1m\nwww A 192.0.2.1\nx 30 A 192.0.2.2\ny A 192.0.2.3';
    expect(parseZoneFile(text, 'example.com').map((r) => r.ttl)).toEqual([60, 60, 30, 30]);
  });

  it('reports the first $TTL for rewriting', () => {
    expect(parseZone('$TTL 300\n$TTL 60\nwww A 192.0.2.1', 'example.com')).toEqual({
      records: [rr('www.example.com', 60, 'A', '192.0.2.1')],
      defaultTtl: 300,
    });
    expect(parseZone('www 5 A 192.0.2.1', 'example.com').defaultTtl).toBeUndefined();
  });

  it('upper-cases types and keeps unknown ones as written', () => {
    const records = parseZoneFile(
      'www 60 in txt "x"\nwww 60 TYPE65534 \\# 2 abcd\nwww 60 class1 a 192.0.2.1',
      'example.com',
    );
    expect(records.map((r) => [r.type, r.rdata])).toEqual([
      ['TXT', '"x"'],
      ['TYPE65534', '\\# 2 abcd'],
      ['A', '192.0.2.1'],
    ]);
  });

  it('accepts CRLF line ends', () => {
    expect(parseZoneFile('$TTL 60\r\nwww A 192.0.2.1\r\n', 'example.com')).toEqual([
      rr('www.example.com', 60, 'A', '192.0.2.1'),
    ]);
  });

  it('accepts an empty file and one with comments only', () => {
    expect(parseZoneFile('', 'example.com')).toEqual([]);
    expect(parseZoneFile('; nothing\n\n   \n', 'example.com')).toEqual([]);
  });
});

describe('parseZoneFile errors', () => {
  it('refuses $INCLUDE with a clear message and the line number', () => {
    const error = parseError(() =>
      parseZoneFile('$TTL 60\n\n$INCLUDE other.zone\n', 'example.com', { file: 'z.zone' }),
    );
    expect(error.code).toBe('ERR_ZONEFILE_PARSE');
    expect(error).toBeInstanceOf(ApexAliasError);
    expect(error.line).toBe(3);
    expect(error.message).toBe(
      'z.zone:3: $INCLUDE is not supported: apexalias rewrites this file and keeps every record in it',
    );
  });

  it.each([
    ['$GENERATE 1-2 h$ A 192.0.2.$', 1, /\$GENERATE is not supported/],
    ['$FOO bar', 1, /unknown directive \$FOO/],
    ['$ORIGIN', 1, /\$ORIGIN takes exactly one domain name/],
    ['$TTL soon', 1, /invalid \$TTL "soon"/],
    ['$TTL 60\n  A 192.0.2.1', 2, /first record must name its owner/],
    ['$TTL 60\nwww 60 CH A 192.0.2.1', 2, /class CH is not supported/],
    ['$TTL 60\nwww 60 IN IN A 192.0.2.1', 2, /class is given twice/],
    ['$TTL 60\nwww 60 30 A 192.0.2.1', 2, /TTL is given twice/],
    ['$TTL 60\nwww 5x A 192.0.2.1', 2, /invalid TTL "5x"/],
    ['$TTL 60\nwww 60 IN', 2, /has no type/],
    ['$TTL 60\nwww 60 IN A', 2, /has no RDATA/],
    ['$TTL 60\nwww 60 IN A 192.0.2.300', 2, /invalid IPv4 address/],
    ['$TTL 60\nwww 60 IN AAAA 2001:db8::g', 2, /invalid IPv6 address/],
    ['$TTL 60\nwww CNAME a b', 2, /needs 1 RDATA field/],
    ['$TTL 60\n@ SOA ns1 hostmaster 1 2 3', 2, /needs 7 RDATA field/],
    ['$TTL 60\nwww 60 IN A (\n192.0.2.1\n', 2, /"\(" is never closed/],
    ['$TTL 60\n\nwww 60 IN A 192.0.2.1 )', 3, /"\)" without a matching "\("/],
    ['$TTL 60\nwww TXT "open\n"', 2, /quoted string is not closed/],
    ['$TTL 60\nwww 60 TXT ( ( "x" ) )', 2, /nested "\("/],
    ['www A 192.0.2.1', 1, /no TTL and no \$TTL/],
    ['$TTL 60\na..b A 192.0.2.1', 2, /empty label/],
    [`$TTL 60\n${'x'.repeat(64)} A 192.0.2.1`, 2, /longer than 63 octets/],
    ['$TTL 60\n"www" A 192.0.2.1', 2, /cannot be quoted/],
    ['$TTL 60\nwww 60 "A" 192.0.2.1', 2, /invalid record type/],
  ])('%j fails at line %i', (text, line, message) => {
    const error = parseError(() => parseZoneFile(text, 'example.com'));
    expect(error.line).toBe(line);
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(`zone file:${line}: `)).toBe(true);
  });

  it('points at the line where a multi-line entry starts', () => {
    const text = '$TTL 60\n\nwww 60 IN SOA ( a b\n 1 2 3\n 4 )\n';
    expect(parseError(() => parseZoneFile(text, 'example.com')).line).toBe(3);
  });
});

describe('character-strings', () => {
  it('decodes quoted and unquoted strings with escapes', () => {
    expect(parseCharacterStrings('"a b" c "\\"q\\"" \\065')).toEqual(['a b', 'c', '"q"', 'A']);
  });

  it('joins the octets of one record before decoding UTF-8', () => {
    // "é" is 0xC3 0xA9, split across two character-strings.
    expect(txtValue('"caf\\195" "\\169"')).toBe('café');
  });
});
