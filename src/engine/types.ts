import type { DnsBackend } from '../backends/types.ts';
import type { BackendErrorCode } from '../backends/errors.ts';
import type { ConfigErrorCode } from '../config/errors.ts';
import type {
  AddressRRset,
  AddressType,
  AliasPolicy,
  CurrentRecords,
  NameChange,
  DesiredState,
  ResolveFailureReason,
  DiffResult,
  Family,
} from '../plan/types.ts';
import type { Resolved } from '../resolve/resolver.ts';
import type { NameserverVerdict, NameserverVerifier } from '../drift/nameservers.ts';
import type { RepairLimiter } from '../drift/zone.ts';
import type { Logger } from '../observe/logger.ts';
import type { Resolver } from '../resolve/resolver.ts';
import type { RefreshPolicy } from './refresh.ts';

/** The fields of a defaulted ApexAlias spec that the engine reads. */
export interface AliasSpecView {
  zone: string;
  name: string;
  target: string;
  addressFamilies: Family[];
  ttl: { min?: number; max: number };
  onTargetMissing: AliasPolicy['onTargetMissing'];
  fallbackAddresses: string[];
  driftPolicy: 'Correct' | 'Report';
  /** What `deleting` does: remove the records (default), or leave them, marked retained. */
  deletionPolicy?: 'Delete' | 'Retain';
  adopt: boolean;
  backend?: string;
}

/** One alias to reconcile: where it comes from and what it asks for. */
export interface AliasInput {
  namespace: string;
  name: string;
  spec: AliasSpecView;
  /** RFC 3339; the older of two aliases for one name keeps it (behaviour rule 10). */
  createdAt?: string;
  /** The RRsets written last (from status), restored while lookups fail (behaviour rule 5). */
  lastKnownGood?: Partial<Record<AddressType, AddressRRset>>;
  /** Aliases of this controller whose marker this alias may replace: the losers of behaviour rule 10. */
  supersedes?: string[];
  /**
   * The alias is being deleted (behaviour rule 11): nothing is resolved, and if the marker is
   * exactly the alias's, its A, AAAA and marker go (`deletionPolicy: Delete`) or the marker is
   * marked retained and the records stay (`Retain`).
   */
  deleting?: boolean;
}

/** `ERR_RESOLVE_<REASON>`: a lookup of the target failed (behaviour rule 5). */
export type ResolveFailureCode = `ERR_RESOLVE_${Uppercase<SnakeCase<ResolveFailureReason>>}`;
type SnakeCase<S extends string> = S extends `${infer A}-${infer B}` ? `${A}_${SnakeCase<B>}` : S;

/** The code of a failed lookup of `reason`. */
export function resolveFailureCode(reason: ResolveFailureReason): ResolveFailureCode {
  return `ERR_RESOLVE_${reason.toUpperCase().replace(/-/g, '_')}` as ResolveFailureCode;
}

/**
 * Where an alias's pass failed: looking up the target, choosing its backend (configuration),
 * reading or writing the backend, settling a conflict, or a bug.
 */
export type FailureStage = 'resolve' | 'spec' | 'config' | 'backend' | 'conflict' | 'internal';

/** Why an alias could not be planned or written; `code` is stable. */
export interface AliasFailure {
  stage: FailureStage;
  code:
    | ResolveFailureCode
    | ConfigErrorCode
    | BackendErrorCode
    | 'ERR_INVALID_NAME'
    | 'ERR_CONFLICT'
    | 'ERR_INTERNAL';
  message: string;
  retryable: boolean;
}

/** Everything the engine learned and did for one alias in one pass. */
export interface AliasOutcome {
  input: AliasInput;
  /** `<namespace>/<name>`. */
  key: string;
  /** Absolute owner name of the alias records. */
  fqdn: string;
  zone: string;
  backend?: string;
  /** The losers of behaviour rule 10 for this alias's name, when it won. */
  supersedes?: string[];
  resolved: Partial<Record<AddressType, Resolved>>;
  desired?: DesiredState;
  verdict?: DiffResult;
  /** True when this pass wrote the alias's change to the backend. */
  written: boolean;
  /** What the backend held at the name when last read (after the write, when there was one). */
  current?: CurrentRecords;
  /** Zone drift against the last-written records, and what was done about it (behaviour rule 13). */
  drift?: { types: Partial<Record<AddressType, boolean>>; action: 'none' | 'repair' | 'report' | 'fight' };
  /** The backend holds what should be served (read back after a write, or found unchanged). */
  inSync?: boolean;
  /** Per authoritative nameserver: whether it serves something else, and what. */
  nameservers?: Map<string, NameserverVerdict>;
  failure?: AliasFailure;
  /** Epoch ms at which the alias should be looked at again. */
  refreshAt: number;
}

/** Picks the backend for a zone (and the alias's `spec.backend`), or throws a typed error. */
export type BackendLookup = (zone: string, requested: string | undefined) => DnsBackend;

/** Totals for one pass, for the CLI summary, metrics and benchmarks. */
export interface SyncSummary {
  aliases: number;
  changed: number;
  unchanged: number;
  blocked: number;
  failed: number;
  /** Aliases whose zone drift was left in place (driftPolicy Report, or a fight). */
  drifted: number;
  /** Atomic writes sent to backends (UPDATE messages, change batches, file renames). */
  writes: number;
  /** RRs carried by those writes. */
  records: number;
  lookups: number;
}

/** One planned change and the alias it belongs to. */
export interface PlannedChange {
  outcome: AliasOutcome;
  change: NameChange;
}

/** What one pass runs with: the resolver, the backends, the policies and the clock. */
export interface SyncDeps {
  resolver: Resolver;
  backendFor: BackendLookup;
  ownerId: string;
  /** Limits drift repairs per alias; without it every drift is repaired (or reported under Report). */
  repairs?: RepairLimiter;
  /** The nameserver verifier of a backend, when its zones' authoritative servers are to be checked. */
  nameservers?: (backend: string) => NameserverVerifier | undefined;
  /** After a write, look again this soon to verify the secondaries (controller mode). */
  verifyAfterWriteMs?: number;
  refresh: RefreshPolicy;
  logger: Logger;
  now: () => number;
  random: () => number;
  /** Plan only: read and diff, but write nothing. */
  dryRun: boolean;
  /** Consecutive failures per alias key, for backoff; the engine updates it. */
  failures?: Map<string, number>;
  /** Called as work completes, for progress on large manifest sets. */
  onProgress?: (phase: 'resolve' | 'read' | 'write', done: number, total: number) => void;
  /** Lookups in flight at once. */
  concurrency?: number;
  /** Zones read and written at once (each zone's writes stay in order). Default 16. */
  zoneConcurrency?: number;
  /**
   * Cancels the pass (the leader lease was lost, or shutdown): backend calls in flight are
   * cancelled, no further zone is started, and the pass rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

export interface SyncReport {
  outcomes: AliasOutcome[];
  summary: SyncSummary;
}
