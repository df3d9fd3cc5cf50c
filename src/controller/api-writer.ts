import { FINALIZER } from '../api/schema.ts';
import type { ApexAlias, ApexAliasStatus } from '../api/schema.ts';
import { keyOf, splitKey } from '../api/names.ts';
import type { Logger } from '../observe/logger.ts';
import type { ApexAliasWriter } from '../sources/kube-client.ts';
import { apiErrorMessage, httpStatus } from '../sources/kube-client.ts';
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
  /** What the last status patch returned, for the finalizer patch's resourceVersion. */
  fresh?: ApexAlias;
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
  #workers = 0;
  /** Keys picked by {@link #due} and not taken by a worker yet, the next one last. */
  #batch: string[] = [];
  readonly #inFlight = new Set<string>();
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
    this.#run(1);
    return done;
  }

  /** Works through the queue until nothing is due, then sleeps until the next retry. */
  /**
   * Starts up to `more` workers, at most `concurrency` in all. Workers pull keys one at a time,
   * so one slow write holds back no other; each queued key adds at most one worker, so a queue
   * that is all backing off is not scanned by a crowd.
   */
  #run(more: number): void {
    for (let i = 0; i < more && !this.#stopped && this.#workers < this.#opts.concurrency; i++) {
      this.#workers++;
      void this.#work();
    }
  }

  async #work(): Promise<void> {
    try {
      for (let key = this.#next(); key !== undefined && !this.#stopped; key = this.#next()) {
        this.#inFlight.add(key);
        try {
          await this.#write(key);
        } finally {
          this.#inFlight.delete(key);
        }
      }
    } finally {
      if (--this.#workers === 0) this.#sleepUntilNextRetry();
    }
  }

  #next(): string | undefined {
    if (this.#batch.length === 0) this.#batch = this.#due();
    return this.#batch.pop();
  }

  /**
   * The next keys to write, last first: statuses before finalizers, since Ready waits for them,
   * and only a few per worker, so that a status queued during a burst of finalizer patches
   * waits for those few, not for the whole backlog.
   */
  #due(): string[] {
    const now = this.#opts.now();
    const statuses: string[] = [];
    const others: string[] = [];
    for (const [key, p] of this.#pending) {
      if (p.notBefore > now || this.#inFlight.has(key)) continue;
      (p.status !== undefined ? statuses : others).push(key);
    }
    return [...statuses, ...others].slice(0, this.#opts.concurrency * ROUND_PER_WORKER).reverse();
  }

  #sleepUntilNextRetry(): void {
    if (this.#stopped || this.#pending.size === 0) return;
    let next = Infinity;
    for (const p of this.#pending.values()) next = Math.min(next, p.notBefore);
    if (this.#wake !== undefined) this.#opts.timers.clearTimeout(this.#wake);
    this.#wake = this.#opts.timers.setTimeout(
      () => {
        this.#wake = undefined;
        this.#run(this.#opts.concurrency);
      },
      Math.max(0, next - this.#opts.now()),
    );
  }

  /**
   * Writes one thing queued for `key`: its status if one is queued, else its finalizer. Statuses
   * thus go first across the whole queue, since Ready waits for them and a burst of new aliases
   * is bounded by the API server's write rate. A finalizer patch uses the object the key's last
   * status patch returned, so its resourceVersion is current and the cache's lag costs no conflict.
   */
  async #write(key: string): Promise<void> {
    const p = this.#pending.get(key);
    if (!p || this.#stopped) return;
    const { status, finalizer } = p;
    const kind: 'status' | 'finalizer' = status !== undefined ? 'status' : 'finalizer';
    if (kind === 'status') p.status = undefined;
    else p.finalizer = undefined;
    try {
      if (status !== undefined) {
        const { namespace, name } = splitKey(key);
        p.fresh = await this.#opts.client.patchStatus(namespace, name, status);
        this.#opts.onWrite?.('status', true);
      } else if (finalizer) {
        if (await this.#setFinalizer(key, finalizer, p.fresh)) this.#opts.onWrite?.('finalizer', true);
        p.fresh = undefined;
      }
    } catch (err) {
      if (httpStatus(err) !== 404) {
        this.#opts.onWrite?.(kind, false);
        // Put back what did not land, unless something newer was queued meanwhile.
        if (kind === 'status') p.status ??= status;
        else p.finalizer ??= finalizer;
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
      // The object is gone: nothing else queued for it can land.
      this.#latest.delete(key);
      p.status = p.finalizer = undefined;
    }
    p.failures = 0;
    if (p.status === undefined && p.finalizer === undefined) {
      p.waiters.forEach((w) => w());
      this.#pending.delete(key);
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
