import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.ts';
import {
  DEFAULT_MAX_DELAY_MS,
  ItemExponentialRateLimiter,
  MaxOfRateLimiter,
  TokenBucketRateLimiter,
  defaultControllerRateLimiter,
} from '../../../src/controller/ratelimit.ts';
import type { RateLimiter } from '../../../src/controller/ratelimit.ts';

function delays(limiter: RateLimiter, key: string, n: number): number[] {
  return Array.from({ length: n }, () => limiter.when(key));
}

describe('ItemExponentialRateLimiter', () => {
  it('backs off 5, 10, 20, 40 ms per key by default and counts retries', () => {
    const limiter = new ItemExponentialRateLimiter({ jitter: 0 });
    expect(delays(limiter, 'ns/a', 4)).toEqual([5, 10, 20, 40]);
    expect(limiter.retries('ns/a')).toBe(4);
    // Keys back off independently.
    expect(limiter.when('ns/b')).toBe(5);
    expect(limiter.retries('ns/b')).toBe(1);
  });

  it('caps at 1000 s by default, even after enough failures to overflow 2^n', () => {
    const limiter = new ItemExponentialRateLimiter({ jitter: 0 });
    const all = delays(limiter, 'k', 2000);
    expect(all[18]).toBe(DEFAULT_MAX_DELAY_MS); // 5 · 2^18 > 1e6
    expect(all.at(-1)).toBe(DEFAULT_MAX_DELAY_MS);
    expect(DEFAULT_MAX_DELAY_MS).toBe(1_000_000);
  });

  it('honours baseMs and maxMs', () => {
    const limiter = new ItemExponentialRateLimiter({ baseMs: 100, maxMs: 350, jitter: 0 });
    expect(delays(limiter, 'k', 4)).toEqual([100, 200, 350, 350]);
  });

  it('forget starts the backoff over', () => {
    const limiter = new ItemExponentialRateLimiter({ jitter: 0 });
    delays(limiter, 'k', 3);
    limiter.forget('k');
    expect(limiter.retries('k')).toBe(0);
    expect(limiter.when('k')).toBe(5);
  });

  it('rejects nonsense options with a ValidationError', () => {
    expect(() => new ItemExponentialRateLimiter({ baseMs: 0 })).toThrow(ValidationError);
    expect(() => new ItemExponentialRateLimiter({ baseMs: 10, maxMs: 5 })).toThrow(ValidationError);
    expect(() => new ItemExponentialRateLimiter({ maxMs: Number.NaN })).toThrow(ValidationError);
  });
});

describe('TokenBucketRateLimiter', () => {
  it('lets a burst of 100 through, then spaces retries by 1/qps = 100 ms', () => {
    let now = 0;
    const limiter = new TokenBucketRateLimiter({ now: () => now });
    expect(delays(limiter, 'k', 100).every((d) => d === 0)).toBe(true);
    expect(delays(limiter, 'k', 3)).toEqual([100, 200, 300]);
    // Time passing pays the debt: at 100 ms one token has arrived but three were promised.
    now = 100;
    expect(limiter.when('k')).toBe(300);
  });

  it('refills at qps but never beyond the burst', () => {
    let now = 0;
    const limiter = new TokenBucketRateLimiter({ now: () => now, qps: 2, burst: 3 });
    expect(delays(limiter, 'k', 4)).toEqual([0, 0, 0, 500]);
    now = 1_000_000;
    expect(delays(limiter, 'k', 4)).toEqual([0, 0, 0, 500]);
  });

  it('is global and per-key neutral: every key spends the same tokens, retries stay 0', () => {
    let now = 0;
    const limiter = new TokenBucketRateLimiter({ now: () => now, qps: 10, burst: 1 });
    expect(limiter.when('a')).toBe(0);
    expect(limiter.when('b')).toBe(100);
    limiter.forget('b');
    expect(limiter.retries('b')).toBe(0);
    now = 5_000;
    expect(limiter.when('c')).toBe(0);
  });

  it('does not drain when the clock steps backwards', () => {
    let now = 1_000;
    const limiter = new TokenBucketRateLimiter({ now: () => now, qps: 10, burst: 1 });
    expect(limiter.when('k')).toBe(0);
    now = 0;
    expect(limiter.when('k')).toBe(100);
  });

  it('rejects nonsense options with a ValidationError', () => {
    const now = (): number => 0;
    expect(() => new TokenBucketRateLimiter({ now, qps: 0 })).toThrow(ValidationError);
    expect(() => new TokenBucketRateLimiter({ now, burst: 0 })).toThrow(ValidationError);
    expect(() => new TokenBucketRateLimiter({ now, burst: 1.5 })).toThrow(ValidationError);
  });
});

describe('MaxOfRateLimiter and the controller default', () => {
  it('takes the longest delay and lets every limiter count the call', () => {
    const a = new ItemExponentialRateLimiter({ baseMs: 10, jitter: 0 });
    const b = new ItemExponentialRateLimiter({ baseMs: 1, jitter: 0 });
    const limiter = new MaxOfRateLimiter(a, b);
    expect(delays(limiter, 'k', 3)).toEqual([10, 20, 40]);
    expect(b.retries('k')).toBe(3);
    expect(limiter.retries('k')).toBe(3);
    limiter.forget('k');
    expect([a.retries('k'), b.retries('k')]).toEqual([0, 0]);
  });

  it('needs at least one limiter', () => {
    expect(() => new MaxOfRateLimiter()).toThrow(ValidationError);
  });

  it('defaults to max(per-key 5 ms → 1000 s, global 10 qps burst 100)', () => {
    let now = 0;
    const limiter = defaultControllerRateLimiter(
      () => now,
      () => 0,
    );
    // 100 different keys failing at once: each gets its own first backoff, 5 ms.
    const first = Array.from({ length: 100 }, (_, i) => limiter.when(`k${i}`));
    expect(first.every((d) => d === 5)).toBe(true);
    // The bucket is now empty, so the global limit outweighs the per-key backoff.
    expect(limiter.when('k100')).toBe(100);
    expect(limiter.when('k101')).toBe(200);
    // Long after, the per-key exponent is what remains.
    now = 3_600_000;
    expect(delays(limiter, 'k0', 3)).toEqual([10, 20, 40]);
    expect(limiter.retries('k0')).toBe(4);
    limiter.forget('k0');
    expect(limiter.retries('k0')).toBe(0);
  });
});

describe('backoff jitter', () => {
  it('regression: keys that fail together retry apart, each delay up to 20% longer', () => {
    let r = 0;
    const limiter = new ItemExponentialRateLimiter({ random: () => (r = (r + 0.37) % 1) });
    const a = delays(limiter, 'a', 6);
    const b = delays(limiter, 'b', 6);
    expect(a).not.toEqual(b);
    [...a, ...b].forEach((d, i) => {
      const base = 5 * 2 ** (i % 6);
      expect(d).toBeGreaterThanOrEqual(base);
      expect(d).toBeLessThanOrEqual(base * 1.2);
    });
  });
});
