import { describe, expect, it } from 'vitest';
import { dateSerial, nextSerial, serialGreater } from '../../../src/backends/zonefile/serial.ts';

const NOW = new Date('2025-11-25T23:59:59Z');

describe('SOA serial', () => {
  it('compares with RFC 1982 arithmetic', () => {
    expect(serialGreater(2, 1)).toBe(true);
    expect(serialGreater(1, 2)).toBe(false);
    expect(serialGreater(1, 1)).toBe(false);
    expect(serialGreater(0, 4294967295)).toBe(true);
    expect(serialGreater(2 ** 31 - 1, 0)).toBe(true);
    // Exactly half the space apart is undefined in RFC 1982: never "greater".
    expect(serialGreater(2 ** 31, 0)).toBe(false);
  });

  it('uses the UTC date', () => {
    expect(dateSerial(NOW)).toBe(2025112500);
    expect(dateSerial(new Date('2026-01-01T00:00:00+01:00'))).toBe(2025123100);
  });

  it('jumps to YYYYMMDD00 when the current serial is below today', () => {
    expect(nextSerial(0, NOW)).toBe(2025112500);
    expect(nextSerial(1, NOW)).toBe(2025112500);
    expect(nextSerial(2024010101, NOW)).toBe(2025112500);
    expect(nextSerial(2025112499, NOW)).toBe(2025112500);
  });

  it('adds one when today is not greater', () => {
    expect(nextSerial(2025112500, NOW)).toBe(2025112501);
    expect(nextSerial(2025112599, NOW)).toBe(2025112600);
    expect(nextSerial(2030010100, NOW)).toBe(2030010101);
    // Numerically below today but RFC 1982-greater than it: counting on is the only safe step.
    expect(nextSerial(4000000000, NOW)).toBe(4000000001);
    // The farthest serial from which today's date serial is not greater.
    expect(nextSerial(2025112500 + 2 ** 31, NOW)).toBe(2025112501 + 2 ** 31);
  });

  it('wraps modulo 2^32', () => {
    // After the largest serial, today's date serial is RFC 1982-greater again.
    expect(nextSerial(4294967295, NOW)).toBe(2025112500);
  });
});
