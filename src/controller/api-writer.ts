import { FINALIZER } from '../api/schema.ts';
import type { ApexAlias, ApexAliasStatus } from '../api/schema.ts';
import { keyOf, splitKey } from '../api/names.ts';
import type { Logger } from '../observe/logger.ts';
import type { ApexAliasWriter } from '../sources/kube-client.ts';
import { apiErrorMessage, httpStatus } from '../sources/kube-client.ts';
import { mapLimit } from '../util/concurrency.ts';
import { realClock } from './workqueue.ts';
import type { Clock } from './workqueue.ts';

/** What is still to be written for one alias. The latest request for a key replaces the older. */
interface Pending {
  status?: ApexAliasStatus;
  finalizer?: 'add' | 'remove';
  /** Consecutive failures, for the backoff. */
  failures: number;
  /** Epoch ms before which the key is not tried again. */
  notBefore: number;
  /** Resolved when the key's writes landed (or were dropped because the object is gone). */
  waiters: Array<() => void>;
}

export interface ApiWriterOptions {
  client: ApexAliasWriter;
  /** The freshest copy of an object (the informer cache), for the resourceVersion of a finalizer patch. */
  source: { get(key: string): ApexAlias | undefined };
  logger: Logger;
  now: () => number;
  random: () => number;
  /** Writes in flight at once. */
  concurrency?: number;
  /** Called with each write's outcome, for metrics. */
  onWrite?: (kind: 'status' | 'finalizer', ok: boolean) => void;
  /** The timers retries wait on; the process's by default (tests pass a fake clock's). */
  timers?: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
}

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 60_000;
/** Keys written per worker before the queue is looked at again. */
const ROUND_PER_WORKER = 8;

/**
 * Writes finalizers and statuses to the API server off the DNS path. Requests are coalesced per
 * alias (only the latest status is ever sent), written by a bounded number of workers, and
 * retried with exponential backoff and jitter while the API server fails, so a slow or
 * restarting API server never holds back a DNS write, and a burst of 10,000 new aliases costs
 * one finalizer patch and one status patch each. An object that is gone (404) is dropped.
 */
export class ApiWriter {
  readonly #opts: Required<Omit<ApiWriterOptions, 'onWrite'>> & Pick<ApiWriterOptions, 'onWrite'>;
  readonly #pending = new Map<string, Pending>();
  /** The status last sent (or queued) per key: what the next status is compared against. */
  readonly #latest = new Map<string, ApexAliasStatus>();
  #running = false;
  #wake: unknown;
  #stopped = false;

  constructor(opts: ApiWriterOptions) {
    this.#opts = { ...opts, concurrency: opts.concurrency ?? 16, timers: opts.timers ?? realClock };
  }

  /** Keys with writes still to land. */
  get backlog(): number {
    return this.#pending.size;
  }

  /** The status most recently written or queued for `key`, if any in this process. */
  latestStatus(key: string): ApexAliasStatus | undefined {
    return this.#latest.get(key);
  }

  /** Queues `status` for `alias` (replacing any status still queued for it). */
  status(alias: ApexAlias, status: ApexAliasStatus): Promise<void> {
    const key = keyOf(alias);
    this.#latest.set(key, status);
    return this.#queue(key, (p) => (p.status = status));
  }

  /** Queues adding (or removing) this controller's finalizer. */
  finalizer(alias: ApexAlias, action: 'add' | 'remove'): Promise<void> {
    return this.#queue(keyOf(alias), (p) => (p.finalizer = action));
  }

  /** Forgets a key whose object is gone. */
  forget(key: string): void {
    this.#latest.delete(key);
  }

