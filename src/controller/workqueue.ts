import { ApexAliasError } from '../errors.ts';
import { defaultControllerRateLimiter } from './ratelimit.ts';
import type { RateLimiter } from './ratelimit.ts';
import { DeadlineHeap } from './deadline-heap.ts';

/** Time and timers, injected so that tests drive the queue with a fake clock. */
export interface Clock {
  /** Milliseconds on a monotonic scale; only differences matter. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The process clock: monotonic (`performance.now`), so wall-clock steps do not move deadlines. */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Hooks for metrics, mirroring client-go's workqueue metrics. They are called synchronously from
 * inside the queue; a hook that throws is ignored so that metrics can never stall reconciles.
 */
export interface QueueObserver {
  /** A key became due for processing (a duplicate add of a waiting key is not reported). */
  onAdd?(key: string): void;
  /** A worker took `key`, which had waited `waitedMs` since it became due. */
  onGet?(key: string, waitedMs: number): void;
  /** The handler for `key` finished, successfully or not, after `workMs`. */
  onDone?(key: string, workMs: number): void;
  /** The handler for `key` failed with a retryable error and the key was scheduled with backoff. */
  onRetry?(key: string): void;
  /** The number of keys waiting changed. */
  onDepth?(depth: number): void;
}

/** What a reconcile asks for when it succeeds. */
export interface ReconcileResult {
  /** Look at the key again after this many milliseconds (the next refresh). */
  requeueAfterMs?: number;
}

/** Handles one key. Resolving means success; throwing means retry, unless it is a {@link TerminalError}. */
export type ReconcileHandler = (key: string) => Promise<ReconcileResult | void>;

/**
 * Handles several keys at once (one pass of the engine over many aliases). Its map says, per
 * key, what a {@link ReconcileHandler} would have said: a result, or the error it would have
 * thrown. A key missing from the map succeeded with no requeue; a throw fails every key.
 */
export type BatchHandler = (keys: string[]) => Promise<Map<string, ReconcileResult | Error>>;

/** How {@link WorkQueue.startBatches} gathers keys. */
export interface BatchOptions {
  /** The most keys one handler call gets. */
  maxKeys: number;
  /**
   * How long a free worker waits, once a key is ready, for more keys to come due before it
   * starts (keys whose refresh times were spread by jitter still share a pass). Default 0.
   */
  windowMs?: number;
}

/**
 * Thrown by a handler when retrying cannot help (an invalid spec): the queue forgets the key's
 * failures and does not requeue it. A later `add` (the object changed) processes it again.
 * Found anywhere along the error's `cause` chain, so wrapping it keeps it terminal.
 */
export class TerminalError extends ApexAliasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TERMINAL', message, options);
  }
}

export interface WorkQueueOptions {
  /** Defaults to {@link realClock}. */
  clock?: Clock;
  /** Defaults to controller-runtime's: max(per-key 5 ms → 1000 s, global 10 qps burst 100). */
  rateLimiter?: RateLimiter;
  /** How many handlers run at once; defaults to 4. */
  concurrency?: number;
  observer?: QueueObserver;
}

/** The one armed timer and when it fires. */
interface Timer {
  handle: unknown;
  at: number;
}

interface IdleWaiter {
  /** Delayed keys due after this time do not keep the queue busy. */
  limit: number;
  resolve: () => void;
}

// setTimeout treats anything longer than 2^31-1 ms as 1 ms; longer waits are re-armed in steps.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * A work queue of keys in the manner of client-go's workqueue, as controller-runtime uses it:
 *
 * - A key is waiting at most once; adding it again while it waits does nothing.
 * - A key is never processed by two workers at once. Adding a key while its handler runs marks
 *   it dirty, and it is queued once more when that handler finishes.
 * - Ready keys are processed in FIFO order by up to `concurrency` handlers.
 * - Delayed adds live in one min-heap by deadline, served by a single timer armed for the
 *   earliest deadline, so 10,000 delayed keys cost one timer.
 * - Only the queue decides what a failure means: success forgets the key's backoff, a
 *   {@link TerminalError} is dropped, anything else is retried with the rate limiter's delay.
 */
export class WorkQueue {
  readonly #clock: Clock;
  readonly #rateLimiter: RateLimiter;
  readonly #concurrency: number;
  readonly #observer: QueueObserver;

