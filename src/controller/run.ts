import { hostname } from 'node:os';
import { InstrumentedBackend } from '../backends/instrumented.ts';
import type { DnsBackend } from '../backends/types.ts';
import { createRuntime } from '../engine/runtime.ts';
import type { RuntimeOptions } from '../engine/runtime.ts';
import type { Logger } from '../observe/logger.ts';
import { startObservabilityServer } from '../observe/http.ts';
import type { ObservabilityServer } from '../observe/http.ts';
import { createMetrics } from '../observe/metrics.ts';
import { ApexAliasSource } from '../sources/kubernetes.ts';
import { ApexAliasClient, PooledKubeConfig, apiErrorMessage } from '../sources/kube-client.ts';
import { LeaderElector } from './leader.ts';
import { ValidationError } from '../errors.ts';
import { NameserverVerifier } from '../drift/nameservers.ts';
import { RepairLimiter } from '../drift/zone.ts';
import { parseEndpoint } from '../dns/transport.ts';
import type { AliasOutcome } from '../engine/types.ts';
import type { Metrics } from '../observe/metrics.ts';
import { FAMILY_OF } from '../plan/types.ts';
import type { AddressType } from '../plan/types.ts';
import { Reconciler } from './reconciler.ts';
import { OwnershipSweep } from './sweep.ts';
import type { KeyResult } from './reconciler.ts';
import { keyOf, splitKey } from '../api/names.ts';
import { TerminalError, WorkQueue } from './workqueue.ts';
import { defaultControllerRateLimiter } from './ratelimit.ts';

export interface ControllerOptions extends RuntimeOptions {
  kubeconfig?: string;
  namespace?: string;
  selector?: string;
  concurrency: number;
  metricsPort: number;
  healthPort: number;
  bindAddress: string;
  leaderElect: boolean;
  leaseNamespace: string;
  leaseName: string;
  identity?: string;
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
  /** How long the work queue waits for more keys to come due before it starts a batch. */
  batchWindowMs: number;
  /** The most aliases one reconcile pass takes. */
  batchSize: number;
  /** How often the ownership sweep looks for orphaned records; 0 turns it off. */
  sweepIntervalSeconds: number;
}

/**
 * `apexalias controller`: watch ApexAliases, reconcile them through the workqueue, and (with
 * leader election) write DNS only while this replica holds the Lease. Standby replicas keep
 * their informer cache warm and answer /readyz, so a takeover starts from a synced cache.
 * Resolves with the exit code once SIGTERM/SIGINT has shut everything down.
 */