  /** Resolves once nothing is queued (for tests and shutdown). */
  async flush(): Promise<void> {
    await Promise.all(
      [...this.#pending.keys()].map(
        (key) => new Promise<void>((r) => this.#pending.get(key)?.waiters.push(r) ?? r()),
      ),
    );
  }

  /** Stops writing; queued writes are dropped (a new leader rewrites what it finds stale). */
  stop(): void {
    this.#stopped = true;
    if (this.#wake !== undefined) this.#opts.timers.clearTimeout(this.#wake);
    for (const p of this.#pending.values()) p.waiters.forEach((w) => w());
    this.#pending.clear();
  }

  #queue(key: string, set: (p: Pending) => void): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    const p = this.#pending.get(key) ?? { failures: 0, notBefore: 0, waiters: [] };
    set(p);
    this.#pending.set(key, p);
    const done = new Promise<void>((resolve) => p.waiters.push(resolve));
    this.#run();
    return done;
  }

  /** Works through the queue until nothing is due, then sleeps until the next retry. */
  #run(): void {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    void (async () => {
      try {
        for (;;) {
          const now = this.#opts.now();
          const due = [...this.#pending].filter(([, p]) => p.notBefore <= now);
          if (due.length === 0) break;
          // Statuses first, since Ready waits for them; short rounds, so that a status queued
          // during a burst of finalizer patches waits for one round, not for the whole backlog.
          const round = [
            ...due.filter(([, p]) => p.status !== undefined),
            ...due.filter(([, p]) => p.status === undefined),
          ].slice(0, this.#opts.concurrency * ROUND_PER_WORKER);
          await mapLimit(round, this.#opts.concurrency, ([key]) => this.#write(key));
        }
      } finally {
        this.#running = false;
      }
      this.#sleepUntilNextRetry();
    })();
  }

  #sleepUntilNextRetry(): void {
    if (this.#stopped || this.#pending.size === 0) return;
    const next = Math.min(...[...this.#pending.values()].map((p) => p.notBefore));
    if (this.#wake !== undefined) this.#opts.timers.clearTimeout(this.#wake);
    this.#wake = this.#opts.timers.setTimeout(
      () => {
        this.#wake = undefined;
        this.#run();
      },
      Math.max(0, next - this.#opts.now()),
    );
  }

  async #write(key: string): Promise<void> {
    const p = this.#pending.get(key);
    if (!p || this.#stopped) return;
    // Take what is queued now; anything queued while this write runs is written next round.
    const { status, finalizer, waiters } = p;
    p.status = undefined;
    p.finalizer = undefined;
    p.waiters = [];
    // Status first: it is what Ready waits for, and a burst of new aliases is bounded by the API
    // server's write rate. The finalizer follows on the object the status patch returned, so its
    // resourceVersion is current and the cache's lag costs no conflict.
    let kind: 'status' | 'finalizer' = 'status';
    try {
      let fresh: ApexAlias | undefined;
      if (status) {
        const { namespace, name } = splitKey(key);
        fresh = await this.#opts.client.patchStatus(namespace, name, status);
        this.#opts.onWrite?.('status', true);
      }
      kind = 'finalizer';
      if (finalizer && (await this.#setFinalizer(key, finalizer, fresh)))
        this.#opts.onWrite?.('finalizer', true);
    } catch (err) {
      if (httpStatus(err) !== 404) {
        this.#opts.onWrite?.(kind, false);
        // Put back what did not land, unless something newer was queued meanwhile.
        if (kind === 'status') p.status ??= status;
        p.finalizer ??= finalizer;
        p.waiters.push(...waiters);
        p.failures++;
        const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(16, p.failures - 1));
        // Full jitter, as client-go's backoff does, so that many keys do not retry in lock step.
        p.notBefore = this.#opts.now() + backoff * (0.5 + this.#opts.random() / 2);
        if (p.failures === 1 || p.failures % 10 === 0)
          this.#opts.logger.warn('API write failed; retrying', {
            key,
            write: kind,
            failures: p.failures,
            error: apiErrorMessage(err),
          });
        return;
      }
      this.#latest.delete(key);
    }
    waiters.forEach((w) => w());
    if (p.status === undefined && p.finalizer === undefined) {
      p.waiters.forEach((w) => w());
      this.#pending.delete(key);
    } else {
      p.failures = 0;
    }
  }

  /**
   * Adds or removes our finalizer, guarded by the resourceVersion so that nobody else's
   * finalizer is lost. On a conflict (the object changed since `fresh`, or the cache lagged) it is
   * read once from the API server and the patch tried again, as client-go's RetryOnConflict.
   * Says whether it wrote.
   */
  async #setFinalizer(key: string, action: 'add' | 'remove', fresh?: ApexAlias): Promise<boolean> {
    const patch = async (alias: ApexAlias | undefined): Promise<boolean> => {
      if (!alias) throw Object.assign(new Error(`${key} is gone`), { code: 404 });
      const finalizers = alias.metadata.finalizers ?? [];
      const has = finalizers.includes(FINALIZER);
      if (action === 'add' ? has : !has) return false;
      const next = action === 'add' ? [...finalizers, FINALIZER] : finalizers.filter((f) => f !== FINALIZER);
      await this.#opts.client.setFinalizers(alias, next);
      return true;
    };
    try {
      return await patch(fresh ?? this.#opts.source.get(key));
    } catch (err) {
      if (httpStatus(err) !== 409) throw err;
      const { namespace, name } = splitKey(key);
      return await patch(await this.#opts.client.get(namespace, name));
    }
  }
}
