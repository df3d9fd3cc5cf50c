import { BackendError } from '../backends/errors.ts';
import { ConfigError } from '../config/errors.ts';
import type { DnsBackend } from '../backends/types.ts';
import { normalizeName } from '../dns/names.ts';
import { desired as planDesired } from '../plan/desired.ts';
import { diff } from '../plan/diff.ts';
import { ADDRESS_TYPE } from '../plan/types.ts';
import type { AddressType, CurrentRecords, FamilyResolution, ResolveFailureReason } from '../plan/types.ts';
import { withoutRepairs, zoneDrift } from '../drift/zone.ts';
import type { Resolved } from '../resolve/resolver.ts';
import { mapLimit } from '../util/concurrency.ts';
import { ClaimIndex } from '../plan/claims.ts';
import { aliasKey, ownerName } from '../api/names.ts';
import { checkNameservers, readBack } from './verify.ts';
import { aliasLogger } from '../observe/logger.ts';
import { backoffSeconds, refreshDelaySeconds } from './refresh.ts';
import type {
  AliasFailure,
  AliasInput,
  AliasOutcome,
  PlannedChange,
  SyncDeps,
  SyncReport,
  SyncSummary,
} from './types.ts';
import { resolveFailureCode } from './types.ts';

export type { SyncDeps, SyncReport } from './types.ts';

/**
 * One reconcile pass over a set of aliases: resolve every target (de-duplicated by the
 * resolver), read the affected names per backend and zone, plan each name with the pure
 * planner, and write each zone's changes in as few atomic, conditional writes as the backend
 * allows. A write whose prerequisites fail is retried name by name, so that one name changed
 * behind our back does not hold back the rest of its batch.
 */
export async function syncAliases(inputs: AliasInput[], deps: SyncDeps): Promise<SyncReport> {
  const backends = new Map<AliasOutcome, DnsBackend>();
  const outcomes = inputs.map((input) => initialOutcome(input, deps, backends));
  settleClaims(outcomes.filter((o) => !o.failure));

  // 1. Resolve every target, per family. The resolver de-duplicates and caches.
  const lookupsBefore = deps.resolver.stats.queries;
  const resolvable = outcomes.filter((o) => !o.failure);
  let done = 0;
  await mapLimit(resolvable, deps.concurrency ?? 256, async (o) => {
    for (const family of o.input.spec.addressFamilies) {
      const type = ADDRESS_TYPE[family];
      o.resolved[type] = await deps.resolver.resolve(o.input.spec.target, type);
    }
    o.desired = planDesired(
      {
        families: o.input.spec.addressFamilies,
        ttl: o.input.spec.ttl,
        onTargetMissing: o.input.spec.onTargetMissing,
        fallbackAddresses: o.input.spec.fallbackAddresses,
        adopt: o.input.spec.adopt,
      },
      resultsOf(o.resolved),
      o.input.lastKnownGood ?? {},
    );
    const failed = o.desired.problems.filter((p) => p.reason !== 'nxdomain' && p.reason !== 'nodata');
    if (failed.length) {
      // The other family is still planned and written (behaviour rule 1); the alias is not in sync.
      o.failure = {
        stage: 'resolve',
        code: resolveFailureCode(failed[0]!.reason as ResolveFailureReason),
        message: failed.map((p) => p.message).join('; '),
        retryable: true,
      };
    }
    deps.onProgress?.('resolve', ++done, resolvable.length);
  });

  // 2. Read and plan per backend and zone; 3. write.
  const groups = groupByBackendZone(resolvable, backends);
  let writes = 0;
  let records = 0;
  for (const [backend, zone, group] of groups) {
    // Cancelled (a lost lease, shutdown): no zone is started after that; what was sent stands.
    deps.signal?.throwIfAborted();
    const planned = await readAndPlan(backend, zone, group, deps);
    if (!deps.dryRun && planned.length > 0) {
      const result = await applyIsolating(backend, zone, planned, deps);
      writes += result.writes;
      records += result.records;
      await readBack(backend, zone, planned, deps);
    }
    if (!deps.dryRun) await checkNameservers(backend, zone, group, deps);
  }

  for (const o of outcomes) scheduleNext(o, deps);
  const summary: SyncSummary = {
    aliases: outcomes.length,
    changed: outcomes.filter((o) => o.verdict?.kind === 'change' && (o.written || deps.dryRun)).length,
    unchanged: outcomes.filter((o) => o.verdict?.kind === 'noop' && !o.failure).length,
    blocked: outcomes.filter((o) => o.verdict?.kind === 'blocked').length,
    failed: outcomes.filter((o) => o.failure && o.verdict?.kind !== 'blocked').length,
    writes,
    records,
    lookups: deps.resolver.stats.queries - lookupsBefore,
  };
  return { outcomes, summary };
}

