import { aliasKey } from '../api/names.ts';
import { readFileSync } from 'node:fs';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AddressType, Family, FamilyResolution, ResolveFailureReason } from '../plan/types.ts';
import type { ResolverStats } from '../resolve/resolver.ts';

/**
 * Every metric of apexalias's own starts with this. The process and Node.js metrics keep their
 * standard names (`process_*`, `nodejs_*`), so that generic dashboards and alerts find them.
 */
export const METRIC_PREFIX = 'apexalias_';

/** How one reconcile ended (`apexalias_reconcile_total{result}`). */
export const RECONCILE_RESULTS = ['success', 'error', 'requeue', 'terminal'] as const;
export type ReconcileLabel = (typeof RECONCILE_RESULTS)[number];

/** Why resolving a target failed (`apexalias_resolve_errors_total{reason}`); `rcode` is any other response code. */
export const RESOLVE_ERROR_REASONS = [
  'nxdomain',
  'nodata',
  'servfail',
  'refused',
  'timeout',
  'loop',
  'chain_too_long',
  'malformed',
  'rcode',
  'dnssec_unvalidated',
  'dnssec_bogus',
] as const;
export type ResolveErrorReason = (typeof RESOLVE_ERROR_REASONS)[number];

/** `apexalias_dnssec_validations_total{result}`: what the validator said about one lookup's chain. */
export const DNSSEC_RESULTS = ['validated', 'unvalidated', 'bogus'] as const;
export type DnssecResult = (typeof DNSSEC_RESULTS)[number];

/** What a backend was asked to do (`operation` label). */
export const BACKEND_OPERATIONS = ['read', 'apply'] as const;
export type BackendOperation = (typeof BACKEND_OPERATIONS)[number];

/** `apexalias_aliases{state}`. */
export const ALIAS_STATES = ['ready', 'not_ready'] as const;
export type AliasState = (typeof ALIAS_STATES)[number];

/** The `family` label's values are the spec's address families. */
export const FAMILIES = ['IPv4', 'IPv6'] as const satisfies readonly Family[];

/**
 * Default metrics prom-client would export that `promtool check metrics` rejects: they are
 * gauges whose names end in `_total`. The same numbers, broken down by `type`, stay exported as
 * `nodejs_active_{handles,requests,resources}`; sum those instead.
 */
const REJECTED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const QUEUE_BUCKETS = [0.001, 0.01, 0.1, 1, 10, 60, 300, 1000];
const RECORDS_PER_MESSAGE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

/** Longest backend rcode label value kept as is; anything odder becomes `OTHER`. */
const RCODE_LABEL = /^[A-Za-z0-9_]{1,32}$/;

type AliasLabels = 'namespace' | 'alias';

/** Options for {@link createMetrics}. */
export interface MetricsOptions {
  /** `apexalias_build_info{version}`; default: the version in package.json. */
  version?: string;
  /** Export prom-client's default `process_*` and `nodejs_*` metrics. Default true. */
  defaultMetrics?: boolean;
  /** Epoch ms; used for `apexalias_out_of_sync_seconds` and sync timestamps. Default `Date.now`. */
  now?: () => number;
}

/**
 * The typed metric handles of one apexalias process. The raw prom-client objects are exposed
 * for anything the helpers do not cover; the helpers keep label values inside their documented
 * sets, which is what keeps cardinality bounded. The per-alias gauges are not exposed: only the
 * helpers write them, so each alias's series are known and forgetting one costs only its own.
 * docs/metrics.md describes every metric.
 */
export interface Metrics {
  readonly registry: Registry;

