import type { CurrentRecords, NameChange } from '../plan/types.ts';
import type { BackendError } from './errors.ts';

/**
 * What one `apply` call did. Each chunk is one atomic write (one UPDATE message, one change
 * batch, one file rename): either all of its names landed or none did.
 */
export interface ApplyResult {
  chunks: Array<{
    names: string[];
    records: number;
    error?: BackendError;
  }>;
}

/** Per-call options of {@link DnsBackend.read} and {@link DnsBackend.apply}. */
export interface BackendCallOptions {
  /**
   * Cancels the call (a lost lease, shutdown). A write already sent may still land; that is
   * harmless because every write is checked against the zone (conditionally, or by reading right
   * before it where the backend cannot be conditional) and the next pass re-reads before it plans.
   * A cancelled call rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

/** What a backend can promise; the engine batches and retries according to it. */
export interface BackendCapabilities {
  /** A batch of several names lands whole or not at all. */
  atomicBatch: boolean;
  /**
   * The server refuses a write when the expectation in `NameChange.expect` no longer holds. A
   * backend without it checks the expectation by reading right before it writes, which leaves a
   * window for a concurrent writer (docs/backends.md).
   */
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
  read(zone: string, names: string[], opts?: BackendCallOptions): Promise<Map<string, CurrentRecords>>;
  /**
   * Applies the changes in as few atomic, conditional writes as the backend allows (one when
   * they fit). A chunk whose write failed carries the `BackendError` and changed nothing.
   * Throws only for programming errors, never for a backend's answer.
   */
  apply(zone: string, changes: NameChange[], opts?: BackendCallOptions): Promise<ApplyResult>;
  /**
   * Every ownership marker in the zone: owner name → the TXT strings at its marker name. The
   * controller's sweep uses it to find records whose ApexAlias no longer exists. Optional: a
   * backend without it is not swept (docs/backends.md says which).
   */
  markers?(zone: string, opts?: BackendCallOptions): Promise<Map<string, string[]>>;
  close(): Promise<void>;
}
