import { describe, expect, it } from 'vitest';
import { canonicalIp, isHostname, isIP, isZoneName, parseIp } from '../../../src/api/index.ts';

describe('isIP (the apiserver CEL isIP, from Go netip.ParseAddr)', () => {
  it.each([
    '192.0.2.1',
    '0.0.0.0',
    '255.255.255.255',
    '::',
    '::1',
    '1::',
    '2001:db8::1',
    '2001:DB8::A',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:1.2.3.4',
    '::192.0.2.1',
    '0001:0002::',
  ])('accepts %s', (text) => {
    expect(isIP(text)).toBe(true);
  });

  it.each([
    '',
    'x',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.04',
    '1.2.3.4 ',
    '1..2.3',
    '192.0.2.0/24',
    '::ffff:192.0.2.1',
    '::ffff:c000:201',
    '0:0:0:0:0:ffff:1.2.3.4',
    'fe80::1%eth0',
    'fe80::1%',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7::8',
    '1::2::3',
    ':1::',
    '12345::',
    '1:2:3:4:5:6:7:1.2.3.4',
    '::0:0:0:0:0:0:0:0',
    '[::1]',
  ])('rejects %j', (text) => {
    expect(isIP(text)).toBe(false);
  });

  it('keeps the zone when parsing', () => {
    expect(parseIp('fe80::1%eth0')).toMatchObject({ family: 6, zone: 'eth0' });
  });

  it.each([
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
    ['::192.0.2.1', '::c000:201'],
    ['192.0.2.1', '192.0.2.1'],
  ])('canonicalIp(%s) = %s', (text, canonical) => {
    expect(canonicalIp(text)).toBe(canonical);
  });
});

describe('DNS names', () => {
  it.each([
    'example.com',
    'example.com.',
    'test',
    'xn--p1ai',
    '2.0.192.in-addr.arpa',
    `${'a'.repeat(63)}.com`,
  ])('zone %s is valid', (name) => expect(isZoneName(name)).toBe(true));
  it.each([
    '',
    '.',
    'Example.com',
    'a_b.com',
    '192.0.2.1',
    'a..com',
    '-a.com',
    `${'a'.repeat(64)}.com`,
    'com.1',
  ])('zone %j is invalid', (name) => expect(isZoneName(name)).toBe(false));
  it('limits a name to 253 characters without the trailing dot', () => {
    const name = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;
    expect(name.length).toBe(253);
    expect(isZoneName(name)).toBe(true);
    expect(isZoneName(`${name}.`)).toBe(true);
    expect(isZoneName(`x${name}`)).toBe(false);
  });
  it('wants two labels for a hostname', () => {
    expect(isHostname('lb.demo.test')).toBe(true);
    expect(isHostname('localhost')).toBe(false);
  });
});