export async function runController(opts: ControllerOptions, logger: Logger): Promise<number> {
  const identity = opts.identity ?? `${hostname()}_${process.pid}`;
  const metrics = createMetrics();
  const runtime = await createRuntime(opts, logger, (seconds, result) => {
    metrics.observeResolve(seconds, result.kind === 'addresses' ? undefined : result.reason);
    metrics.countDnssecValidation(result);
  });
  const records = new RecordCounts(metrics);
  const kc = new PooledKubeConfig();
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new ValidationError(
      `cannot load the kubeconfig ${opts.kubeconfig ?? '(default)'}: ${(err as Error).message}`,
    );
  }
  metrics.bindResolverStats(runtime.resolver.stats);

  const wrapped = new Map<DnsBackend, DnsBackend>();
  const backendFor = (zone: string, requested: string | undefined, known?: DnsBackend): DnsBackend => {
    const inner = known ?? runtime.backendFor(zone, requested);
    let b = wrapped.get(inner);
    if (!b) {
      b = new InstrumentedBackend(inner, metrics);
      wrapped.set(inner, b);
    }
    return b;
  };

  // Behaviour rule 13: every rfc2136 backend's zones are checked on all their authoritative nameservers.
  const verifiers = new Map<string, NameserverVerifier>();
  for (const b of runtime.config.backends) {
    if (b.type !== 'rfc2136') continue;
    verifiers.set(
      b.name,
      new NameserverVerifier({
        transport: runtime.transport,
        timeoutMs: Math.min(b.timeoutMs, 2000),
        primary: parseEndpoint(b.server),
        configured: b.nameservers?.map((n) => parseEndpoint(n)),
        resolver: runtime.resolver,
        now: () => Date.now(),
      }),
    );
  }

  const client = new ApexAliasClient(kc, identity);
  const queue = new WorkQueue({
    concurrency: opts.concurrency,
    rateLimiter: defaultControllerRateLimiter(() => performance.now()),
    observer: {
      onGet: (_key, waitedMs) => metrics.workqueueQueueDuration.observe(waitedMs / 1000),
      onDone: (_key, workMs) => metrics.workqueueWorkDuration.observe(workMs / 1000),
      onRetry: () => metrics.workqueueRetries.inc(),
      onDepth: (depth) => metrics.workqueueDepth.set(depth),
    },
  });
  const enqueue = (key: string): void => queue.add(key);
  const source = new ApexAliasSource({
    kubeConfig: kc,
    client,
    namespace: opts.namespace,
    labelSelector: opts.selector,
    logger,
    // The claim index must know every alias before a reconcile asks it who keeps a name.
    onKey: (key) => {
      reconciler.noteChanged(key);
      enqueue(key);
    },
  });
  // Aborted on SIGTERM/SIGINT and when the lease is lost: DNS work in flight stops at once.
  const stop = new AbortController();
  const readiness = new Readiness();
  const reconciler = new Reconciler({
    source,
    client,
    config: runtime.config,
    resolver: runtime.resolver,
    backendFor,
    logger,
    now: () => Date.now(),
    random: Math.random,
    enqueue,
    repairs: new RepairLimiter(),
    nameservers: (name) => verifiers.get(name),
    verifyAfterWriteMs: 5000,
    signal: stop.signal,
    onApiWrite: (kind, ok) => metrics.countApiWrite(kind, ok),
    onEventDropped: (reason) => metrics.countEventDropped(reason),
    observe: (key, outcome, ready) => {
      const { namespace, name } = splitKey(key);
      if (!outcome && !source.get(key)) {
        readiness.delete(key);
        records.set(key, undefined);
        metrics.forgetAlias(namespace, name);
      } else {
        readiness.set(key, ready);
        if (outcome?.written || outcome?.verdict?.kind === 'noop') metrics.markSynced(namespace, name);
        if (outcome) {
          recordDrift(metrics, namespace, name, outcome);
          records.set(key, outcome);
        }
        // Target drift: the target's addresses moved, not a first claim, a repair or a spec edit.
        if (outcome?.written && outcome.drift?.action !== 'repair' && outcome.verdict?.kind === 'change') {
          if (outcome.verdict.reasons.some((r) => r.kind === 'addresses')) metrics.countTargetDrift();
        }
      }
      metrics.setAliasCounts(readiness.ready, readiness.size - readiness.ready);
    },
  });

  const handler = async (keys: string[]): Promise<Map<string, KeyResult>> => {
    const started = performance.now();
    const results = await reconciler.reconcileBatch(keys);
    const seconds = (performance.now() - started) / 1000;
    for (const [key, result] of results) {
      // success: in sync for now (a TTL refresh is scheduled); requeue: something failed and is
      // retried by the engine's backoff; error/terminal: the key fails in the work queue.
      if (result instanceof Error) {
        const terminal = result instanceof TerminalError;
        metrics.observeReconcile(terminal ? 'terminal' : 'error', seconds);
        logger.warn('reconcile failed', { key, error: apiErrorMessage(result), terminal });
      } else metrics.observeReconcile(result.failed ? 'requeue' : 'success', seconds);
    }
    return results;
  };

  let leading = false;
  const startLeading = (): void => {
    leading = true;
    metrics.setLeader(true);
    logger.info('leading: reconciling', { identity });
    queue.startBatches(handler, { maxKeys: opts.batchSize, windowMs: opts.batchWindowMs });
    for (const alias of source.list()) enqueue(keyOf(alias));
    if (opts.sweepIntervalSeconds > 0) sweepEvery(Math.min(60, opts.sweepIntervalSeconds) * 1000);
  };

  // Records whose ApexAlias is gone (a finalizer removed by force, say) are removed by the sweep.
  const sweep = new OwnershipSweep({
    ownerId: runtime.config.ownerId,
    backends: () =>
      runtime.config.backends.map((b, i) => ({
        backend: backendFor(b.zones.find((z) => z !== '*') ?? '', b.name, runtime.backends[i]!),
        zones: b.zones.filter((z) => z !== '*'),
      })),
    source,
    client,
    logger,
    onSwept: (n) => metrics.countOrphansRemoved(n),
  });
  let sweepTimer: NodeJS.Timeout | undefined;
  const sweepEvery = (delayMs: number): void => {
    sweepTimer = setTimeout(() => {
      void sweep
        .sweep(stop.signal)
        .catch((err: unknown) => logger.warn('ownership sweep failed', { error: (err as Error).message }))
        .finally(() => {
          if (!stop.signal.aborted) sweepEvery(opts.sweepIntervalSeconds * 1000);
        });
    }, delayMs);
    sweepTimer.unref();
  };

  // Built before anything starts listening: the constructor validates the lease timings.
  let lost = false;
  const elector = opts.leaderElect
    ? new LeaderElector({
        kubeConfig: kc,
        namespace: opts.leaseNamespace,
        name: opts.leaseName,
        identity,
        leaseDurationSeconds: opts.leaseDurationSeconds,
        renewDeadlineSeconds: opts.renewDeadlineSeconds,
        retryPeriodSeconds: opts.retryPeriodSeconds,
        logger,
        onStartedLeading: startLeading,
        onStoppedLeading: () => {
          // Like client-go: a replica that lost its Lease stops writing at once and exits, so
          // that two replicas can never write DNS at the same time.
          if (!leading || stop.signal.aborted) return;
          lost = true;
          metrics.setLeader(false);
          logger.error('lost the leader lease; stopping', { identity });
          stop.abort();
        },
        onNewLeader: (holder) => logger.info('leader', { holder }),
      })
    : undefined;

  const servers: ObservabilityServer[] = [];
  servers.push(
    await startObservabilityServer({
      host: opts.bindAddress,
      port: opts.healthPort,
      registry: metrics.registry,
      ready: () => source.synced,
      logger,
    }),
  );
  if (opts.metricsPort !== opts.healthPort) {
    servers.push(
      await startObservabilityServer({
        host: opts.bindAddress,
        port: opts.metricsPort,
        registry: metrics.registry,
        ready: () => source.synced,
        logger,
      }),
    );
  }
  logger.info('serving probes and metrics', { health: servers[0]!.port, metrics: servers.at(-1)!.port });

  await source.start();
  logger.info('informer synced', { aliases: source.list().length, namespace: opts.namespace ?? '*' });
  if (elector) elector.start();
  else startLeading();

  const onSignal = (signal: string): void => {
    logger.info('shutting down', { signal });
    stop.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await new Promise<void>((resolve) =>
    stop.signal.addEventListener('abort', () => resolve(), { once: true }),
  );

  clearTimeout(sweepTimer);
  await queue.shutDown();
  reconciler.stop();
  await elector?.stop();
  await source.stop();
  await Promise.all([...wrapped.values()].map((b) => b.close()));
  await runtime.close();
  await Promise.all(servers.map((s) => s.close()));
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  logger.info('stopped', { identity });
  return lost ? 1 : 0;
}

