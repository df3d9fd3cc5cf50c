import { describe, expect, it } from 'vitest';
import { ApexAliasSpecSchema, DEFAULTED_SPEC_FIELDS, applyDefaults } from '../../../src/api/index.ts';

describe('applyDefaults', () => {
  it('fills every default of a minimal spec', () => {
    expect(applyDefaults({ zone: 'example.com', target: 'lb.demo.test' })).toEqual({
      zone: 'example.com',
      target: 'lb.demo.test',
      name: '@',
      addressFamilies: ['IPv4', 'IPv6'],
      ttl: { max: 3600 },
      onTargetMissing: 'Keep',
      fallbackAddresses: [],
      driftPolicy: 'Correct',
      deletionPolicy: 'Delete',
      adopt: false,
    });
  });

  it('leaves ttl.min and backend unset', () => {
    const spec = applyDefaults({ zone: 'example.com', target: 'lb.demo.test' });
    expect(spec.ttl).not.toHaveProperty('min');
    expect(spec).not.toHaveProperty('backend');
  });

  it('keeps what the user set and fills the rest of ttl', () => {
    const spec = applyDefaults({
      zone: 'example.com',
      target: 'lb.demo.test',
      name: 'www',
      addressFamilies: ['IPv6'],
      ttl: { min: 30 },
      adopt: true,
      backend: 'primary',
    });
    expect(spec).toMatchObject({
      name: 'www',
      addressFamilies: ['IPv6'],
      ttl: { min: 30, max: 3600 },
      adopt: true,
    });
    expect(spec.backend).toBe('primary');
  });

  it('never mutates its argument nor shares the default arrays', () => {
    const input = { zone: 'example.com', target: 'lb.demo.test' };
    const a = applyDefaults(input);
    a.addressFamilies.pop();
    a.fallbackAddresses.push('192.0.2.1');
    expect(input).toEqual({ zone: 'example.com', target: 'lb.demo.test' });
    const b = applyDefaults(input);
    expect(b.addressFamilies).toEqual(['IPv4', 'IPv6']);
    expect(b.fallbackAddresses).toEqual([]);
  });

  it('DEFAULTED_SPEC_FIELDS lists exactly the fields with a default in the schema', () => {
    const withDefault = Object.entries(ApexAliasSpecSchema.properties)
      .filter(([, s]) => (s as { default?: unknown }).default !== undefined)
      .map(([k]) => k);
    expect([...DEFAULTED_SPEC_FIELDS].sort()).toEqual(withDefault.sort());
  });
});