  readonly reconcileTotal: Counter<'result'>;
  readonly reconcileDuration: Histogram;
  readonly resolveDuration: Histogram;
  readonly resolveErrors: Counter<'reason'>;
  readonly dnssecValidations: Counter<'result'>;
  readonly resolverCacheHits: Counter;
  readonly resolverCacheMisses: Counter;
  readonly resolverQueries: Counter;
  readonly targetDrift: Counter;
  readonly apiWrites: Counter<'kind' | 'result'>;
  readonly orphansRemoved: Counter;
  readonly eventsDropped: Counter<'reason'>;
  readonly zoneDriftDetected: Counter<'family' | 'action'>;
  readonly recordsManaged: Gauge<'zone' | 'family'>;
  readonly backendRequestDuration: Histogram<'backend' | 'operation'>;
  readonly backendErrors: Counter<'backend' | 'operation' | 'rcode'>;
  readonly updateMessages: Counter<'backend'>;
  readonly updateRecordsPerMessage: Histogram;
  readonly workqueueDepth: Gauge;
  readonly workqueueQueueDuration: Histogram;
  readonly workqueueWorkDuration: Histogram;
  readonly workqueueRetries: Counter;
  readonly leader: Gauge;
  readonly buildInfo: Gauge<'version' | 'node_version'>;
  readonly aliases: Gauge<'state'>;

  /** Counts one reconcile and observes how long it took. */
  observeReconcile(result: ReconcileLabel, seconds: number): void;
  /**
   * Observes one target lookup (one family); with a reason, also counts it as failed. The
   * resolver's own spelling (`chain-too-long`) is accepted.
   */
  observeResolve(seconds: number, reason?: ResolveErrorReason | ResolveFailureReason): void;
  /** Counts a failed lookup without a duration. */
  countResolveError(reason: ResolveErrorReason | ResolveFailureReason): void;
  /**
   * Counts the DNSSEC state of one real lookup: `validated`, `unvalidated` (no AD bit from a
   * trusted validator; a failure under `require`) or `bogus`. Lookups made with `resolver.dnssec:
   * off`, and failures unrelated to DNSSEC, are not counted.
   */
  countDnssecValidation(result: FamilyResolution): void;
  /**
   * Reads the resolver's cumulative counters at every scrape, instead of incrementing
   * `resolverCacheHits`/`Misses`/`Queries` by hand (do one or the other, not both). Binding a
   * new resolver continues the counters from where they are; binding the same one again is a no-op.
   */
  bindResolverStats(stats: Readonly<ResolverStats>): void;
  /** Counts one change of a target's addresses that led to a write. */
  countTargetDrift(): void;
  /** One finalizer or status write to the API server, and whether it landed (a failure is retried). */
  countApiWrite(kind: 'status' | 'finalizer', ok: boolean): void;
  /** Names whose records the ownership sweep removed because their ApexAlias is gone. */
  countOrphansRemoved(n: number): void;
  /** An Event not recorded: rate-limited, or failed by the API server three times. */
  countEventDropped(reason: 'rate_limited' | 'api_error'): void;
  /** Counts one detection of zone drift and what was done: repair, report or fight. */
  countZoneDrift(family: Family | AddressType, action: 'repair' | 'report' | 'fight'): void;
  /** 1 when the backend serves something other than what was written for this alias and family. */
  setZoneDrift(namespace: string, alias: string, family: Family | AddressType, drifted: boolean): void;
  /**
   * Sets the per-nameserver drift of one alias and family from one round of queries, keyed by
   * nameserver; nameservers missing from `drifted` (no longer in the zone's NS set) are removed.
   */
  setNameserverDrift(
    namespace: string,
    alias: string,
    family: Family | AddressType,
    drifted: ReadonlyMap<string, boolean> | Readonly<Record<string, boolean>>,
  ): void;
  /**
   * Level-triggered: `false` starts the out-of-sync clock (once; later calls keep the first
   * time), `true` stops it and sets the gauge to 0. The gauge grows between scrapes on its own.
   */
  setInSync(namespace: string, alias: string, inSync: boolean, atMs?: number): void;
  /** Stamps the last successful sync of an alias (default: now). */
  markSynced(namespace: string, alias: string, atMs?: number): void;
  /** Replaces every `records_managed` series: zones or families not listed disappear. */
  setRecordsManaged(counts: Iterable<{ zone: string; family: Family | AddressType; records: number }>): void;
  /**
   * Observes one backend request; with an rcode other than NOERROR (a `BackendError.detail`:
   * an RCODE name, a TSIG error, an errno code or an HTTP status), also counts an error.
   */
  observeBackend(backend: string, operation: BackendOperation, seconds: number, rcode?: string): void;
  /** Counts one atomic write (UPDATE message, change batch, file rename) and the RRs it carried. */
  observeUpdate(backend: string, records: number): void;
  /** Sets the number of ready and not-ready aliases this replica knows. */
  setAliasCounts(ready: number, notReady: number): void;
  setLeader(leading: boolean): void;
  /** Removes every series labelled with this alias, so a deleted alias leaves nothing behind. */
  forgetAlias(namespace: string, alias: string): void;
}