/** Drift gauges for one reconcile: zone drift per family, per nameserver, and time out of sync. */
function recordDrift(metrics: Metrics, namespace: string, name: string, o: AliasOutcome): void {
  for (const type of ['A', 'AAAA'] as AddressType[]) {
    // Set for the pass that found the drift, even when it repaired it: the next look (a few
    // seconds after a write) clears it, so every hand edit shows up on the graph.
    if (!o.input.spec.addressFamilies.includes(FAMILY_OF[type])) continue;
    const drifted = o.drift?.types[type] === true;
    metrics.setZoneDrift(namespace, name, FAMILY_OF[type], drifted);
    if (drifted && o.drift && o.drift.action !== 'none')
      metrics.countZoneDrift(FAMILY_OF[type], o.drift.action);
    if (o.nameservers) {
      const perNs = new Map<string, boolean>();
      for (const [ns, v] of o.nameservers) if (type in v.types) perNs.set(ns, v.types[type] === true);
      metrics.setNameserverDrift(namespace, name, FAMILY_OF[type], perNs);
    }
  }
  const lagging = [...(o.nameservers?.values() ?? [])].some((v) => v.drifted);
  const drifting = o.drift !== undefined && (o.drift.action === 'report' || o.drift.action === 'fight');
  metrics.setInSync(namespace, name, o.inSync !== false && !lagging && !drifting);
}

/** `apexalias_records_managed{zone,family}`: addresses this replica keeps, kept up incrementally. */
class RecordCounts {
  readonly #metrics: Metrics;
  readonly #perAlias = new Map<string, Array<[string, AddressType, number]>>();
  readonly #totals = new Map<string, number>();

  constructor(metrics: Metrics) {
    this.#metrics = metrics;
  }

  set(key: string, o: AliasOutcome | undefined): void {
    const next: Array<[string, AddressType, number]> = [];
    for (const type of ['A', 'AAAA'] as AddressType[]) {
      const n = o?.current?.[type]?.addresses.length;
      if (o && n && o.verdict?.kind !== 'blocked') next.push([o.zone, type, n]);
    }
    for (const [zone, type, n] of this.#perAlias.get(key) ?? []) this.#add(zone, type, -n);
    for (const [zone, type, n] of next) this.#add(zone, type, n);
    if (next.length) this.#perAlias.set(key, next);
    else this.#perAlias.delete(key);
    this.#metrics.setRecordsManaged(
      [...this.#totals].map(([k, records]) => {
        const [zone = '', family = 'A'] = k.split('|');
        return { zone, family: family as AddressType, records };
      }),
    );
  }

  #add(zone: string, type: AddressType, n: number): void {
    const k = `${zone}|${type}`;
    const v = (this.#totals.get(k) ?? 0) + n;
    if (v > 0) this.#totals.set(k, v);
    else this.#totals.delete(k);
  }
}

/** Which aliases are Ready, with the count kept as they change (never a walk over all of them). */
class Readiness {
  readonly #ready = new Map<string, boolean>();
  ready = 0;

  get size(): number {
    return this.#ready.size;
  }

  set(key: string, ready: boolean): void {
    if (this.#ready.get(key) === true) this.ready--;
    this.#ready.set(key, ready);
    if (ready) this.ready++;
  }

  delete(key: string): void {
    if (this.#ready.get(key) === true) this.ready--;
    this.#ready.delete(key);
  }
}