function initialOutcome(
  input: AliasInput,
  deps: SyncDeps,
  backends: Map<AliasOutcome, DnsBackend>,
): AliasOutcome {
  const zone = normalizeName(input.spec.zone);
  const outcome: AliasOutcome = {
    input,
    key: aliasKey(input.namespace, input.name),
    fqdn: ownerName(input.spec),
    zone,
    resolved: {},
    written: false,
    refreshAt: deps.now(),
  };
  try {
    const backend = deps.backendFor(zone, input.spec.backend);
    backends.set(outcome, backend);
    outcome.backend = backend.name;
  } catch (err) {
    outcome.failure = failureOf(err);
  }
  return outcome;
}

/**
 * Behaviour rule 10 within one pass: the losers are blocked, and the winner may take over a
 * marker a loser holds. The controller settles claims across every alias it watches before it
 * calls the engine, so for it this only adds what `supersedes` already says.
 */
function settleClaims(outcomes: AliasOutcome[]): void {
  const claims = ClaimIndex.of(
    outcomes.map((o) => ({ key: o.key, name: o.fqdn, createdAt: o.input.createdAt })),
  );
  for (const o of outcomes) {
    const verdict = claims.verdict(o.key)!;
    if (verdict.winner === o.key) {
      o.supersedes = [...new Set([...(o.input.supersedes ?? []), ...verdict.losers])];
      continue;
    }
    o.verdict = {
      kind: 'blocked',
      reason: 'Conflict',
      message: `${o.fqdn} is already claimed by the older ApexAlias ${verdict.winner}`,
    };
    o.failure = { stage: 'conflict', code: 'ERR_CONFLICT', message: o.verdict.message, retryable: false };
  }
}

function resultsOf(resolved: AliasOutcome['resolved']): Partial<Record<AddressType, FamilyResolution>> {
  const out: Partial<Record<AddressType, FamilyResolution>> = {};
  for (const [type, r] of Object.entries(resolved) as Array<[AddressType, Resolved]>) out[type] = r.result;
  return out;
}

function groupByBackendZone(
  outcomes: AliasOutcome[],
  backends: Map<AliasOutcome, DnsBackend>,
): Array<[DnsBackend, string, AliasOutcome[]]> {
  const groups = new Map<string, [DnsBackend, string, AliasOutcome[]]>();
  for (const o of outcomes) {
    const key = `${o.backend}\u0000${o.zone}`;
    const entry = groups.get(key) ?? [backends.get(o)!, o.zone, []];
    entry[2].push(o);
    groups.set(key, entry);
  }
  return [...groups.values()];
}

async function readAndPlan(
  backend: DnsBackend,
  zone: string,
  group: AliasOutcome[],
  deps: SyncDeps,
): Promise<PlannedChange[]> {
  let current: Map<string, CurrentRecords>;
  try {
    current = await backend.read(
      zone,
      group.map((o) => o.fqdn),
      { signal: deps.signal },
    );
  } catch (err) {
    deps.signal?.throwIfAborted();
    const failure = failureOf(err);
    for (const o of group) o.failure = failure;
    deps.logger.error('reading the zone failed', {
      zone,
      backend: backend.name,
      code: failure.code,
      error: failure.message,
    });
    return [];
  }
  deps.onProgress?.('read', group.length, group.length);
  const planned: PlannedChange[] = [];
  for (const o of group) {
    const verdict = planOne(o, current.get(o.fqdn) ?? { name: o.fqdn }, deps);
    if (verdict.kind === 'change') planned.push({ outcome: o, change: verdict.change });
  }
  return planned;
}

function planOne(o: AliasOutcome, current: CurrentRecords, deps: SyncDeps): AliasOutcome['verdict'] & object {
  const verdict = diff(o.fqdn, o.desired!, current, {
    ownerId: deps.ownerId,
    resource: o.key,
    adopt: o.input.spec.adopt,
    supersedes: o.supersedes,
  });
  o.verdict = verdict;
  o.current = current;
  const log = aliasLogger(deps.logger, { ...o.input, zone: o.zone, target: o.input.spec.target });
  for (const p of o.desired!.problems) log.warn(p.message, { family: p.type, reason: p.reason });
  const lastWritten = o.input.lastKnownGood ?? {};
  const drift = zoneDrift(current, lastWritten);
  if (Object.values(drift).some(Boolean) && verdict.kind !== 'blocked') {
    const report = o.input.spec.driftPolicy === 'Report';
    const fight =
      !report && verdict.kind === 'change' && deps.repairs?.tryRepair(o.key, deps.now()) === false;
    o.drift = {
      types: drift,
      action: report ? 'report' : verdict.kind !== 'change' ? 'none' : fight ? 'fight' : 'repair',
    };
    log.warn(
      report
        ? 'zone drift reported (driftPolicy: Report)'
        : fight
          ? 'zone drift keeps coming back; not repairing'
          : 'zone drift: repairing',
      {
        drift,
        served: { A: current.A?.addresses, AAAA: current.AAAA?.addresses },
      },
    );
    if ((report || fight) && verdict.kind === 'change') {
      const kept = withoutRepairs(verdict.change, o.desired!, lastWritten);
      o.verdict = kept
        ? { ...verdict, change: kept }
        : { kind: 'noop', reason: 'zone drift reported, not repaired' };
    }
  } else if (Object.keys(drift).length) {
    o.drift = { types: drift, action: 'none' };
  }
  // Known now only when nothing is to be written; a write is verified by reading back.
  if (o.verdict.kind === 'noop') o.inSync = !(o.drift?.action === 'report' || o.drift?.action === 'fight');
  if (verdict.kind === 'blocked') log.warn(verdict.message, { reason: verdict.reason });
  if (o.verdict.kind === 'change') {
    log.info(deps.dryRun ? 'would change' : 'changing', {
      changes: o.verdict.reasons.map((r) => r.text),
      backend: o.backend,
    });
  }
  return o.verdict;
}

