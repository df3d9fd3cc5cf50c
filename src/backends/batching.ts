import type { CurrentRecords, NameChange } from '../plan/types.ts';
import type { ApplyResult, BackendCallOptions, BackendCapabilities, DnsBackend } from './types.ts';

interface Waiter<R> {
  resolve(value: R): void;
  reject(error: unknown): void;
  signal?: AbortSignal;
}

interface PendingRead {
  names: Set<string>;
  waiters: Array<Waiter<Map<string, CurrentRecords>>>;
  timer: NodeJS.Timeout;
}

interface PendingApply {
  changes: NameChange[];
  waiters: Array<{ names: Set<string> } & Waiter<ApplyResult>>;
  timer: NodeJS.Timeout;
}

/**
 * Coalesces the reads and writes that concurrent reconciles make to one zone within a short
 * window into one backend call, so that a controller reconciling aliases one key at a time
 * still writes each zone in a few large atomic UPDATEs instead of one message per name.
 * Each caller gets back exactly its own names' records and its own names' chunk outcomes.
 */
export class BatchingBackend implements DnsBackend {
  readonly name: string;
  readonly type: string;
  readonly #inner: DnsBackend;
  readonly #windowMs: number;
  readonly #reads = new Map<string, PendingRead>();
  readonly #applies = new Map<string, PendingApply>();

  constructor(inner: DnsBackend, opts: { windowMs: number }) {
    this.#inner = inner;
    this.name = inner.name;
    this.type = inner.type;
    this.#windowMs = opts.windowMs;
  }

  capabilities(): BackendCapabilities {
    return this.#inner.capabilities();
  }

  read(zone: string, names: string[], opts?: BackendCallOptions): Promise<Map<string, CurrentRecords>> {
    return new Promise((resolve, reject) => {
      if (opts?.signal?.aborted) return reject(opts.signal.reason);
      let pending = this.#reads.get(zone);
      if (!pending) {
        pending = {
          names: new Set(),
          waiters: [],
          timer: setTimeout(() => this.#flushRead(zone), this.#windowMs),
        };
        this.#reads.set(zone, pending);
      }
      for (const n of names) pending.names.add(n);
      pending.waiters.push({
        resolve: (all) => resolve(new Map(names.map((n) => [n, all.get(n) ?? { name: n }]))),
        reject,
        signal: opts?.signal,
      });
      if (pending.names.size >= this.#inner.capabilities().maxBatchNames) this.#flushRead(zone);
    });
  }

  apply(zone: string, changes: NameChange[], opts?: BackendCallOptions): Promise<ApplyResult> {
    return new Promise((resolve, reject) => {
      if (opts?.signal?.aborted) return reject(opts.signal.reason);
      let pending = this.#applies.get(zone);
      if (!pending) {
        pending = {
          changes: [],
          waiters: [],
          timer: setTimeout(() => this.#flushApply(zone), this.#windowMs),
        };
        this.#applies.set(zone, pending);
      }
      pending.changes.push(...changes);
      pending.waiters.push({
        names: new Set(changes.map((c) => c.name)),
        resolve,
        reject,
        signal: opts?.signal,
      });
      if (pending.changes.length >= this.#inner.capabilities().maxBatchNames) this.#flushApply(zone);
    });
  }

  async close(): Promise<void> {
    for (const zone of [...this.#reads.keys()]) this.#flushRead(zone);
    for (const zone of [...this.#applies.keys()]) this.#flushApply(zone);
    await this.#inner.close();
  }

  #flushRead(zone: string): void {
    const pending = this.#reads.get(zone);
    if (!pending) return;
    this.#reads.delete(zone);
    clearTimeout(pending.timer);
    this.#inner.read(zone, [...pending.names], { signal: whenAllAborted(pending.waiters) }).then(
      (all) => pending.waiters.forEach((w) => w.resolve(all)),
      (err: unknown) => pending.waiters.forEach((w) => w.reject(err)),
    );
  }

  #flushApply(zone: string): void {
    const pending = this.#applies.get(zone);
    if (!pending) return;
    this.#applies.delete(zone);
    clearTimeout(pending.timer);
    // A caller cancelled before the flush takes its changes out; once sent, a write is shared.
    const live = pending.waiters.filter((w) => {
      if (!w.signal?.aborted) return true;
      w.reject(w.signal.reason);
      return false;
    });
    const changes = pending.changes.filter((c) => live.some((w) => w.names.has(c.name)));
    if (live.length === 0) return;
    this.#inner.apply(zone, changes, { signal: whenAllAborted(live) }).then(
      (result) => {
        for (const w of live) {
          const chunks = result.chunks
            .filter((c) => c.names.some((n) => w.names.has(n)))
            .map((c) => ({
              ...c,
              names: c.names.filter((n) => w.names.has(n)),
              batchSize: c.batchSize ?? c.names.length,
            }));
          w.resolve({ chunks });
        }
      },
      (err: unknown) => live.forEach((w) => w.reject(err)),
    );
  }
}

/**
 * A signal for a call shared by several callers: it aborts only once every caller's signal has,
 * so that one caller giving up never cancels the others' work. Undefined when a caller has none.
 */
function whenAllAborted(waiters: ReadonlyArray<{ signal?: AbortSignal }>): AbortSignal | undefined {
  const signals = waiters.map((w) => w.signal);
  if (signals.some((s) => s === undefined)) return undefined;
  const unique = [...new Set(signals as AbortSignal[])];
  if (unique.length === 1) return unique[0];
  const all = new AbortController();
  const check = (): void => {
    if (unique.every((s) => s.aborted)) all.abort(unique[0]!.reason);
  };
  for (const s of unique) s.addEventListener('abort', check, { once: true });
  check();
  return all.signal;
}
