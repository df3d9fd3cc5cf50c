import type { CurrentRecords, NameChange } from '../plan/types.ts';
import type { ApplyResult, BackendCapabilities, DnsBackend } from './types.ts';

interface Waiter<R> {
  resolve(value: R): void;
  reject(error: unknown): void;
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

  read(zone: string, names: string[]): Promise<Map<string, CurrentRecords>> {
    return new Promise((resolve, reject) => {
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
      });
      if (pending.names.size >= this.#inner.capabilities().maxBatchNames) this.#flushRead(zone);
    });
  }

  apply(zone: string, changes: NameChange[]): Promise<ApplyResult> {
    return new Promise((resolve, reject) => {
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
      pending.waiters.push({ names: new Set(changes.map((c) => c.name)), resolve, reject });
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
    this.#inner.read(zone, [...pending.names]).then(
      (all) => pending.waiters.forEach((w) => w.resolve(all)),
      (err: unknown) => pending.waiters.forEach((w) => w.reject(err)),
    );
  }

  #flushApply(zone: string): void {
    const pending = this.#applies.get(zone);
    if (!pending) return;
    this.#applies.delete(zone);
    clearTimeout(pending.timer);
    this.#inner.apply(zone, pending.changes).then(
      (result) => {
        for (const w of pending.waiters) {
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
      (err: unknown) => pending.waiters.forEach((w) => w.reject(err)),
    );
  }
}