/**
 * Applies a zone's changes; for every chunk refused by a failed prerequisite, re-reads its
 * names and writes each of them on its own, so only the name that really changed is held back.
 */
async function applyIsolating(
  backend: DnsBackend,
  zone: string,
  planned: PlannedChange[],
  deps: SyncDeps,
): Promise<{ writes: number; records: number }> {
  const byName = new Map(planned.map((p) => [p.change.name, p]));
  const first = await backend.apply(
    zone,
    planned.map((p) => p.change),
    { signal: deps.signal },
  );
  deps.onProgress?.('write', planned.length, planned.length);
  let writes = first.chunks.length;
  let records = first.chunks.reduce((n, c) => n + c.records, 0);
  const retry: AliasOutcome[] = [];
  for (const chunk of first.chunks) {
    for (const name of chunk.names) {
      const o = byName.get(name)!.outcome;
      if (!chunk.error) o.written = true;
      else if (chunk.error.kind === 'PRECONDITION' && (chunk.batchSize ?? chunk.names.length) > 1)
        retry.push(o);
      else setWriteFailure(o, chunk.error, deps);
    }
  }
  if (retry.length === 0) return { writes, records };

  const again = await readAndPlan(backend, zone, retry, deps);
  for (const p of again) {
    const single = await backend.apply(zone, [p.change], { signal: deps.signal });
    writes += single.chunks.length;
    for (const chunk of single.chunks) {
      records += chunk.records;
      if (chunk.error) setWriteFailure(p.outcome, chunk.error, deps);
      else p.outcome.written = true;
    }
  }
  return { writes, records };
}

function setWriteFailure(o: AliasOutcome, error: BackendError, deps: SyncDeps): void {
  o.failure = failureOf(error);
  aliasLogger(deps.logger, { ...o.input, zone: o.zone, target: o.input.spec.target }).error('write failed', {
    code: error.code,
    detail: error.detail,
    error: error.message,
    backend: o.backend,
  });
}

/** The failure a thrown error means for the alias: a typed error keeps its code. */
function failureOf(err: unknown): AliasFailure {
  if (err instanceof BackendError)
    return { stage: 'backend', code: err.code, message: err.message, retryable: err.retryable };
  if (err instanceof ConfigError)
    return { stage: 'config', code: err.code, message: err.message, retryable: false };
  return {
    stage: 'internal',
    code: 'ERR_INTERNAL',
    message: (err as Error)?.message ?? String(err),
    retryable: true,
  };
}

/** Behaviour rule 15: next lookup when the shortest TTL runs out (with jitter), or backoff after failures. */
function scheduleNext(o: AliasOutcome, deps: SyncDeps): void {
  const failures = deps.failures;
  const failed =
    !!o.failure?.retryable || Object.values(o.resolved).some((r) => r && r.result.kind === 'failed');
  if (failed) {
    const n = (failures?.get(o.key) ?? 0) + 1;
    failures?.set(o.key, n);
    o.refreshAt = deps.now() + backoffSeconds(n, deps.refresh, deps.random) * 1000;
    return;
  }
  failures?.delete(o.key);
  const expiries = Object.values(o.resolved).map((r) => r!.expiresAt);
  // Look again when the target's TTL runs out, and at least every ttl.max (the longest TTL we
  // publish), so that drift checks and sync timestamps keep up even for long-TTL targets.
  const remaining = expiries.length
    ? Math.max(0, (Math.min(...expiries) - deps.now()) / 1000)
    : deps.refresh.maxSeconds;
  const ttl = Math.min(remaining, o.input.spec.ttl.max);
  o.refreshAt = deps.now() + refreshDelaySeconds(ttl, deps.refresh, deps.random) * 1000;
  if (o.written && deps.verifyAfterWriteMs !== undefined)
    o.refreshAt = Math.min(o.refreshAt, deps.now() + deps.verifyAfterWriteMs);
}