/**
 * Creates apexalias's metrics in `registry`. A registry can hold them once; create a new
 * registry per process (or per test).
 */
export function createMetrics(registry: Registry = new Registry(), options: MetricsOptions = {}): Metrics {
  const now = options.now ?? Date.now;
  const registers = [registry];
  const name = (suffix: string): string => METRIC_PREFIX + suffix;

  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    for (const rejected of REJECTED_DEFAULT_METRICS) registry.removeSingleMetric(rejected);
  }

  // The resolver's cumulative stats, read at scrape time when bound.
  let resolverStats: Readonly<ResolverStats> | undefined;
  const seen: ResolverStats = { queries: 0, cacheHits: 0, cacheMisses: 0 };
  const fromResolver = (key: keyof ResolverStats) =>
    function collect(this: Counter): void {
      if (!resolverStats) return;
      const current = resolverStats[key];
      // A smaller value means a new resolver started from zero: all of it is new.
      const delta = current >= seen[key] ? current - seen[key] : current;
      seen[key] = current;
      if (delta > 0) this.inc(delta);
    };

  // Out-of-sync clocks by alias key; the gauge is computed at scrape time.
  const outOfSyncSince = new Map<string, { namespace: string; alias: string; since: number }>();

  const reconcileTotal = new Counter({
    name: name('reconcile_total'),
    help: 'Reconciles of one alias, by how they ended (success, error, requeue, terminal).',
    labelNames: ['result'] as const,
    registers,
  });
  const reconcileDuration = new Histogram({
    name: name('reconcile_duration_seconds'),
    help: 'Time one reconcile took, from dequeue to status written.',
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const resolveDuration = new Histogram({
    name: name('resolve_duration_seconds'),
    help: 'Time to resolve one family of a target, following its CNAME chain (real lookups; cache hits are not observed).',
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const resolveErrors = new Counter({
    name: name('resolve_errors_total'),
    help: 'Target lookups that did not yield addresses, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const dnssecValidations = new Counter({
    name: name('dnssec_validations_total'),
    help: 'Target lookups made with resolver.dnssec prefer or require, by what the validator said about the whole chain: validated, unvalidated or bogus.',
    labelNames: ['result'] as const,
    registers,
  });
  const resolverCacheHits = new Counter({
    name: name('resolver_cache_hits_total'),
    help: 'Lookups answered from the resolver cache or joined to one already in flight.',
    registers,
    collect: fromResolver('cacheHits'),
  });
  const resolverCacheMisses = new Counter({
    name: name('resolver_cache_misses_total'),
    help: 'Lookups that had to query an upstream server.',
    registers,
    collect: fromResolver('cacheMisses'),
  });
  const resolverQueries = new Counter({
    name: name('resolver_queries_total'),
    help: 'DNS queries sent to upstream servers, retries included.',
    registers,
    collect: fromResolver('queries'),
  });
  const targetDrift = new Counter({
    name: name('target_drift_total'),
    help: "Changes of a target's addresses that led to a write (expected drift).",
    registers,
  });
  const apiWrites = new Counter({
    name: name('api_writes_total'),
    help: 'Finalizer and status writes to the API server, written off the DNS path; result="error" writes are retried with backoff.',
    labelNames: ['kind', 'result'] as const,
    registers,
  });
  for (const kind of ['status', 'finalizer'])
    for (const result of ['ok', 'error']) apiWrites.inc({ kind, result }, 0);
  const eventsDropped = new Counter({
    name: name('events_dropped_total'),
    help: 'Kubernetes Events not recorded: rate_limited (over 50 at once or 5 a second), or api_error (the API server failed them three times).',
    labelNames: ['reason'] as const,
    registers,
  });
  for (const reason of ['rate_limited', 'api_error']) eventsDropped.inc({ reason }, 0);
  const orphansRemoved = new Counter({
    name: name('orphans_removed_total'),
    help: 'Names whose records and marker the ownership sweep removed because their ApexAlias no longer exists.',
    registers,
  });
  const zoneDriftDetected = new Counter({
    name: name('zone_drift_detected_total'),
    help: 'Zone drift found on a refresh (the backend served something other than what was written), by family and by what was done: repair, report or fight.',
    labelNames: ['family', 'action'],
    registers,
  });
  for (const family of FAMILIES)
    for (const action of ['repair', 'report', 'fight']) zoneDriftDetected.inc({ family, action }, 0);
  const zoneDrift = new Gauge({
    name: name('zone_drift'),
    help: 'Is 1 while the backend serves something other than what the controller wrote for the alias and family.',
    labelNames: ['namespace', 'alias', 'family'] as const,
    registers,
  });
  const zoneDriftNameserver = new Gauge({
    name: name('zone_drift_nameserver'),
    help: "Is 1 while this authoritative nameserver of the alias's zone does not serve what was written.",
    labelNames: ['namespace', 'alias', 'family', 'nameserver'] as const,
    registers,
  });
  const outOfSync = new Gauge({
    name: name('out_of_sync_seconds'),
    help: 'Seconds since the alias last served what it should; 0 while in sync.',
    labelNames: ['namespace', 'alias'] as const,
    registers,
    collect(this: Gauge<AliasLabels>): void {
      const t = now();
      for (const s of outOfSyncSince.values()) {
        this.set({ namespace: s.namespace, alias: s.alias }, Math.max(0, (t - s.since) / 1000));
      }
    },
  });
  const recordsManaged = new Gauge({
    name: name('records_managed'),
    help: 'Address records the controller owns, per zone and family.',
    labelNames: ['zone', 'family'] as const,
    registers,
  });
  const backendRequestDuration = new Histogram({
    name: name('backend_request_duration_seconds'),
    help: 'Time of one backend request (read or apply), failed ones included.',
    labelNames: ['backend', 'operation'] as const,
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const backendErrors = new Counter({
    name: name('backend_errors_total'),
    help: "Failed backend requests, by backend, operation and the backend's result code.",
    labelNames: ['backend', 'operation', 'rcode'] as const,
    registers,
  });
  const updateMessages = new Counter({
    name: name('update_messages_total'),
    help: 'Atomic writes sent to a backend (RFC 2136 UPDATE messages, change batches, zone file renames).',
    labelNames: ['backend'] as const,
    registers,
  });
  const updateRecordsPerMessage = new Histogram({
    name: name('update_records_per_message'),
    help: 'Resource records carried by one atomic write.',
    buckets: RECORDS_PER_MESSAGE_BUCKETS,
    registers,
  });
  const workqueueDepth = new Gauge({
    name: name('workqueue_depth'),
    help: 'Alias keys waiting in the workqueue (ready now; delayed requeues excluded).',
    registers,
  });
  const workqueueQueueDuration = new Histogram({
    name: name('workqueue_queue_duration_seconds'),
    help: 'Time a key waited in the workqueue between becoming ready and being picked up.',
    buckets: QUEUE_BUCKETS,
    registers,
  });
  const workqueueWorkDuration = new Histogram({
    name: name('workqueue_work_duration_seconds'),
    help: 'Time spent processing one key taken from the workqueue.',
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const workqueueRetries = new Counter({
    name: name('workqueue_retries_total'),
    help: 'Keys put back into the workqueue with rate-limited backoff after a failure.',
    registers,
  });
  const leader = new Gauge({
    name: name('leader'),
    help: 'Is 1 while this replica holds the leader lease and writes; 0 otherwise.',
    registers,
  });
  const lastSync = new Gauge({
    name: name('last_sync_timestamp_seconds'),
    help: 'Unix time of the last reconcile that left the alias in sync.',
    labelNames: ['namespace', 'alias'] as const,
    registers,
  });
  const buildInfo = new Gauge({
    name: name('build_info'),
    help: 'Always 1; the labels carry the apexalias and Node.js versions.',
    labelNames: ['version', 'node_version'] as const,
    registers,
  });
  const aliases = new Gauge({
    name: name('aliases'),
    help: 'ApexAlias objects this replica knows, by whether they are Ready.',
    labelNames: ['state'] as const,
    registers,
  });

  // Known label values start at 0, so rate() and absent() work from the first scrape.
  for (const result of RECONCILE_RESULTS) reconcileTotal.inc({ result }, 0);
  for (const reason of RESOLVE_ERROR_REASONS) resolveErrors.inc({ reason }, 0);
  for (const result of DNSSEC_RESULTS) dnssecValidations.inc({ result }, 0);
  for (const state of ALIAS_STATES) aliases.set({ state }, 0);
  leader.set(0);
  workqueueDepth.set(0);
  buildInfo.set({ version: options.version ?? packageVersion(), node_version: process.version }, 1);

  const series = new AliasSeries();

  const metrics: Metrics = {
    registry,
    reconcileTotal,
    reconcileDuration,
    resolveDuration,
    resolveErrors,
    dnssecValidations,
    resolverCacheHits,
    resolverCacheMisses,
    resolverQueries,
    targetDrift,
    apiWrites,
    orphansRemoved,
    eventsDropped,
    zoneDriftDetected,
    recordsManaged,
    backendRequestDuration,
    backendErrors,
    updateMessages,
    updateRecordsPerMessage,
    workqueueDepth,
    workqueueQueueDuration,
    workqueueWorkDuration,
    workqueueRetries,
    leader,
    buildInfo,
    aliases,

    observeReconcile(result, seconds) {
      reconcileTotal.inc({ result });
      reconcileDuration.observe(seconds);
    },
    observeResolve(seconds, reason) {
      resolveDuration.observe(seconds);
      if (reason !== undefined) metrics.countResolveError(reason);
    },
    countResolveError(reason) {
      resolveErrors.inc({ reason: resolveReasonLabel(reason) });
    },
    countDnssecValidation(result) {
      const state: DnssecResult | undefined =
        result.kind === 'failed'
          ? result.reason === 'dnssec-bogus'
            ? 'bogus'
            : result.reason === 'dnssec-unvalidated'
              ? 'unvalidated'
              : undefined
          : result.validated === undefined
            ? undefined
            : result.validated
              ? 'validated'
              : 'unvalidated';
      if (state !== undefined) dnssecValidations.inc({ result: state });
    },
    bindResolverStats(stats) {
      if (stats === resolverStats) return;
      resolverStats = stats;
      seen.queries = 0;
      seen.cacheHits = 0;
      seen.cacheMisses = 0;
    },
    countEventDropped(reason) {
      eventsDropped.inc({ reason });
    },
    countOrphansRemoved(n) {
      orphansRemoved.inc(n);
    },
    countApiWrite(kind, ok) {
      apiWrites.inc({ kind, result: ok ? 'ok' : 'error' });
    },
    countTargetDrift() {
      targetDrift.inc();
    },
    countZoneDrift(family, action) {
      zoneDriftDetected.inc({ family: familyLabel(family), action });
    },
    setZoneDrift(namespace, alias, family, drifted) {
      series.set(
        namespace,
        alias,
        zoneDrift,
        { namespace, alias, family: familyLabel(family) },
        drifted ? 1 : 0,
      );
    },
    setNameserverDrift(namespace, alias, family, drifted) {
      const fam = familyLabel(family);
      const entries = drifted instanceof Map ? [...drifted] : Object.entries(drifted);
      const listed = new Set(entries.map(([ns]) => ns));
      for (const labels of series.of(namespace, alias, zoneDriftNameserver)) {
        if (labels.family === fam && !listed.has(String(labels.nameserver))) {
          series.remove(namespace, alias, zoneDriftNameserver, labels);
        }
      }
      for (const [nameserver, d] of entries) {
        series.set(
          namespace,
          alias,
          zoneDriftNameserver,
          { namespace, alias, family: fam, nameserver },
          d ? 1 : 0,
        );
      }
    },
    setInSync(namespace, alias, inSync, atMs) {
      const key = aliasKey(namespace, alias);
      if (inSync) {
        outOfSyncSince.delete(key);
        series.set(namespace, alias, outOfSync, { namespace, alias }, 0);
      } else if (!outOfSyncSince.has(key)) {
        outOfSyncSince.set(key, { namespace, alias, since: atMs ?? now() });
      }
    },
    markSynced(namespace, alias, atMs) {
      series.set(namespace, alias, lastSync, { namespace, alias }, (atMs ?? now()) / 1000);
    },
    setRecordsManaged(counts) {
      const totals = new Map<string, { zone: string; family: string; records: number }>();
      for (const c of counts) {
        const family = familyLabel(c.family);
        const key = `${c.zone}\u0000${family}`;
        const entry = totals.get(key) ?? { zone: c.zone, family, records: 0 };
        entry.records += c.records;
        totals.set(key, entry);
      }
      recordsManaged.reset();
      for (const t of totals.values()) recordsManaged.set({ zone: t.zone, family: t.family }, t.records);
    },
    observeBackend(backend, operation, seconds, rcode) {
      backendRequestDuration.observe({ backend, operation }, seconds);
      if (rcode !== undefined && rcode !== 'NOERROR') {
        backendErrors.inc({ backend, operation, rcode: rcodeLabel(rcode) });
      }
    },
    observeUpdate(backend, records) {
      updateMessages.inc({ backend });
      updateRecordsPerMessage.observe(records);
    },
    setAliasCounts(ready, notReady) {
      aliases.set({ state: 'ready' }, ready);
      aliases.set({ state: 'not_ready' }, notReady);
    },
    setLeader(leading) {
      leader.set(leading ? 1 : 0);
    },
    forgetAlias(namespace, alias) {
      const key = aliasKey(namespace, alias);
      outOfSyncSince.delete(key);
      // The collect() of outOfSync re-sets its series from outOfSyncSince, which no longer has it.
      outOfSync.remove({ namespace, alias });
      series.forget(namespace, alias);
    },
  };
  return metrics;
}

function familyLabel(family: Family | AddressType): Family {
  if (family === 'A') return 'IPv4';
  if (family === 'AAAA') return 'IPv6';
  return family;
}

function resolveReasonLabel(reason: string): ResolveErrorReason {
  const label = reason.toLowerCase().replace(/-/g, '_');
  // Anything unforeseen is "another response code", so the label set stays fixed.
  return (RESOLVE_ERROR_REASONS as readonly string[]).includes(label)
    ? (label as ResolveErrorReason)
    : 'rcode';
}

function rcodeLabel(rcode: string): string {
  return RCODE_LABEL.test(rcode) ? rcode : 'OTHER';
}

type Labels = Partial<Record<string, string | number>>;

/**
 * The per-alias series each alias has set, so forgetting or pruning one alias's series costs
 * what that alias holds, not a walk over every series of every alias (O(n) per reconcile is
 * O(n²) per pass at 10,000 aliases).
 */
class AliasSeries {
  readonly #byAlias = new Map<string, Map<Gauge, Map<string, Labels>>>();

  set(namespace: string, alias: string, metric: Gauge, labels: Labels, value: number): void {
    metric.set(labels, value);
    const key = aliasKey(namespace, alias);
    let metrics = this.#byAlias.get(key);
    if (!metrics) this.#byAlias.set(key, (metrics = new Map()));
    let held = metrics.get(metric);
    if (!held) metrics.set(metric, (held = new Map()));
    held.set(seriesKey(labels), labels);
  }

  of(namespace: string, alias: string, metric: Gauge): Labels[] {
    return [...(this.#byAlias.get(aliasKey(namespace, alias))?.get(metric)?.values() ?? [])];
  }

  remove(namespace: string, alias: string, metric: Gauge, labels: Labels): void {
    metric.remove(labels);
    this.#byAlias.get(aliasKey(namespace, alias))?.get(metric)?.delete(seriesKey(labels));
  }

  forget(namespace: string, alias: string): void {
    const key = aliasKey(namespace, alias);
    for (const [metric, held] of this.#byAlias.get(key) ?? []) {
      for (const labels of held.values()) metric.remove(labels);
    }
    this.#byAlias.delete(key);
  }
}

function seriesKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${String(labels[k])}`)
    .join('\u0000');
}

let cachedVersion: string | undefined;

/** The `version` field of apexalias's package.json, or "unknown" when it cannot be read. */
function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    cachedVersion = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    cachedVersion = 'unknown';
  }
  return cachedVersion;
}
