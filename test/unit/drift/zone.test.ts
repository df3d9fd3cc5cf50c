import { describe, expect, it } from 'vitest';
import { RepairLimiter, withoutRepairs, zoneDrift } from '../../../src/drift/zone.ts';
import type { DesiredState, NameChange } from '../../../src/plan/types.ts';
import { updateChange } from '../../harness/changes.ts';

const written = { A: { ttl: 60, addresses: ['192.0.2.1'] }, AAAA: { ttl: 60, addresses: ['2001:db8::1'] } };

const desired = (a: string[], aaaa: string[]): DesiredState => ({
  A: { action: 'write', rrset: { ttl: 60, addresses: a }, source: 'resolved' },
  AAAA: { action: 'write', rrset: { ttl: 60, addresses: aaaa }, source: 'resolved' },
  problems: [],
  chain: [],
  ttlBounds: { max: 3600 },
});

const change = (set: NameChange['set']): NameChange => updateChange('example.com', set, 'v');

describe('behaviour rule 13: zone drift', () => {
  it('is measured per family against what was written last', () => {
    expect(
      zoneDrift(
        { name: 'example.com', A: { ttl: 60, addresses: ['203.0.113.9'] }, AAAA: written.AAAA },
        written,
      ),
    ).toEqual({
      A: true,
      AAAA: false,
    });
    expect(zoneDrift({ name: 'example.com' }, written)).toEqual({ A: true, AAAA: true });
    expect(zoneDrift({ name: 'example.com', A: written.A }, {})).toEqual({});
  });

  it('Report keeps target drift but withholds pure repairs', () => {
    const c = change({
      A: { ttl: 60, addresses: ['192.0.2.1'] },
      AAAA: { ttl: 60, addresses: ['2001:db8::2'] },
    });
    // A is a repair (same as written), AAAA is the target moving: only AAAA is written.
    expect(withoutRepairs(c, desired(['192.0.2.1'], ['2001:db8::2']), written)?.set).toEqual({
      AAAA: { ttl: 60, addresses: ['2001:db8::2'] },
    });
    expect(
      withoutRepairs(change({ A: written.A }), desired(['192.0.2.1'], ['2001:db8::1']), written),
    ).toBeUndefined();
  });

  it('a fight is cut off after 3 repairs in 10 minutes, and repairs resume when the window moves on', () => {
    const limiter = new RepairLimiter();
    const t0 = 1_000_000;
    expect([0, 1, 2, 3].map((i) => limiter.tryRepair('ns/a', t0 + i * 1000))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(limiter.tryRepair('ns/b', t0)).toBe(true);
    expect(limiter.tryRepair('ns/a', t0 + 10 * 60_000 + 1)).toBe(true);
  });
});
