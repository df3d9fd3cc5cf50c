import { describe, expect, it } from 'vitest';
import { BACKOFF_MAX_SECONDS, backoffSeconds, refreshDelaySeconds } from '../../../src/engine/refresh.ts';

const policy = { minSeconds: 30, maxSeconds: 86400, jitter: 0.1 };

describe('behaviour rule 15: refresh on TTL with jitter, bounded', () => {
  it('refreshes when the TTL runs out, up to 10% later, never before (the cached answer would still stand)', () => {
    expect(refreshDelaySeconds(300, policy, () => 0)).toBe(300);
    expect(refreshDelaySeconds(300, policy, () => 0.5)).toBeCloseTo(315);
    expect(refreshDelaySeconds(300, policy, () => 0.999999)).toBeCloseTo(330, 3);
  });

  it('never refreshes sooner than minSeconds or later than maxSeconds', () => {
    expect(refreshDelaySeconds(5, policy, () => 0.5)).toBe(30);
    expect(refreshDelaySeconds(29, policy, () => 0)).toBe(30);
    expect(refreshDelaySeconds(10 * 86400, policy, () => 0.5)).toBe(86400);
  });

  it('backs off exponentially after failures, from 5 s to at most 300 s', () => {
    const mid = (): number => 0.5;
    expect([1, 2, 3, 4].map((n) => backoffSeconds(n, policy, mid))).toEqual([5, 10, 20, 40]);
    expect(backoffSeconds(50, policy, mid)).toBe(BACKOFF_MAX_SECONDS);
  });
});