  /** Ready keys in FIFO order; `#ready[#head]` is next. */
  #ready: string[] = [];
  #head = 0;
  /** Keys that need processing (waiting, or re-added while in flight), with when they became due. */
  readonly #dirty = new Map<string, number>();
  readonly #processing = new Set<string>();
  readonly #delayed = new DeadlineHeap();
  #timer: Timer | undefined;
  #seq = 0;

  #handler: BatchHandler | undefined;
  #batch: Required<BatchOptions> = { maxKeys: 1, windowMs: 0 };
  /** The armed gathering window, if a worker is waiting for more keys. */
  #window: unknown;
  #windowAt = 0;
  #takeScheduled = false;
  #batchesInFlight = 0;
  #shuttingDown = false;
  #shutDown: Promise<void> | undefined;
  #resolveShutDown: (() => void) | undefined;
  #idleWaiters: IdleWaiter[] = [];

  constructor(opts: WorkQueueOptions = {}) {
    const concurrency = opts.concurrency ?? 4;
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
      throw new ApexAliasError('ERR_QUEUE_OPTIONS', `concurrency must be an integer ≥ 1, got ${concurrency}`);
    }
    const clock = opts.clock ?? realClock;
    this.#clock = clock;
    this.#rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter(() => clock.now());
    this.#concurrency = concurrency;
    this.#observer = opts.observer ?? {};
  }

  /** Keys waiting for a worker (not counting delayed keys or keys in flight). */
  get depth(): number {
    return this.#ready.length - this.#head;
  }

  /** Keys with a delayed add that has not come due yet. */
  get pendingDelayed(): number {
    return this.#delayed.size;
  }

  /** Keys whose handler is running. */
  get inFlight(): number {
    return this.#processing.size;
  }

  /** Makes `key` due now. Ignored after {@link shutDown}. */
  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.set(key, this.#clock.now());
    this.#notify('onAdd', key);
    // An in-flight key stays dirty and is queued when its handler finishes.
    if (this.#processing.has(key)) return;
    this.#push(key);
    this.#pump();
  }

  /**
   * Makes `key` due after `delayMs`. When the key already has a pending delayed add, the earlier
   * deadline wins. A delay ≤ 0 adds it now. A delayed add is independent of a key already waiting
   * or in flight: when it comes due it is an ordinary {@link add}.
   */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    // `!(x > 0)` also sends NaN to the immediate path rather than into the heap.
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const deadline = this.#clock.now() + delayMs;
    const entry = this.#delayed.get(key);
    if (entry === undefined) this.#delayed.push(key, deadline, this.#seq++);
    else if (deadline < entry.deadline) this.#delayed.decrease(entry, deadline);
    else return;
    this.#armTimer();
  }

  /** Adds `key` after the rate limiter's delay for it, counting one more failure. */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    this.addAfter(key, this.#rateLimiter.when(key));
  }

  /** Clears the failure count of `key`, so its next failure backs off from the start. */
  forget(key: string): void {
    this.#rateLimiter.forget(key);
  }

  /** How many times `key` has failed since it was last forgotten. */
  retries(key: string): number {
    return this.#rateLimiter.retries(key);
  }

  /**
   * Starts processing with up to `concurrency` handlers at once. A handler runs on a later
   * microtask, never inside the caller of `add`; a synchronous throw counts as a rejection.
   */
  start(handler: ReconcileHandler): void {
    this.startBatches(
      async ([key]) => {
        try {
          return new Map([[key!, (await handler(key!)) ?? {}]]);
        } catch (error) {
          return new Map([[key!, error instanceof Error ? error : new Error(String(error))]]);
        }
      },
      { maxKeys: 1 },
    );
  }

  /**
   * Starts processing in batches: up to `concurrency` handler calls at once, each with up to
   * `maxKeys` ready keys. Every rule of the queue still holds per key: a key is in at most one
   * batch at a time, and its result decides its requeue or backoff.
   */
  startBatches(handler: BatchHandler, opts: BatchOptions): void {
    if (this.#handler !== undefined)
      throw new ApexAliasError('ERR_QUEUE_STARTED', 'the work queue was already started');
    if (!(Number.isInteger(opts.maxKeys) && opts.maxKeys >= 1))
      throw new ApexAliasError('ERR_QUEUE_OPTIONS', `maxKeys must be an integer ≥ 1, got ${opts.maxKeys}`);
    this.#batch = { maxKeys: opts.maxKeys, windowMs: Math.max(0, opts.windowMs ?? 0) };
    this.#handler = handler;
    this.#pump();
  }

  /**
   * Stops taking work: drops waiting keys, cancels delayed adds and their timer, and ignores
   * later adds. Resolves once the handlers in flight have finished. Calling it again returns the
   * same promise.
   */
  shutDown(): Promise<void> {
    if (this.#shutDown === undefined) {
      this.#shuttingDown = true;
      this.#shutDown = new Promise((resolve) => {
        this.#resolveShutDown = resolve;
      });
      this.#clearTimer();
      if (this.#window !== undefined) this.#clock.clearTimeout(this.#window);
      this.#window = undefined;
      this.#delayed.clear();
      const hadWaiting = this.depth > 0;
      this.#ready = [];
      this.#head = 0;
      this.#dirty.clear();
      if (hadWaiting) this.#notify('onDepth', 0);
      this.#settle();
    }
    return this.#shutDown;
  }

  /**
   * Resolves when nothing is waiting, nothing is in flight, and no delayed key comes due within
   * `horizonMs` from now (a deadline later than now + horizonMs does not count). For tests: with
   * the default horizon of 0, a test awaits this and then advances its fake clock.
   */
  idle(horizonMs = 0): Promise<void> {
    const limit = this.#clock.now() + horizonMs;
    if (this.#isIdle(limit)) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push({ limit, resolve }));
  }

  #isIdle(limit: number): boolean {
    if (this.#processing.size > 0 || this.#takeScheduled) return false;
    // Ready keys held back by a gathering window wait for a timer, like delayed keys.
    if (this.depth > 0 && !(this.#window !== undefined && this.#windowAt > limit)) return false;
    const next = this.#delayed.peek();
    return next === undefined || next.deadline > limit;
  }

  #push(key: string): void {
    this.#ready.push(key);
    this.#notify('onDepth', this.depth);
  }

  #shift(): string | undefined {
    if (this.#head >= this.#ready.length) return undefined;
    const key = this.#ready[this.#head++];
    // Compact now and then so that a long-lived queue does not keep every key it ever held.
    if (this.#head >= 1024 && this.#head * 2 >= this.#ready.length) {
      this.#ready = this.#ready.slice(this.#head);
      this.#head = 0;
    }
    this.#notify('onDepth', this.depth);
    return key;
  }

  /**
   * Hands waiting keys to free workers, in batches of up to `maxKeys`. Keys are taken on a later
   * microtask, so that keys added together in one call stack share a batch.
   */
  #pump(): void {
    if (this.#handler === undefined || this.#window !== undefined || this.#takeScheduled) return;
    if (this.#shuttingDown || this.#batchesInFlight >= this.#concurrency || this.depth === 0) return;
    this.#takeScheduled = true;
    queueMicrotask(() => {
      this.#takeScheduled = false;
      this.#fill();
    });
  }

  #fill(): void {
    const handler = this.#handler!;
    while (!this.#shuttingDown && this.#batchesInFlight < this.#concurrency && this.depth > 0) {
      if (this.#batch.windowMs > 0 && this.depth < this.#batch.maxKeys) {
        // Wait a moment for keys that come due just after these, then take them all.
        this.#windowAt = this.#clock.now() + this.#batch.windowMs;
        this.#window = this.#clock.setTimeout(() => {
          this.#window = undefined;
          this.#take(handler);
          this.#pump();
          this.#settle();
        }, this.#batch.windowMs);
        break;
      }
      this.#take(handler);
    }
    this.#settle();
  }

  #take(handler: BatchHandler): void {
    if (this.#shuttingDown || this.#batchesInFlight >= this.#concurrency) return;
    const keys: string[] = [];
    while (keys.length < this.#batch.maxKeys) {
      const key = this.#shift();
      if (key === undefined) break;
      const dueAt = this.#dirty.get(key) ?? this.#clock.now();
      this.#dirty.delete(key);
      this.#processing.add(key);
      this.#notify('onGet', key, this.#clock.now() - dueAt);
      keys.push(key);
    }
    if (keys.length === 0) return;
    this.#batchesInFlight++;
    void this.#work(keys, handler).catch(reportInternalError);
  }

  async #work(keys: string[], handler: BatchHandler): Promise<void> {
    // Run the handler after the current call stack, so that add() never runs reconcile code.
    await Promise.resolve();
    const startedAt = this.#clock.now();
    let results: Map<string, ReconcileResult | Error>;
    try {
      results = await handler(keys);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      results = new Map(keys.map((k) => [k, failure]));
    }
    this.#batchesInFlight--;
    for (const key of keys) {
      const result = results.get(key) ?? {};
      if (result instanceof Error) {
        if (isTerminal(result)) this.forget(key);
        // Failures during shutDown are not requeued, so they do not count as retries either.
        else if (!this.#shuttingDown) this.#retry(key);
      } else {
        // Forget before a requeue, like controller-runtime: a refresh is not a retry.
        this.forget(key);
        const after = result.requeueAfterMs;
        if (typeof after === 'number') this.addAfter(key, after);
      }
      this.#done(key, startedAt);
    }
  }

  #retry(key: string): void {
    this.addRateLimited(key);
    this.#notify('onRetry', key);
  }

  #done(key: string, startedAt: number): void {
    this.#processing.delete(key);
    this.#notify('onDone', key, this.#clock.now() - startedAt);
    if (!this.#shuttingDown && this.#dirty.has(key)) this.#push(key);
    this.#pump();
    this.#settle();
  }

  /** Resolves shutDown and idle waiters whose condition now holds. */
  #settle(): void {
    if (this.#shuttingDown && this.#processing.size === 0) this.#resolveShutDown?.();
    if (this.#idleWaiters.length === 0) return;
    const waiting: IdleWaiter[] = [];
    for (const waiter of this.#idleWaiters) {
      if (this.#isIdle(waiter.limit)) waiter.resolve();
      else waiting.push(waiter);
    }
    this.#idleWaiters = waiting;
  }

  /** Keeps exactly one timer, armed no later than the earliest delayed deadline. */
  #armTimer(): void {
    const next = this.#delayed.peek();
    if (next === undefined) {
      this.#clearTimer();
      return;
    }
    // A timer that fires early is harmless (it re-arms); only a late one must be replaced.
    if (this.#timer !== undefined && this.#timer.at <= next.deadline) return;
    this.#clearTimer();
    const now = this.#clock.now();
    const ms = Math.min(Math.max(0, next.deadline - now), MAX_TIMER_MS);
    const timer: Timer = { handle: undefined, at: now + ms };
    timer.handle = this.#clock.setTimeout(() => this.#onTimer(timer), ms);
    this.#timer = timer;
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer.handle);
    this.#timer = undefined;
  }

  #onTimer(timer: Timer): void {
    // A late callback from a timer that was already replaced must not clear its successor.
    if (this.#timer !== timer) return;
    this.#timer = undefined;
    if (this.#shuttingDown) return;
    const now = this.#clock.now();
    for (
      let next = this.#delayed.peek();
      next !== undefined && next.deadline <= now;
      next = this.#delayed.peek()
    ) {
      this.#delayed.pop();
      this.add(next.key);
    }
    this.#armTimer();
    this.#settle();
  }

  #notify<K extends keyof QueueObserver>(hook: K, ...args: Parameters<NonNullable<QueueObserver[K]>>): void {
    const fn = this.#observer[hook] as ((...a: typeof args) => void) | undefined;
    if (fn === undefined) return;
    try {
      fn.apply(this.#observer, args);
    } catch {
      // Metrics must never break scheduling; a broken hook shows up as missing metrics.
    }
  }
}

function isTerminal(error: unknown): boolean {
  // Bounded, because a cause chain may be cyclic.
  for (let e = error, depth = 0; e instanceof Error && depth < 16; e = e.cause, depth++) {
    if (e instanceof TerminalError) return true;
  }
  return false;
}

/**
 * Only an injected dependency (rate limiter, clock) throwing can get here. Surface it as a
 * process warning rather than an unhandled rejection that would end the controller.
 */
function reportInternalError(error: unknown): void {
  process.emitWarning(error instanceof Error ? error : new Error(String(error)), {
    code: 'APEXALIAS_WORKQUEUE',
  });
}
