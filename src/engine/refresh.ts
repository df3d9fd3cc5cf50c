/** When to look at an alias again (behaviour rule 15). */
export interface RefreshPolicy {
  minSeconds: number;
  maxSeconds: number;
  /** Up to this fraction of the TTL is added, so that aliases of one target do not refresh in lock step. */
  jitter: number;
}

/**
 * The delay until the next lookup: the answer's remaining TTL, plus up to `jitter` of it, bounded
 * by the configured minimum and maximum. The spread is only ever later: an alias that looked
 * again before its target's answer expired would meet the cached answer with little TTL left
 * and be due again soon, doubling the reconciles of every alias. `random` returns [0, 1) and is
 * injected for tests.
 */
export function refreshDelaySeconds(ttlSeconds: number, policy: RefreshPolicy, random: () => number): number {
  const jittered = ttlSeconds * (1 + policy.jitter * random());
  return Math.min(policy.maxSeconds, Math.max(policy.minSeconds, jittered));
}

/**
 * Refreshes land on multiples of this many milliseconds of the clock. Aliases whose jittered
 * refresh times fall within one step are then due at the same instant and share one engine
 * pass (one zone read, one nameserver check) instead of each starting its own: at 10,000
 * aliases with a 60 s TTL and 10% jitter that is 2 passes per 5 s instead of one per key batch.
 * An alias is looked at up to one step later than its TTL and jitter say.
 */
export const REFRESH_GRID_MS = 5_000;

/** Epoch ms of the next refresh: {@link refreshDelaySeconds} from `nowMs`, moved up to the grid. */
export function refreshTime(
  nowMs: number,
  ttlSeconds: number,
  policy: RefreshPolicy,
  random: () => number,
): number {
  const at = nowMs + refreshDelaySeconds(ttlSeconds, policy, random) * 1000;
  return Math.ceil(at / REFRESH_GRID_MS) * REFRESH_GRID_MS;
}

/** First retry after a failure, and the longest wait between retries. */
export const BACKOFF_BASE_SECONDS = 5;
export const BACKOFF_MAX_SECONDS = 300;

/**
 * Exponential backoff after `failures` consecutive failures: 5 s · 2^(failures-1), capped at
 * 300 s, with the policy's jitter. Independent of the refresh bounds, so a failing target is
 * retried sooner than a healthy one is refreshed.
 */
export function backoffSeconds(failures: number, policy: RefreshPolicy, random: () => number): number {
  const base = BACKOFF_BASE_SECONDS * 2 ** Math.max(0, Math.min(30, failures - 1));
  const capped = Math.min(base, BACKOFF_MAX_SECONDS);
  return capped * (1 + policy.jitter * (2 * random() - 1));
}
