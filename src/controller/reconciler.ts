import { FINALIZER } from '../api/schema.ts';
import { aliasKey, keyOf, ownerName, splitKey } from '../api/names.ts';
import type { ApexAlias, ApexAliasSpec, ApexAliasStatus } from '../api/schema.ts';
import { validateApexAlias } from '../api/validate.ts';
import type { ValidationResult } from '../api/validate.ts';
import type { Config } from '../config/schema.ts';
import { zoneAllowed } from '../config/select.ts';
import { normalizeName } from '../dns/names.ts';
import { syncAliases } from '../engine/sync.ts';
import { publishedAfter } from '../engine/published.ts';
import type { AliasInput, AliasOutcome, BackendLookup, SyncDeps } from '../engine/types.ts';
import type { Logger } from '../observe/logger.ts';
import { aliasLogger } from '../observe/logger.ts';
import { describeReasons } from '../plan/change.ts';
import { ClaimIndex } from '../plan/claims.ts';
import type { Claim } from '../plan/claims.ts';
import type { AddressRRset, AddressType } from '../plan/types.ts';
import type { Resolver } from '../resolve/resolver.ts';
import type { ApexAliasWriter } from '../sources/kube-client.ts';
import { ApiWriter } from './api-writer.ts';
import {
  addressesSummary,
  blockedConditions,
  deletingConditions,
  lastKnownGood,
  inSyncCondition,
  outcomeConditions,
  reasonOf,
  semanticStatus,
  setConditions,
} from './status.ts';
import type { ConditionInput } from './status.ts';
import { EventRecorder } from './events.ts';
import type { EventDropReason } from './events.ts';
import type { RepairLimiter } from '../drift/zone.ts';
import type { NameserverVerifier } from '../drift/nameservers.ts';
import type { Clock, ReconcileResult } from './workqueue.ts';
import { realClock } from './workqueue.ts';
import { BackendHealth } from './backend-health.ts';
import { TerminalError } from './workqueue.ts';

export interface ReconcilerDeps {
  /** The informer cache. */
  source: { get(key: string): ApexAlias | undefined; list(): ApexAlias[] };
  client: ApexAliasWriter;
  config: Config;
  resolver: Resolver;
  backendFor: BackendLookup;
  logger: Logger;
  now: () => number;
  random: () => number;
  /** Drift repairs per alias are limited by this (a fight must not become a write storm). */
  repairs?: RepairLimiter;
  nameservers?: (backend: string) => NameserverVerifier | undefined;
  /** Verify the secondaries this soon after a write. */
  verifyAfterWriteMs?: number;
  /** Asks for another reconcile of a key (the target and claim indexes use it). */
  enqueue(key: string): void;
  /** Cancels DNS work in flight when the lease is lost or the controller stops. */
  signal?: AbortSignal;
  /** Writes in flight to the API server at once (finalizers and statuses). Default 16. */
  apiConcurrency?: number;
  /** Called after every reconcile with its outcome, for metrics. */
  observe?(key: string, outcome: AliasOutcome | undefined, ready: boolean): void;
  /** Called with each API write's outcome, for metrics. */
  onApiWrite?(kind: 'status' | 'finalizer', ok: boolean): void;
  /** Called for each Event not recorded, for metrics. */
  onEventDropped?(reason: EventDropReason): void;
  /** Timers for API write retries; the process's by default. */
  timers?: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
}

/** The result of one key in a batch: what the work queue does next with it. */
export type KeyResult = (ReconcileResult & { failed?: boolean }) | Error;

/** What this process published for an alias, kept until its status says the same. */
interface Published {
  /** The alias's spec when it was written, to clean up after an alias that vanished. */
  spec: ApexAliasSpec;
  rrsets: Partial<Record<AddressType, AddressRRset>>;
}

const isoNow = (now: number): string => new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Reconciles ApexAlias keys in batches: level-triggered and idempotent, like a controller-runtime
 * Reconciler, but one pass of the engine serves every key of the batch, so that 10,000 aliases
 * in one zone cost a few reads and UPDATEs rather than 10,000 of each. For each key it reads the
 * object from the informer cache and settles deletion (finalizer), tenancy and conflicts; the
 * engine does the DNS work; the API writes (finalizer, status) and Events go to their own
 * writers off the DNS path, so a slow API server never holds back DNS. DNS failures are
 * scheduled by the engine's TTL and backoff; a key fails in the work queue only when retrying
 * it soon can help.
 */
