import type { Metrics } from '../observe/metrics.ts';
import type { CurrentRecords, NameChange } from '../plan/types.ts';
import type { ApplyResult, BackendCallOptions, BackendCapabilities, DnsBackend } from './types.ts';

/** Measures every backend call: duration, errors by rcode, UPDATE messages and their size. */
export class InstrumentedBackend implements DnsBackend {
  readonly name: string;
  readonly type: string;
  readonly #inner: DnsBackend;
  readonly #metrics: Metrics;

  readonly markers?: DnsBackend['markers'];

  constructor(inner: DnsBackend, metrics: Metrics) {
    this.#inner = inner;
    this.#metrics = metrics;
    this.name = inner.name;
    this.type = inner.type;
    if (inner.markers) this.markers = (zone, opts) => inner.markers!(zone, opts);
  }

  capabilities(): BackendCapabilities {
    return this.#inner.capabilities();
  }

  async read(zone: string, names: string[], opts?: BackendCallOptions): Promise<Map<string, CurrentRecords>> {
    const started = performance.now();
    try {
      const result = await this.#inner.read(zone, names, opts);
      this.#metrics.observeBackend(this.name, 'read', (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      const rcode = (err as { detail?: string }).detail ?? 'ERROR';
      this.#metrics.observeBackend(this.name, 'read', (performance.now() - started) / 1000, rcode);
      throw err;
    }
  }

  async apply(zone: string, changes: NameChange[], opts?: BackendCallOptions): Promise<ApplyResult> {
    const started = performance.now();
    const result = await this.#inner.apply(zone, changes, opts);
    const seconds = (performance.now() - started) / 1000;
    for (const chunk of result.chunks) {
      this.#metrics.observeUpdate(this.name, chunk.records);
      this.#metrics.observeBackend(this.name, 'apply', seconds / result.chunks.length, chunk.error?.detail);
    }
    return result;
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
