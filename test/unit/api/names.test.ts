import { describe, expect, it } from 'vitest';
import { ownerName, targetName, zoneName } from '../../../src/api/index.ts';

describe('ownerName', () => {
  it.each([
    [{ zone: 'example.com' }, 'example.com'],
    [{ zone: 'example.com', name: '@' }, 'example.com'],
    [{ zone: 'example.com.', name: '@' }, 'example.com'],
    [{ zone: 'Example.COM', name: 'WWW' }, 'www.example.com'],
    [{ zone: 'example.com', name: 'api.eu' }, 'api.eu.example.com'],
    [{ zone: 'example.com.', name: 'www' }, 'www.example.com'],
    [{ zone: 'example.com', name: 'www.example.com.' }, 'www.example.com'],
    [{ zone: 'example.com', name: 'example.com.' }, 'example.com'],
  ])('%j → %s', (spec, fqdn) => {
    expect(ownerName(spec)).toBe(fqdn);
  });

  it('normalises zone and target', () => {
    expect(zoneName({ zone: 'Example.com.' })).toBe('example.com');
    expect(targetName({ target: 'LB.demo.test.' })).toBe('lb.demo.test');
  });
});
