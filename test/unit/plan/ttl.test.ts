import { describe, expect, it } from 'vitest';
import { publishedTtl, TTL_BAND, withinBand, withinBounds } from '../../../src/plan/ttl.ts';
import type { TtlBounds } from '../../../src/plan/types.ts';

describe('publishedTtl', () => {
  it.each<[string, number, TtlBounds, number]>([
    [
      'behaviour rule 3: the chain TTL is published as is inside the bounds',
      300,
      { min: 30, max: 3600 },
      300,
    ],
    ['behaviour rule 3: without min the chain TTL is never raised (60 stays 60)', 60, { max: 3600 }, 60],
    ['behaviour rule 3: without min a 5 s chain TTL stays 5 s', 5, { max: 3600 }, 5],
    ['behaviour rule 3: an explicit min raises a short chain TTL (min wins)', 5, { min: 30, max: 3600 }, 30],
    ['behaviour rule 3: max clamps a long chain TTL', 86400, { max: 3600 }, 3600],
    ['behaviour rule 3: max clamps with min set as well', 86400, { min: 30, max: 3600 }, 3600],
    ['behaviour rule 3: min equal to the chain TTL', 30, { min: 30, max: 3600 }, 30],
    ['behaviour rule 3: a zero chain TTL is published as 1', 0, { max: 3600 }, 1],
    ['behaviour rule 3: an explicit min of 0 still gives at least 1', 0, { min: 0, max: 3600 }, 1],
    ['behaviour rule 3: fractional TTLs are truncated to whole seconds', 59.9, { max: 3600 }, 59],
    [
      'behaviour rule 3: min above max (refused by the schema) keeps the user floor',
      10,
      { min: 600, max: 300 },
      600,
    ],
    [
      'behaviour rule 3: a non-finite chain TTL falls back to max',
      Number.POSITIVE_INFINITY,
      { max: 300 },
      300,
    ],
  ])('%s', (_name, chain, bounds, expected) => {
    expect(publishedTtl(chain, bounds)).toBe(expected);
  });
});

describe('withinBand', () => {
  it('uses ±20% by default', () => {
    expect(TTL_BAND).toBe(0.2);
  });

  it.each<[string, number, number, boolean]>([
    ['behaviour rule 4: unchanged TTL is within the band', 300, 300, true],
    ['behaviour rule 4: exactly 20% lower → no write', 300, 240, true],
    ['behaviour rule 4: exactly 20% higher → no write', 300, 360, true],
    ['behaviour rule 4: 21% lower → write', 300, 237, false],
    ['behaviour rule 4: 21% higher → write', 300, 363, false],
    ['behaviour rule 4: exactly 20% of 60 (48) → no write', 60, 48, true],
    ['behaviour rule 4: just outside 20% of 60 (47) → write', 60, 47, false],
    ['behaviour rule 4: exactly 20% of 3600 (2880) → no write', 3600, 2880, true],
    ['behaviour rule 4: 20% of an odd value (7 → 8.4 edge, 8 stays)', 7, 8, true],
    ['behaviour rule 4: a current TTL of 0 has no band', 0, 1, false],
  ])('%s', (_name, current, desired, expected) => {
    expect(withinBand(current, desired)).toBe(expected);
  });

  it('behaviour rule 4: the band edge holds for every whole TTL (no binary rounding surprises)', () => {
    for (let current = 5; current <= 100_000; current += 7) {
      expect(withinBand(current, current * 0.8)).toBe(true);
      expect(withinBand(current, current * 1.2)).toBe(true);
      expect(withinBand(current, current * 0.79)).toBe(false);
      expect(withinBand(current, current * 1.21)).toBe(false);
    }
  });

  it('takes another fraction', () => {
    expect(withinBand(100, 90, 0.1)).toBe(true);
    expect(withinBand(100, 89, 0.1)).toBe(false);
  });
});

describe('withinBounds', () => {
  it.each<[number, TtlBounds, boolean]>([
    [60, { max: 3600 }, true],
    [1, { max: 3600 }, true],
    [3601, { max: 3600 }, false],
    [29, { min: 30, max: 3600 }, false],
    [30, { min: 30, max: 3600 }, true],
    [600, { min: 600, max: 300 }, true],
  ])('%d in %j → %s', (ttl, bounds, expected) => {
    expect(withinBounds(ttl, bounds)).toBe(expected);
  });
});
