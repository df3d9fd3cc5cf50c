import { setTimeout as sleep } from 'node:timers/promises';

/** How {@link waitFor} polls. */
export interface PollOptions {
  /** Give up after this long. Default 30 s. */
  timeoutMs?: number;
  /** Pause between checks. Default 150 ms. */
  everyMs?: number;
}

/**
 * Polls `check` until it returns a value other than `undefined` (or `false`), and returns it; a
 * check that throws counts as not yet, and its last error is quoted when the wait times out
 * with `what` (or what it returns then) in the message. The one polling helper of the tests.
 */
export async function waitFor<T>(
  what: string | (() => string),
  check: () => T | undefined | false | Promise<T | undefined | false>,
  opts: PollOptions | number = {},
): Promise<T> {
  const { timeoutMs = 30_000, everyMs = 150 } = typeof opts === 'number' ? { timeoutMs: opts } : opts;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(everyMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}${last ? `: ${(last as Error).message}` : ''}`,
  );
}
