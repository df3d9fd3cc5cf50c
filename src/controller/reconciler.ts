import { FINALIZER } from '../api/schema.ts';
import { aliasKey, keyOf, ownerName } from '../api/names.ts';
import type { ApexAlias, ApexAliasStatus } from '../api/schema.ts';
import { validateApexAlias } from '../api/validate.ts';
import type { Config } from '../config/schema.ts';
import { zoneAllowed } from '../config/select.ts';
import { normalizeName } from '../dns/names.ts';
import { syncAliases } from '../engine/sync.ts';
import type { AliasOutcome, BackendLookup } from '../engine/types.ts';
import type { DnsBackend } from '../backends/types.ts';
import type { Logger } from '../observe/logger.ts';
import { aliasLogger } from '../observe/logger.ts';
import { planDeletion } from '../plan/delete.ts';
import { describeReasons } from '../plan/change.ts';
import { ClaimIndex } from '../plan/claims.ts';
import type { Claim } from '../plan/claims.ts';
import type { Resolver } from '../resolve/resolver.ts';
import type { ApexAliasWriter } from '../sources/kube-client.ts';
import { httpStatus } from '../sources/kube-client.ts';
import {
  addressesSummary,
  blockedConditions,
  lastKnownGood,
  inSyncCondition,
  outcomeConditions,
  publishedRRsets,
  semanticStatus,
  setConditions,
} from './status.ts';
import type { ConditionInput } from './status.ts';
import { EventRecorder } from './events.ts';
import type { RepairLimiter } from '../drift/zone.ts';
import type { NameserverVerifier } from '../drift/nameservers.ts';
import type { ReconcileResult } from './workqueue.ts';
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
  /** Asks for another reconcile of a key (the target index uses it). */
  enqueue(key: string): void;
  /** Cancels DNS work in flight when the lease is lost or the controller stops. */
  signal?: AbortSignal;
  /** Called after every reconcile with its outcome, for metrics. */
  observe?(key: string, outcome: AliasOutcome | undefined, ready: boolean): void;
}

const isoNow = (now: number): string => new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Reconciles one ApexAlias key: level-triggered and idempotent, like a controller-runtime
 * Reconciler. It reads the object from the informer cache, handles deletion (finalizer),
 * tenancy and conflicts, runs the shared engine for the DNS work, writes status only when it
 * changed, records Events, and returns when to look again. It throws only for failures that
 * deserve the workqueue's per-key backoff (API errors); DNS failures are scheduled by TTL/backoff.
 */
export class Reconciler {
  readonly #deps: ReconcilerDeps;
  readonly #events: EventRecorder;
  /** target → keys of the aliases that follow it. */
  readonly #byTarget = new Map<string, Set<string>>();
  readonly #targetOf = new Map<string, string>();
  readonly #failures = new Map<string, number>();
  /** Behaviour rule 10 across every alias in the cache, kept up to date by {@link noteChanged}. */
  readonly #claims = new ClaimIndex();

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
    this.#events = new EventRecorder(deps.client, deps.logger, deps.now);
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

