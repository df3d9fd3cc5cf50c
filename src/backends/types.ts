import type { CurrentRecords, NameChange } from '../plan/types.ts';

/** What a backend can promise; the engine batches and retries according to it. */
export interface BackendCapabilities {
  /** A batch of several names lands whole or not at all. */
  atomicBatch: boolean;
  /** Writes are refused when the expectation in `NameChange.expect` no longer holds. */
  conditional: boolean;
  /** The largest number of names one `apply` call should carry. */
  maxBatchNames: number;
}

/**
 * One DNS backend: a primary server spoken to over RFC 2136, a provider API, or a zone file.
 * Every implementation runs the shared conformance suite in test/integration/conformance.
 */
export interface DnsBackend {
  /** The backend's name in the configuration ("primary"). */
  readonly name: string;
  /** The backend's type ("rfc2136", "zonefile", …). */
  readonly type: string;
  capabilities(): BackendCapabilities;
  /** Reads A, AAAA, CNAME at each name and the TXT at its marker name. Names absent from the zone map to `{name}`. */
  read(zone: string, names: string[]): Promise<Map<string, CurrentRecords>>;
  /**
   * Applies every change as one atomic, conditional write when the backend supports it.
   * Throws a `BackendError` (with a stable code) when nothing was written.
   */
  apply(zone: string, changes: NameChange[]): Promise<void>;
  close(): Promise<void>;
}
