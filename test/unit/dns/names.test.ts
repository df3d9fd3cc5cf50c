import { describe, expect, it } from 'vitest';
import { encodeName, isSubdomain, normalizeName, tryNormalizeName } from '../../../src/dns/names.ts';
import { DnsError } from '../../../src/dns/errors.ts';

describe('normalizeName', () => {
  it('lower-cases ASCII and strips one trailing dot', () => {
    expect(normalizeName('WWW.Example.COM.')).toBe('www.example.com');
    expect(normalizeName('www.example.com')).toBe('www.example.com');
  });

  it('maps both spellings of the root to the empty string', () => {
    expect(normalizeName('')).toBe('');
    expect(normalizeName('.')).toBe('');
  });

  it('folds only ASCII letters, leaving other octets as they are', () => {
    expect(normalizeName('ÄB.example')).toBe('Äb.example');
  });

  it.each([
    ['empty label inside', 'a..b'],
    ['leading dot', '.example.com'],
    ['two trailing dots', 'example.com..'],
    ['label over 63 octets', `${'a'.repeat(64)}.com`],
    ['label over 63 octets in UTF-8', `${'é'.repeat(32)}.com`],
    ['name over 253 octets', Array.from({ length: 4 }, () => 'a'.repeat(63)).join('.') + '.a'],
  ])('rejects %s', (_why, name) => {
    expect(() => normalizeName(name)).toThrow(DnsError);
    try {
      normalizeName(name);
    } catch (err) {
      expect((err as DnsError).code).toBe('ERR_DNS_NAME');
    }
  });

  it('accepts the longest legal label and name', () => {
    const label = 'a'.repeat(63);
    expect(normalizeName(`${label}.com`)).toBe(`${label}.com`);
    const longest = [label, label, label, 'a'.repeat(61)].join('.');
    expect(longest.length).toBe(253);
    expect(normalizeName(`${longest}.`)).toBe(longest);
  });
});

describe('encodeName', () => {
  it('writes length-prefixed labels and the root label, uncompressed, case kept', () => {
    expect(encodeName('Example.com.').toString('hex')).toBe('07' + '4578616d706c65' + '03' + '636f6d' + '00');
  });

  it('writes the root as a single zero octet', () => {
    expect(encodeName('').toString('hex')).toBe('00');
    expect(encodeName('.').toString('hex')).toBe('00');
  });

  it('makes a 255-octet wire name from a 253-octet text name', () => {
    const label = 'a'.repeat(63);
    expect(encodeName([label, label, label, 'a'.repeat(61)].join('.')).length).toBe(255);
  });
});

describe('isSubdomain', () => {
  it.each([
    ['example.com', 'example.com', true],
    ['www.example.com', 'example.com', true],
    ['a.b.Example.COM.', 'example.com.', true],
    ['badexample.com', 'example.com', false],
    ['example.com', 'www.example.com', false],
    ['com', 'example.com', false],
    ['anything.at.all', '', true],
    ['', '.', true],
  ])('%s in %s is %s', (name, zone, expected) => {
    expect(isSubdomain(name, zone)).toBe(expected);
  });
});

describe('tryNormalizeName', () => {
  it('is normalizeName for a valid name and undefined where that would throw', () => {
    expect(tryNormalizeName('WWW.Example.COM.')).toBe('www.example.com');
    expect(tryNormalizeName('a..b')).toBeUndefined();
    expect(tryNormalizeName(`${'a'.repeat(64)}.com`)).toBeUndefined();
  });
});
