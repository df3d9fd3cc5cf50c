import { describe, expect, it } from 'vitest';
import {
  BACKOFF_MAX_SECONDS,
  REFRESH_GRID_MS,
  backoffSeconds,
  refreshDelaySeconds,
  refreshTime,
} from '../../../src/engine/refresh.ts';

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

  it('puts refreshes due within one 5 s step at the same instant, never before the jittered time', () => {
    const now = 1_700_000_001_234;
    const times = [0, 0.1, 0.3, 0.7, 0.99].map((r) => refreshTime(now, 60, policy, () => r));
    for (const [i, r] of [0, 0.1, 0.3, 0.7, 0.99].entries()) {
      const at = times[i]!;
      expect(at % REFRESH_GRID_MS).toBe(0);
      expect(at).toBeGreaterThanOrEqual(now + refreshDelaySeconds(60, policy, () => r) * 1000);
      expect(at).toBeLessThan(now + refreshDelaySeconds(60, policy, () => r) * 1000 + REFRESH_GRID_MS);
    }
    // 60 s plus 0-6 s of jitter spans at most three steps, so those aliases share at most three passes.
    expect(new Set(times).size).toBeLessThanOrEqual(3);
  });

  it('backs off exponentially after failures, from 5 s to at most 300 s', () => {
    const mid = (): number => 0.5;
    expect([1, 2, 3, 4].map((n) => backoffSeconds(n, policy, mid))).toEqual([5, 10, 20, 40]);
    expect(backoffSeconds(50, policy, mid)).toBe(BACKOFF_MAX_SECONDS);
  });
});
