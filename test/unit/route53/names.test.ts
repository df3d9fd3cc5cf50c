import { describe, expect, it } from 'vitest';
import {
  compareNames,
  definitelyAfter,
  definitelyBefore,
  definitelyNotAfter,
  fromApiName,
  quoteTxt,
  toApiName,
  unquoteTxt,
} from '../../../src/backends/route53/names.ts';

describe('Route 53 names', () => {
  it('decodes the octal escapes, the case and the trailing dot of a name from the API', () => {
    expect(fromApiName('\\052.Example.COM.')).toBe('*.example.com');
    expect(fromApiName('_apexalias.www.example.com.')).toBe('_apexalias.www.example.com');
    expect(fromApiName('a\\100b.example.com')).toBe('a@b.example.com');
  });

  it('writes names absolute, escaping only what Route 53 requires', () => {
    expect(toApiName('www.example.com')).toBe('www.example.com.');
    expect(toApiName('_apexalias.example.com.')).toBe('_apexalias.example.com.');
    expect(toApiName('a b.example.com')).toBe('a\\040b.example.com.');
  });

  it('sorts names with the labels reversed, as ListResourceRecordSets does', () => {
    const names = [
      'b.example.com',
      '_apexalias.a.example.com',
      'example.com',
      'a.example.com',
      'a.b.example.com',
    ];
    expect([...names].sort(compareNames)).toEqual([
      'example.com',
      'a.example.com',
      '_apexalias.a.example.com',
      'b.example.com',
      'a.b.example.com',
    ]);
  });

  it('trusts a boundary only where the documented order and the order without the trailing dot agree', () => {
    // With the trailing dot "a1-b" sorts before "a1" ('-' < '.'); without it, after.
    expect(definitelyAfter('a1-b.example.com.', 'a1.example.com')).toBe(false);
    expect(definitelyBefore('a1-b.example.com.', 'a1.example.com')).toBe(false);
    expect(definitelyAfter('a2.example.com.', 'a1.example.com')).toBe(true);
    expect(definitelyBefore('a0.example.com.', 'a1.example.com')).toBe(true);
    expect(definitelyNotAfter('a1.example.com', '_apexalias.a1.example.com')).toBe(true);
    expect(definitelyNotAfter('a1.example.com', 'a1-b.example.com')).toBe(false);
  });

  it('also compares an escaped name both as written and decoded', () => {
    // "*" (0x2a) decoded sorts before digits; "\052" as written ('\' 0x5c) after them.
    expect(definitelyAfter('\\052.example.com.', '5.example.com')).toBe(false);
    expect(definitelyBefore('\\052.example.com.', '5.example.com')).toBe(false);
    expect(definitelyAfter('\\052.example.com.', '_apexalias.example.com')).toBe(false);
    expect(definitelyBefore('\\052.example.com.', 'a.example.com')).toBe(true);
  });
});

describe('Route 53 TXT values', () => {
  it('quotes a marker, escaping quotes and backslashes, and reads it back', () => {
    const marker = 'heritage=apexalias,owner=o,resource=ns/name';
    expect(quoteTxt(marker)).toBe(`"${marker}"`);
    expect(quoteTxt('say "hi" \\ bye')).toBe('"say \\"hi\\" \\\\ bye"');
    expect(unquoteTxt(quoteTxt('say "hi" \\ bye'))).toBe('say "hi" \\ bye');
  });

  it('splits a value longer than 255 octets into several strings and joins them back', () => {
    const long = 'x'.repeat(300);
    expect(quoteTxt(long)).toBe(`"${'x'.repeat(255)}" "${'x'.repeat(45)}"`);
    expect(unquoteTxt(quoteTxt(long))).toBe(long);
  });

  it('reads octal escapes, unquoted values and several strings', () => {
    expect(unquoteTxt('"caf\\303\\251"')).toBe('café');
    expect(unquoteTxt('bare')).toBe('bare');
    expect(unquoteTxt('"a" "b"')).toBe('ab');
    expect(quoteTxt('')).toBe('""');
  });
});
