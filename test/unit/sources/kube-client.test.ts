import { describe, expect, it } from 'vitest';
import { eventName } from '../../../src/sources/kube-client.ts';

describe('Event names', () => {
  it('regression: an alias named with 253 characters still gets Events whose names are valid (at most 253)', () => {
    const long = `${'a'.repeat(120)}.${'b'.repeat(60)}-${'c'.repeat(71)}`;
    expect(long.length).toBe(253);
    const name = eventName(long, 1_764_676_800_000, 'abc123');
    expect(name.length).toBeLessThanOrEqual(253);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    expect(name.endsWith('.19adeef0e00abc123')).toBe(true);
  });

  it('keeps a short name whole, as client-go does', () => {
    expect(eventName('apex', 0x10, 'ffffff')).toBe('apex.10ffffff');
  });
});
