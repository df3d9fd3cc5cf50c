import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.ts';
import {
  addressTypeOf,
  canonicalAddress,
  compareAddresses,
  familyOf,
  normalizeAddresses,
  sameAddresses,
  splitByType,
  tryCanonicalAddress,
} from '../../../src/plan/addresses.ts';

describe('canonicalAddress', () => {
  it.each([
    ['2001:DB8:0::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8::0:1', '2001:db8::1'],
    // RFC 5952 4.2.3: the longest zero run is compressed …
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    // … dns-packet compresses the first run instead; the same address must compare equal.
    ['2001::1:0:0:0:1', '2001:0:0:1::1'],
    // … and on a tie the first one.
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    // RFC 5952 4.2.2: a single zero group is not compressed.
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:db8::1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['FE80:0:0:0:0:0:0:0', 'fe80::'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    // RFC 5952 5: IPv4-mapped addresses in mixed notation.
    ['::FFFF:C000:0201', '::ffff:192.0.2.1'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    // Other embedded IPv4 forms are plain hex.
    ['::192.0.2.1', '::c000:201'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['192.0.2.1', '192.0.2.1'],
    ['0.0.0.0', '0.0.0.0'],
  ])('%s → %s', (input, expected) => {
    expect(canonicalAddress(input)).toBe(expected);
    expect(canonicalAddress(expected)).toBe(expected);
  });

  it.each([
    '300.1.1.1',
    '192.0.2.01',
    'fe80::1%eth0',
    'example.com',
    '',
    ' 192.0.2.1',
    '1:2:3:4:5:6:7:8:9',
    ':::',
  ])('refuses %j', (input) => {
    expect(tryCanonicalAddress(input)).toBeUndefined();
    expect(familyOf(input)).toBeUndefined();
    expect(() => canonicalAddress(input)).toThrow(ValidationError);
  });

  it('agrees with the WHATWG URL serializer (RFC 5952 as well) on random addresses', () => {
    let seed = 42;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    for (let i = 0; i < 5000; i++) {
      // Zero-heavy groups make compression runs of every length and position.
      const groups = Array.from({ length: 8 }, () => (next() % 3 === 0 ? next() & 0xffff : 0));
      if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) continue; // mapped: mixed notation
      const padded = groups.map((g) => g.toString(16).toUpperCase().padStart(4, '0')).join(':');
      const expected = new URL(`http://[${padded}]/`).hostname.slice(1, -1);
      expect(canonicalAddress(padded)).toBe(expected);
    }
  });
});

describe('address families', () => {
  it.each([
    ['192.0.2.1', 'IPv4', 'A'],
    ['2001:db8::1', 'IPv6', 'AAAA'],
    ['::ffff:192.0.2.1', 'IPv6', 'AAAA'],
  ])('%s is %s, carried by %s', (address, family, type) => {
    expect(familyOf(address)).toBe(family);
    expect(addressTypeOf(address)).toBe(type);
  });
});

describe('normalizeAddresses', () => {
  it('sorts numerically, IPv4 first, without duplicates', () => {
    expect(
      normalizeAddresses([
        '2001:db8::10',
        '192.0.2.10',
        '2001:DB8::9',
        '192.0.2.9',
        '10.0.0.1',
        '2001:db8::9',
      ]),
    ).toEqual(['10.0.0.1', '192.0.2.9', '192.0.2.10', '2001:db8::9', '2001:db8::10']);
  });

  it('keeps text that is not an address, last, so a zone holding junk compares unequal', () => {
    expect(normalizeAddresses(['Junk', '192.0.2.1'])).toEqual(['192.0.2.1', 'junk']);
    expect(compareAddresses('a', 'b')).toBeLessThan(0);
  });
});

describe('splitByType', () => {
  it('splits a mixed fallback list into canonical per-type lists', () => {
    expect(splitByType(['2001:DB8::2', '198.51.100.7', '2001:db8:0::1', '192.0.2.1', 'not-an-ip'])).toEqual({
      A: ['192.0.2.1', '198.51.100.7'],
      AAAA: ['2001:db8::1', '2001:db8::2'],
    });
  });

  it('gives empty lists for an empty fallback', () => {
    expect(splitByType([])).toEqual({ A: [], AAAA: [] });
  });
});

describe('sameAddresses', () => {
  it.each<[string, string[], string[], boolean]>([
    ['order does not matter', ['192.0.2.2', '192.0.2.1'], ['192.0.2.1', '192.0.2.2'], true],
    ['duplicates do not matter', ['192.0.2.1', '192.0.2.1'], ['192.0.2.1'], true],
    ['IPv6 spelling does not matter', ['2001:DB8:0:0::1'], ['2001:db8::1'], true],
    ['dns-packet spelling equals RFC 5952', ['2001::1:0:0:0:1'], ['2001:0:0:1::1'], true],
    ['an extra address matters', ['192.0.2.1'], ['192.0.2.1', '192.0.2.2'], false],
    ['another address matters', ['192.0.2.1'], ['192.0.2.2'], false],
    ['empty equals empty', [], [], true],
  ])('%s', (_name, a, b, expected) => {
    expect(sameAddresses(a, b)).toBe(expected);
    expect(sameAddresses(b, a)).toBe(expected);
  });
});
