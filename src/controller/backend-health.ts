import type { DnsBackend } from '../backends/types.ts';
import type { Logger } from '../observe/logger.ts';
import type { Clock } from './workqueue.ts';

export interface BackendHealthOptions {
  /** Queues a key for a reconcile now. */
  enqueue(key: string): void;
  logger: Logger;
  timers: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  /** Pause between probes of a backend that is down. Default 1 s. */
  probeMs?: number;
}

interface Down {
  backend: DnsBackend;
  /** A zone to probe with (the zone of the first alias that failed). */
  zone: string;
  /** The aliases that failed against it, to be woken when it answers again. */
  keys: Set<string>;
  timer: unknown;
}

/**
 * Wakes the aliases a backend failed as soon as it answers again. Left to their backoff (5 s
 * doubling to 300 s), aliases of a backend that was down for a minute converged 15 to 40 s after
 * it came back; a probe every second (one cheap read of a zone's apex) brings that within a
 * second or two.
 */
export class BackendHealth {
  readonly #opts: Required<BackendHealthOptions>;
  readonly #down = new Map<string, Down>();
  readonly #probes = new Set<Promise<void>>();

  constructor(opts: BackendHealthOptions) {
    this.#opts = { probeMs: 1_000, ...opts };
  }

  /** Backends being probed now, for tests and metrics. */
  get probing(): string[] {
    return [...this.#down.keys()];
  }

  /** `key` failed because `backend` did not answer for `zone`: wake it when the backend is back. */
  failed(backend: DnsBackend, zone: string, key: string): void {
    const down = this.#down.get(backend.name);
    if (down) {
      down.keys.add(key);
      return;
    }
    this.#opts.logger.warn('backend unreachable; probing it every second to resume at once', {
      backend: backend.name,
      zone,
    });
    const entry: Down = { backend, zone, keys: new Set([key]), timer: undefined };
    this.#down.set(backend.name, entry);
    this.#schedule(entry);
  }

  /** Resolves once no probe is in flight (for tests). */
  async idle(): Promise<void> {
    while (this.#probes.size) await Promise.all([...this.#probes]);
  }

  stop(): void {
    for (const d of this.#down.values()) this.#opts.timers.clearTimeout(d.timer);
    this.#down.clear();
  }

  #schedule(d: Down): void {
    d.timer = this.#opts.timers.setTimeout(() => {
      const probe = this.#probe(d).finally(() => this.#probes.delete(probe));
      this.#probes.add(probe);
    }, this.#opts.probeMs);
  }

  async #probe(d: Down): Promise<void> {
    if (this.#down.get(d.backend.name) !== d) return;
    try {
      await d.backend.read(d.zone, [d.zone]);
    } catch {
      this.#schedule(d);
      return;
    }
    this.#down.delete(d.backend.name);
    this.#opts.logger.info('backend answers again; resuming its aliases', {
      backend: d.backend.name,
      aliases: d.keys.size,
    });
    for (const key of d.keys) this.#opts.enqueue(key);
  }
}
