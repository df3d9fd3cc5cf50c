import { ValidationError } from '../errors.ts';

/**
 * Decides how long a key waits before its next retry, in the manner of client-go's
 * `workqueue.TypedRateLimiter`. `when` records a failure as a side effect, so call it once per
 * retry.
 */
export interface RateLimiter {
  /** The delay in milliseconds before the next retry of `key`; counts one more failure. */
  when(key: string): number;
  /** Forgets the failures of `key`, typically after it reconciled successfully. */
  forget(key: string): void;
  /** How many times `key` has failed since it was last forgotten. */
  retries(key: string): number;
}

/** controller-runtime's per-key defaults: 5 ms for the first retry, never more than 1000 s. */
export const DEFAULT_BASE_DELAY_MS = 5;
export const DEFAULT_MAX_DELAY_MS = 1_000_000;
/** controller-runtime's global defaults: 10 retries a second, with bursts of 100. */
export const DEFAULT_QPS = 10;
export const DEFAULT_BURST = 100;

/**
 * Per-key exponential backoff: `baseMs · 2^(failures so far)`, capped at `maxMs`. The first
 * retry waits `baseMs`, the next `2 · baseMs`, and so on.
 */
export class ItemExponentialRateLimiter implements RateLimiter {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #jitter: number;
  readonly #random: () => number;
  readonly #failures = new Map<string, number>();

  /**
   * `jitter` (default 0.2) lengthens each delay by up to that fraction at random, as client-go's
   * wait.Backoff does, so that keys that failed together (a backend down) do not retry in lock
   * step forever. `random` returns [0, 1) and is injected for tests.
   */
  constructor(opts: { baseMs?: number; maxMs?: number; jitter?: number; random?: () => number } = {}) {
    const baseMs = opts.baseMs ?? DEFAULT_BASE_DELAY_MS;
    const maxMs = opts.maxMs ?? DEFAULT_MAX_DELAY_MS;
    this.#jitter = opts.jitter ?? 0.2;
    this.#random = opts.random ?? Math.random;
    const problems: string[] = [];
    if (!(Number.isFinite(baseMs) && baseMs > 0))
      problems.push(`baseMs must be a positive number, got ${baseMs}`);
    if (!(maxMs >= baseMs)) problems.push(`maxMs must be at least baseMs (${baseMs}), got ${maxMs}`);
    if (problems.length) throw new ValidationError('invalid exponential rate limiter options', problems);
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  when(key: string): number {
    const exponent = this.#failures.get(key) ?? 0;
    this.#failures.set(key, exponent + 1);
    // 2 ** exponent overflows to Infinity long before the count does; min() still caps it.
    const delay = Math.min(this.#baseMs * 2 ** exponent, this.#maxMs);
    return Math.min(delay * (1 + this.#jitter * this.#random()), this.#maxMs);
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  retries(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}

/**
 * One token bucket shared by every key, like client-go's `BucketRateLimiter` over
 * `rate.Limiter`: it starts full with `burst` tokens and refills at `qps` tokens a second.
 * Each `when` takes a token, going into debt if none is left, and returns how long until that
 * token exists. It bounds the overall retry rate when many keys fail at once, so it keeps no
 * per-key state: `retries` is always 0 and `forget` does nothing.
 */
export class TokenBucketRateLimiter implements RateLimiter {
  readonly #now: () => number;
  readonly #qps: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;

  /** `now` returns milliseconds on any monotonic scale; it is injected so tests control time. */
  constructor(opts: { now: () => number; qps?: number; burst?: number }) {
    const qps = opts.qps ?? DEFAULT_QPS;
    const burst = opts.burst ?? DEFAULT_BURST;
    const problems: string[] = [];
    if (!(Number.isFinite(qps) && qps > 0)) problems.push(`qps must be a positive number, got ${qps}`);
    if (!(Number.isInteger(burst) && burst >= 1)) problems.push(`burst must be an integer ≥ 1, got ${burst}`);
    if (problems.length) throw new ValidationError('invalid token bucket rate limiter options', problems);
    this.#now = opts.now;
    this.#qps = qps;
    this.#burst = burst;
    this.#tokens = burst;
    this.#last = opts.now();
  }

  when(_key: string): number {
    const now = this.#now();
    // A clock that steps backwards must not drain the bucket.
    const elapsedMs = Math.max(0, now - this.#last);
    this.#last = Math.max(this.#last, now);
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsedMs * this.#qps) / 1000);
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.#qps;
  }

  forget(_key: string): void {}

  retries(_key: string): number {
    return 0;
  }
}

/**
 * The longest delay any of several limiters asks for. Every limiter sees every call, so each
 * keeps its own count (the token bucket spends a token even when the per-key backoff wins).
 */
export class MaxOfRateLimiter implements RateLimiter {
  readonly #limiters: readonly RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    if (limiters.length === 0) throw new ValidationError('MaxOfRateLimiter needs at least one rate limiter');
    this.#limiters = limiters;
  }

  when(key: string): number {
    let delay = 0;
    for (const limiter of this.#limiters) delay = Math.max(delay, limiter.when(key));
    return delay;
  }

  forget(key: string): void {
    for (const limiter of this.#limiters) limiter.forget(key);
  }

  retries(key: string): number {
    let retries = 0;
    for (const limiter of this.#limiters) retries = Math.max(retries, limiter.retries(key));
    return retries;
  }
}

/**
 * controller-runtime's `DefaultTypedControllerRateLimiter`: per-key exponential backoff from
 * 5 ms to 1000 s (each delay up to 20% longer at random), and a global bucket of 10 retries a
 * second with bursts of 100, whichever waits longer.
 */
export function defaultControllerRateLimiter(
  now: () => number,
  random: () => number = Math.random,
): RateLimiter {
  return new MaxOfRateLimiter(
    new ItemExponentialRateLimiter({ random }),
    new TokenBucketRateLimiter({ now }),
  );
}