  async reconcile(key: string): Promise<ReconcileResult & { failed?: boolean }> {
    const { source, logger } = this.#deps;
    let alias = source.get(key);
    if (!alias) {
      this.#forget(key);
      this.#deps.observe?.(key, undefined, false);
      return {};
    }
    const checked = validateApexAlias(alias);
    if (!checked.ok && alias.metadata.deletionTimestamp) {
      // Nothing can have been written under a spec this invalid: let the object go.
      await this.#release(alias);
      this.#forget(key);
      return {};
    }
    if (!checked.ok) {
      await this.#writeStatus(alias, blockedConditions('InvalidSpec', checked.problems.join('; ')), {});
      throw new TerminalError(`${key}: invalid spec: ${checked.problems.join('; ')}`);
    }
    alias = { ...alias, spec: checked.value.spec };
    const spec = alias.spec;
    const log = aliasLogger(logger, {
      namespace: alias.metadata.namespace ?? 'default',
      name: alias.metadata.name,
      zone: spec.zone,
      target: spec.target,
    });

    if (alias.metadata.deletionTimestamp) return this.#finalize(key, alias, log);
    if (!(alias.metadata.finalizers ?? []).includes(FINALIZER)) {
      // The finalizer goes on before the first record is written, so no record can be orphaned.
      alias = await this.#deps.client.setFinalizers(alias, [...(alias.metadata.finalizers ?? []), FINALIZER]);
    }
    this.#index(key, spec.target);

    const zone = normalizeName(spec.zone);
    const namespace = alias.metadata.namespace ?? 'default';
    if (!zoneAllowed(this.#deps.config, namespace, zone)) {
      const message = `namespace ${namespace} may not manage zone ${zone}; ask the operator to add it to the controller's allow list`;
      await this.#blocked(alias, 'ZoneNotAllowed', message, log);
      return {};
    }
    const claim = this.#claims.verdict(key) ?? { name: ownerName(spec), winner: key, losers: [] };
    if (claim.winner !== key) {
      const message = `${claim.name} is claimed by the older ApexAlias ${claim.winner}`;
      await this.#blocked(alias, 'Conflict', message, log);
      return {};
    }

    const previous = alias.status;
    const { outcomes } = await syncAliases(
      [
        {
          namespace,
          name: alias.metadata.name,
          spec,
          createdAt: alias.metadata.creationTimestamp,
          lastKnownGood: lastKnownGood(previous),
          supersedes: claim.losers,
        },
      ],
      {
        resolver: this.#deps.resolver,
        backendFor: this.#deps.backendFor,
        ownerId: this.#deps.config.ownerId,
        repairs: this.#deps.repairs,
        nameservers: this.#deps.nameservers,
        verifyAfterWriteMs: this.#deps.verifyAfterWriteMs,
        refresh: this.#deps.config.refresh,
        logger,
        now: this.#deps.now,
        random: this.#deps.random,
        dryRun: false,
        failures: this.#failures,
        signal: this.#deps.signal,
      },
    );
    const outcome = outcomes[0]!;
    this.#announceTargetChange(key, spec.target, outcome, previous);
    const ready = await this.#report(alias, outcome, log);
    this.#deps.observe?.(key, outcome, ready);
    return {
      requeueAfterMs: Math.max(0, outcome.refreshAt - this.#deps.now()),
      failed: outcome.failure !== undefined,
    };
  }

  /** Behaviour rule 11: remove what we own (unless Retain), then release the finalizer. */
  async #finalize(key: string, alias: ApexAlias, log: Logger): Promise<ReconcileResult> {
    const finalizers = alias.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return {};
    const spec = alias.spec;
    const zone = normalizeName(spec.zone);
    const namespace = alias.metadata.namespace ?? 'default';
    let backend: DnsBackend | undefined;
    try {
      backend = this.#deps.backendFor(zone, spec.backend);
    } catch (err) {
      // No backend serves the zone (any more): there is nothing we could have written there.
      log.warn('no backend for the zone; releasing without DNS cleanup', { error: (err as Error).message });
    }
    if (backend && spec.deletionPolicy === 'Delete' && zoneAllowed(this.#deps.config, namespace, zone)) {
      const fqdn = ownerName(spec);
      const current = (await backend.read(zone, [fqdn], { signal: this.#deps.signal })).get(fqdn) ?? {
        name: fqdn,
      };
      const verdict = planDeletion(fqdn, current, {
        ownerId: this.#deps.config.ownerId,
        resource: key,
        adopt: false,
      });
      if (verdict.kind === 'change') {
        const result = await backend.apply(zone, [verdict.change], { signal: this.#deps.signal });
        const error = result.chunks.find((c) => c.error)?.error;
        if (error) {
          this.#events.record(alias, 'Warning', 'DeleteFailed', 'Delete', error.message);
          throw error; // keep the finalizer; the workqueue retries with backoff
        }
        log.info('records deleted', { changes: verdict.reasons.map((r) => r.text) });
        this.#events.record(alias, 'Normal', 'RecordsDeleted', 'Delete', describeReasons(verdict.reasons));
      }
    }
    await this.#release(alias);
    this.#forget(key);
    // The name is free now: an alias that lost it to this one may take it.
    for (const other of this.#claims.claimants(ownerName(spec))) this.#deps.enqueue(other);
    return {};
  }

  /** Removes our finalizer, so the API server can delete the object. */
  async #release(alias: ApexAlias): Promise<void> {
    const finalizers = alias.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return;
    try {
      await this.#deps.client.setFinalizers(
        alias,
        finalizers.filter((f) => f !== FINALIZER),
      );
    } catch (err) {
      if (httpStatus(err) !== 404) throw err;
    }
  }

  async #blocked(alias: ApexAlias, reason: string, message: string, log: Logger): Promise<void> {
    log.warn(message, { reason });
    const changed = await this.#writeStatus(alias, blockedConditions(reason, message), {});
    if (changed) this.#events.record(alias, 'Warning', reason, 'Reconcile', message);
    this.#deps.observe?.(keyOf(alias), undefined, false);
  }

  /** Status and Events for one engine outcome. Returns whether the alias is Ready. */
  async #report(alias: ApexAlias, o: AliasOutcome, log: Logger): Promise<boolean> {
    const conditions = outcomeConditions(o, inSyncCondition(o));
    const rrsets = publishedRRsets(o, alias.status);
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
    await this.#writeStatus(alias, conditions, extra);

    const inSync = conditions.find((c) => c.type === 'InSync');
    if (o.written && o.verdict?.kind === 'change') {
      const repaired = o.drift?.action === 'repair';
      const note =
        (repaired ? 'the zone had been changed behind our back; restored: ' : '') +
        describeReasons(o.verdict.reasons);
      this.#events.record(alias, 'Normal', repaired ? 'DriftRepaired' : 'RecordsUpdated', 'Update', note);
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
    if (o.failure) log.debug('reconcile finished with a failure', { code: o.failure.code });
    return conditions[0]!.status === 'True';
  }

  /** Patches status when anything but timestamps changed. Returns whether it patched. */
  async #writeStatus(
    alias: ApexAlias,
    conditions: ConditionInput[],
    extra: Partial<ApexAliasStatus>,
  ): Promise<boolean> {
    const previous = alias.status;
    const now = isoNow(this.#deps.now());
    const next: ApexAliasStatus = {
      ...previous,
      ...extra,
      observedGeneration: alias.metadata.generation,
      conditions: setConditions(previous?.conditions, conditions, alias.metadata.generation, now),
    };
    if (JSON.stringify(semanticStatus(previous)) === JSON.stringify(semanticStatus(next))) return false;
    try {
      await this.#deps.client.patchStatus(alias.metadata.namespace ?? 'default', alias.metadata.name, next);
    } catch (err) {
      if (httpStatus(err) === 404) return false; // deleted meanwhile
      throw err;
    }
    return true;
  }

  /**
   * The target index: when one alias sees its target's addresses change, every other alias that
   * follows the same target is reconciled now instead of at its own refresh time.
   */
  #announceTargetChange(
    key: string,
    target: string,
    o: AliasOutcome,
    previous: ApexAliasStatus | undefined,
  ): void {
    const now = (type: 'A' | 'AAAA'): string | undefined => {
      const r = o.resolved[type]?.result;
      return r?.kind === 'addresses' ? r.addresses.join(',') : undefined;
    };
    // An empty list means nothing was published yet: that is no change of the target.
    const joined = (xs: string[] | undefined): string | undefined => (xs?.length ? xs.join(',') : undefined);
    const was = { A: joined(previous?.addresses?.ipv4), AAAA: joined(previous?.addresses?.ipv6) };
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
    const t = this.#targetOf.get(key);
    if (t) this.#byTarget.get(t)?.delete(key);
    this.#targetOf.delete(key);
    this.#failures.delete(key);
    this.#events.forget(key);
  }
}