export class Reconciler {
  readonly #deps: ReconcilerDeps;
  readonly #events: EventRecorder;
  readonly #writer: ApiWriter;
  readonly #health: BackendHealth;
  /** target → keys of the aliases that follow it. */
  readonly #byTarget = new Map<string, Set<string>>();
  readonly #targetOf = new Map<string, string>();
  readonly #failures = new Map<string, number>();
  /** Behaviour rule 10 across every alias in the cache, kept up to date by {@link noteChanged}. */
  readonly #claims = new ClaimIndex();
  /**
   * What this process last wrote or found in place per alias: the source of truth for the
   * last-known-good records and for zone drift while the status lags behind (the API server is
   * slow or down), and what to clean up when an alias vanishes without its finalizer.
   */
  readonly #published = new Map<string, Published>();
  /**
   * Validation per cached object: the informer replaces an object on every change, so an object
   * seen before was validated before, and a refresh pass of 10,000 aliases validates none again.
   */
  readonly #validated = new WeakMap<ApexAlias, ValidationResult<ApexAlias>>();

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
    this.#events = new EventRecorder(deps.client, deps.logger, deps.now, {
      onDrop: deps.onEventDropped,
      timers: deps.timers,
    });
    this.#writer = new ApiWriter({
      client: deps.client,
      source: deps.source,
      logger: deps.logger,
      now: deps.now,
      random: deps.random,
      concurrency: deps.apiConcurrency,
      onWrite: deps.onApiWrite,
      timers: deps.timers,
    });
    this.#health = new BackendHealth({
      enqueue: deps.enqueue,
      logger: deps.logger,
      timers: deps.timers ?? realClock,
    });
  }

  /** API writes not landed yet (statuses and finalizers), for metrics and tests. */
  get apiBacklog(): number {
    return this.#writer.backlog;
  }

  /** Resolves once every queued API write has landed (or been dropped) and no probe runs. */
  async flushApiWrites(): Promise<void> {
    await this.#health.idle();
    await this.#writer.flush();
  }

  /** Stops the API writer and the backend probes (on a lost lease or shutdown). */
  stop(): void {
    this.#writer.stop();
    this.#health.stop();
  }

  /**
   * Called for every key the source reports, before it is queued: updates the key's claim on its
   * owner name, and queues the other claimants of every name whose claimants changed, since one
   * of them may now win (or lose) it. O(claimants of those names).
   */
  noteChanged(key: string): void {
    const alias = this.#deps.source.get(key);
    for (const name of this.#claims.set(key, alias && this.#claimOf(alias)))
      for (const other of this.#claims.claimants(name)) if (other !== key) this.#deps.enqueue(other);
  }

  /** The claim an alias makes under behaviour rule 10: none while it is being deleted or may not manage its zone. */
  #claimOf(alias: ApexAlias): Claim | undefined {
    if (alias.metadata.deletionTimestamp) return undefined;
    const namespace = alias.metadata.namespace ?? 'default';
    try {
      const zone = normalizeName(alias.spec.zone);
      // Tenancy before age: an alias outside its allowance claims nothing.
      if (!zoneAllowed(this.#deps.config, namespace, zone)) return undefined;
      return {
        key: aliasKey(namespace, alias.metadata.name),
        name: ownerName(alias.spec),
        createdAt: alias.metadata.creationTimestamp,
      };
    } catch {
      return undefined; // an invalid name claims nothing; the reconcile reports it
    }
  }

  /** One key on its own: {@link reconcileBatch} of one. */
  async reconcile(key: string): Promise<ReconcileResult & { failed?: boolean }> {
    const result = (await this.reconcileBatch([key])).get(key) ?? {};
    if (result instanceof Error) throw result;
    return result;
  }

  /** Reconciles `keys` in one pass of the engine; says per key what the work queue does next. */
  async reconcileBatch(keys: string[]): Promise<Map<string, KeyResult>> {
    const results = new Map<string, KeyResult>();
    const work = new Map<string, { alias: ApexAlias | undefined; input: AliasInput }>();
    for (const key of keys) {
      const item = this.#prepare(key, results);
      if (item) work.set(key, item);
    }
    if (work.size === 0) return results;
    let outcomes: AliasOutcome[];
    try {
      ({ outcomes } = await syncAliases(
        [...work.values()].map((w) => w.input),
        this.#syncDeps(),
      ));
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      for (const key of work.keys()) results.set(key, error);
      return results;
    }
    for (const o of outcomes) {
      const { alias, input } = work.get(o.key)!;
      if (o.failure?.code === 'ERR_BACKEND_UNREACHABLE' && o.backend)
        this.#health.failed(this.#deps.backendFor(o.zone, input.spec.backend), o.zone, o.key);
      results.set(o.key, input.deleting ? this.#afterDeletion(o.key, alias, o) : this.#afterSync(alias!, o));
    }
    return results;
  }

  #syncDeps(): SyncDeps {
    const d = this.#deps;
    return {
      resolver: d.resolver,
      backendFor: d.backendFor,
      ownerId: d.config.ownerId,
      repairs: d.repairs,
      nameservers: d.nameservers,
      verifyAfterWriteMs: d.verifyAfterWriteMs,
      refresh: d.config.refresh,
      logger: d.logger,
      now: d.now,
      random: d.random,
      dryRun: false,
      failures: this.#failures,
      signal: d.signal,
    };
  }

  /**
   * Settles what can be settled without DNS (a vanished or invalid object, tenancy, conflicts,
   * deletion that needs no DNS work) into `results`, and returns the engine input otherwise.
   */
  #prepare(
    key: string,
    results: Map<string, KeyResult>,
  ): { alias: ApexAlias | undefined; input: AliasInput } | undefined {
    const alias = this.#deps.source.get(key);
    if (!alias) {
      // Gone without our finalizer running (removed by force, or never added): clean up what this
      // process knows it wrote; the ownership sweep covers what an earlier process wrote.
      const published = this.#published.get(key);
      if (published) return { alias, input: { ...this.#inputOf(key, published.spec), deleting: true } };
      this.#forget(key);
      this.#deps.observe?.(key, undefined, false);
      results.set(key, {});
      return undefined;
    }
    const checked = this.#validate(alias);
    const deleting = alias.metadata.deletionTimestamp !== undefined;
    if (!checked.ok) {
      if (deleting) {
        // Nothing can have been written under a spec this invalid: let the object go.
        void this.#writer.finalizer(alias, 'remove');
        this.#forget(key);
        results.set(key, {});
      } else {
        this.#status(alias, blockedConditions('InvalidSpec', checked.problems.join('; ')), {});
        results.set(key, new TerminalError(`${key}: invalid spec: ${checked.problems.join('; ')}`));
      }
      return undefined;
    }
    const valid = { ...alias, spec: checked.value.spec };
    const spec = valid.spec;
    const namespace = alias.metadata.namespace ?? 'default';
    const zone = normalizeName(spec.zone);
    const log = this.#log(valid);

    if (deleting) {
      const ours = (alias.metadata.finalizers ?? []).includes(FINALIZER);
      let served = true;
      try {
        this.#deps.backendFor(zone, spec.backend);
      } catch (err) {
        // No backend serves the zone (any more): there is nothing we could have written there.
        served = false;
        log.warn('no backend for the zone; releasing without DNS cleanup', { error: (err as Error).message });
      }
      if (served && zoneAllowed(this.#deps.config, namespace, zone))
        return { alias: valid, input: { ...this.#inputOf(key, spec), deleting: true } };
      if (ours) void this.#writer.finalizer(alias, 'remove');
      this.#released(key, spec);
      results.set(key, {});
      return undefined;
    }

    // The finalizer goes on after the DNS write is under way, never before it: DNS does not wait
    // for the API server. Records of an alias deleted before its finalizer landed are removed
    // by this process (it remembers what it wrote) or by the ownership sweep.
    if (!(alias.metadata.finalizers ?? []).includes(FINALIZER)) void this.#writer.finalizer(alias, 'add');
    this.#index(key, spec.target);
    if (!zoneAllowed(this.#deps.config, namespace, zone)) {
      const message = `namespace ${namespace} may not manage zone ${zone}; ask the operator to add it to the controller's allow list`;
      this.#blocked(valid, 'ZoneNotAllowed', message, log);
      results.set(key, {});
      return undefined;
    }
    const claim = this.#claims.verdict(key) ?? { name: ownerName(spec), winner: key, losers: [] };
    if (claim.winner !== key) {
      this.#blocked(
        valid,
        'Conflict',
        `${claim.name} is claimed by the older ApexAlias ${claim.winner}`,
        log,
      );
      results.set(key, {});
      return undefined;
    }
    return {
      alias: valid,
      input: {
        ...this.#inputOf(key, spec),
        createdAt: alias.metadata.creationTimestamp,
        lastKnownGood: this.#published.get(key)?.rrsets ?? lastKnownGood(this.#previousStatus(valid)),
        supersedes: claim.losers,
      },
    };
  }

  #validate(alias: ApexAlias): ValidationResult<ApexAlias> {
    let checked = this.#validated.get(alias);
    if (!checked) this.#validated.set(alias, (checked = validateApexAlias(alias)));
    return checked;
  }

  #inputOf(key: string, spec: ApexAliasSpec): AliasInput {
    const { namespace, name } = splitKey(key);
    return { namespace, name, spec };
  }

  /** Behaviour rule 11, after the engine removed what the alias owned (or found nothing of it). */
  #afterDeletion(key: string, alias: ApexAlias | undefined, o: AliasOutcome): KeyResult {
    const spec = o.input.spec;
    if (o.failure) {
      // The finalizer stays; say why the object cannot go yet, and retry with backoff.
      const reason = reasonOf(o.failure.code);
      if (alias) {
        this.#events.record(alias, 'Warning', 'DeleteFailed', 'Delete', o.failure.message);
        this.#status(alias, deletingConditions(reason, o.failure.message, this.#previousStatus(alias)), {});
      }
      return Object.assign(new Error(o.failure.message), { code: o.failure.code });
    }
    if (o.written && o.verdict?.kind === 'change') {
      const retained = spec.deletionPolicy === 'Retain';
      this.#log(alias ?? { metadata: splitKey(key), spec }).info(
        retained ? 'records retained' : 'records deleted',
        {
          changes: o.verdict.reasons.map((r) => r.text),
        },
      );
      if (alias)
        this.#events.record(
          alias,
          'Normal',
          retained ? 'RecordsRetained' : 'RecordsDeleted',
          'Delete',
          describeReasons(o.verdict.reasons),
        );
    }
    if (alias && (alias.metadata.finalizers ?? []).includes(FINALIZER))
      void this.#writer.finalizer(alias, 'remove');
    this.#released(key, spec);
    return {};
  }

  /** The name is free now: forget the alias, and let one that lost the name to it take it. */
  #released(key: string, spec: { zone: string; name?: string }): void {
    this.#forget(key);
    this.#deps.observe?.(key, undefined, false);
    for (const other of this.#claims.claimants(ownerName(spec))) this.#deps.enqueue(other);
  }

  /** Status, Events and bookkeeping for one engine outcome. */
  #afterSync(alias: ApexAlias, o: AliasOutcome): KeyResult {
    const key = o.key;
    const previous = this.#previousStatus(alias);
    const before = this.#published.get(key)?.rrsets ?? lastKnownGood(previous);
    this.#announceTargetChange(key, alias.spec.target, o, before);
    const rrsets = publishedAfter(o, before);
    this.#published.set(key, { spec: alias.spec, rrsets });
    const ready = this.#report(alias, o, rrsets);
    this.#deps.observe?.(key, o, ready);
    return { requeueAfterMs: Math.max(0, o.refreshAt - this.#deps.now()), failed: o.failure !== undefined };
  }

  #blocked(alias: ApexAlias, reason: string, message: string, log: Logger): void {
    log.warn(message, { reason });
    const changed = this.#status(alias, blockedConditions(reason, message), {});
    if (changed) this.#events.record(alias, 'Warning', reason, 'Reconcile', message);
    this.#deps.observe?.(keyOf(alias), undefined, false);
  }

  /** Status and Events for one engine outcome. Returns whether the alias is Ready. */
  #report(alias: ApexAlias, o: AliasOutcome, rrsets: Partial<Record<AddressType, AddressRRset>>): boolean {
    const conditions = outcomeConditions(o, inSyncCondition(o));
    const now = isoNow(this.#deps.now());
    const extra: Partial<ApexAliasStatus> = {
      addresses: { ipv4: rrsets.A?.addresses ?? [], ipv6: rrsets.AAAA?.addresses ?? [] },
      addressesSummary: addressesSummary(rrsets.A?.addresses ?? [], rrsets.AAAA?.addresses ?? []),
      chain: o.desired?.chain ?? [],
      nextRefreshTime: isoNow(o.refreshAt),
    };
    const ttl = Math.min(...[rrsets.A?.ttl, rrsets.AAAA?.ttl].filter((t): t is number => t !== undefined));
    if (Number.isFinite(ttl)) extra.ttl = ttl;
    if (!(o.desired?.problems ?? []).length) extra.lastResolvedTime = now;
    if (o.written || o.verdict?.kind === 'noop') extra.lastSyncedTime = now;
    this.#status(alias, conditions, extra);

    const inSync = conditions.find((c) => c.type === 'InSync');
    if (o.written && o.verdict?.kind === 'change') {
      const repaired = o.drift?.action === 'repair';
      // A first claim is routine and its status says so: it costs no Event (no API write).
      const firstClaim = o.verdict.reasons.some((r) => r.kind === 'marker-created');
      if (repaired || !firstClaim) {
        const note =
          (repaired ? 'the zone had been changed behind our back; restored: ' : '') +
          describeReasons(o.verdict.reasons);
        this.#events.record(alias, 'Normal', repaired ? 'DriftRepaired' : 'RecordsUpdated', 'Update', note);
      }
    } else if (inSync?.status === 'False') {
      this.#events.record(alias, 'Warning', inSync.reason, 'Verify', inSync.message);
    }
    if (o.verdict?.kind === 'blocked')
      this.#events.record(alias, 'Warning', o.verdict.reason, 'Reconcile', o.verdict.message);
    else if (o.failure)
      this.#events.record(
        alias,
        'Warning',
        conditions.find((c) => c.status !== 'True')?.reason ?? 'Failed',
        'Reconcile',
        o.failure.message,
      );
    if (o.failure) this.#log(alias).debug('reconcile finished with a failure', { code: o.failure.code });
    return conditions[0]!.status === 'True';
  }

  /** The status as this process last wrote it, or as the cache has it. */
  #previousStatus(alias: ApexAlias): ApexAliasStatus | undefined {
    return this.#writer.latestStatus(keyOf(alias)) ?? alias.status;
  }

  /** Queues a status write when anything but timestamps changed. Returns whether it did. */
  #status(alias: ApexAlias, conditions: ConditionInput[], extra: Partial<ApexAliasStatus>): boolean {
    const previous = this.#previousStatus(alias);
    const now = isoNow(this.#deps.now());
    const next: ApexAliasStatus = {
      ...previous,
      ...extra,
      observedGeneration: alias.metadata.generation,
      conditions: setConditions(previous?.conditions, conditions, alias.metadata.generation, now),
    };
    if (JSON.stringify(semanticStatus(previous)) === JSON.stringify(semanticStatus(next))) return false;
    void this.#writer.status(alias, next);
    return true;
  }

  #log(alias: {
    metadata: { namespace?: string; name: string };
    spec: { zone: string; target: string };
  }): Logger {
    return aliasLogger(this.#deps.logger, {
      namespace: alias.metadata.namespace ?? 'default',
      name: alias.metadata.name,
      zone: alias.spec.zone,
      target: alias.spec.target,
    });
  }

  /**
   * The target index: when one alias sees its target's addresses change, every other alias that
   * follows the same target is reconciled now instead of at its own refresh time.
   */
  #announceTargetChange(
    key: string,
    target: string,
    o: AliasOutcome,
    before: Partial<Record<AddressType, AddressRRset>>,
  ): void {
    const now = (type: 'A' | 'AAAA'): string | undefined => {
      const r = o.resolved[type]?.result;
      return r?.kind === 'addresses' ? r.addresses.join(',') : undefined;
    };
    // An empty list means nothing was published yet: that is no change of the target.
    const joined = (xs: string[] | undefined): string | undefined => (xs?.length ? xs.join(',') : undefined);
    const was = { A: joined(before.A?.addresses), AAAA: joined(before.AAAA?.addresses) };
    const changed = (['A', 'AAAA'] as const).some(
      (t) => now(t) !== undefined && was[t] !== undefined && now(t) !== was[t],
    );
    if (!changed) return;
    for (const other of this.#byTarget.get(normalizeName(target)) ?? [])
      if (other !== key) this.#deps.enqueue(other);
  }

  #index(key: string, target: string): void {
    const t = normalizeName(target);
    const before = this.#targetOf.get(key);
    if (before === t) return;
    if (before) this.#byTarget.get(before)?.delete(key);
    this.#targetOf.set(key, t);
    const set = this.#byTarget.get(t) ?? new Set<string>();
    set.add(key);
    this.#byTarget.set(t, set);
  }

  #forget(key: string): void {
    this.#published.delete(key);
    this.#writer.forget(key);
    const t = this.#targetOf.get(key);
    if (t) this.#byTarget.get(t)?.delete(key);
    this.#targetOf.delete(key);
    this.#failures.delete(key);
    this.#events.forget(key);
  }
}
