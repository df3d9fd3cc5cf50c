import { BackendError } from '../backends/errors.ts';
import { ConfigError } from '../config/errors.ts';
import type { DnsBackend } from '../backends/types.ts';
import { normalizeName, tryNormalizeName } from '../dns/names.ts';
import { desired as planDesired } from '../plan/desired.ts';
import { diff } from '../plan/diff.ts';
import { planDeletion, planRetention } from '../plan/delete.ts';
import { ADDRESS_TYPE } from '../plan/types.ts';
import type { AddressType, CurrentRecords, FamilyResolution, ResolveFailureReason } from '../plan/types.ts';
import { withoutRepairs, zoneDrift } from '../drift/zone.ts';
import type { Resolved } from '../resolve/resolver.ts';
import { mapLimit } from '../util/concurrency.ts';
import { ClaimIndex } from '../plan/claims.ts';
import { markerName } from '../plan/ownership.ts';
import { aliasKey, ownerName } from '../api/names.ts';
import { checkNameservers, holds, readBack } from './verify.ts';
import { aliasLogger } from '../observe/logger.ts';
import { backoffSeconds, refreshTime } from './refresh.ts';
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
  // A failed lookup still lets the other family be written (behaviour rule 1), so every alias
  // that has a backend and won its name is read and planned.
  const plannable = outcomes.filter((o) => !o.failure && backends.has(o));
  const resolvable = plannable.filter((o) => !o.input.deleting);
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

  // 2. Read and plan per backend and zone; 3. write. Zones are independent of each other.
  const groups = groupByBackendZone(plannable, backends);
  let writes = 0;
  let records = 0;
  await mapLimit(groups, deps.zoneConcurrency ?? 16, async ([backend, zone, group]) => {
    // Cancelled (a lost lease, shutdown): no zone is started after that; what was sent stands.
    deps.signal?.throwIfAborted();
    const planned = await readAndPlan(backend, zone, group, deps);
    if (!deps.dryRun && planned.length > 0) {
      const result = await applyIsolating(backend, zone, planned, deps);
      writes += result.writes;
      records += result.records;
      await readBack(backend, zone, planned, deps);
    }
    if (!deps.dryRun)
      await checkNameservers(
        backend,
        zone,
        group.filter((o) => !o.input.deleting),
        deps,
      );
  });

  for (const o of outcomes) if (!o.input.deleting) scheduleNext(o, deps);
  const summary: SyncSummary = {
    aliases: outcomes.length,
    changed: outcomes.filter((o) => o.verdict?.kind === 'change' && (o.written || deps.dryRun)).length,
    unchanged: outcomes.filter((o) => o.verdict?.kind === 'noop' && !o.failure && !driftLeft(o)).length,
    blocked: outcomes.filter((o) => o.verdict?.kind === 'blocked').length,
    failed: outcomes.filter((o) => o.failure && o.verdict?.kind !== 'blocked').length,
    drifted: outcomes.filter(driftLeft).length,
    writes,
    records,
    lookups: deps.resolver.stats.queries - lookupsBefore,
  };
  return { outcomes, summary };
}

/** Whether the zone was left drifting for this alias (driftPolicy Report, or a fight). */
export function driftLeft(o: AliasOutcome): boolean {
  return o.drift?.action === 'report' || o.drift?.action === 'fight';
}

function initialOutcome(
  input: AliasInput,
  deps: SyncDeps,
  backends: Map<AliasOutcome, DnsBackend>,
): AliasOutcome {
  const zone = normalizeName(input.spec.zone);
  const fqdn = tryOwnerName(input.spec);
  const outcome: AliasOutcome = {
    input,
    key: aliasKey(input.namespace, input.name),
    fqdn: fqdn ?? `${input.spec.name}.${zone}`,
    zone,
    resolved: {},
    written: false,
    refreshAt: deps.now(),
  };
  if (fqdn === undefined || tryNormalizeName(markerName(fqdn)) === undefined) {
    // Admission refuses such names now; an object admitted before cannot have written anything
    // there either, so its deletion has nothing to do.
    if (input.deleting) outcome.verdict = { kind: 'noop', reason: 'no record can exist at this name' };
    else
      outcome.failure = {
        stage: 'spec',
        code: 'ERR_INVALID_NAME',
        message: `the owner name ${outcome.fqdn} is too long: with its ownership marker (${markerName('')}…) it exceeds 253 octets; use a shorter spec.name`,
        retryable: false,
      };
    return outcome;
  }
  try {
    const backend = deps.backendFor(zone, input.spec.backend);
    backends.set(outcome, backend);
    outcome.backend = backend.name;
  } catch (err) {
    outcome.failure = failureOf(err);
  }
  return outcome;
}

function tryOwnerName(spec: AliasInput['spec']): string | undefined {
  try {
    return ownerName(spec);
  } catch {
    return undefined;
  }
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
  const current = await readIsolating(backend, zone, group, deps);
  deps.onProgress?.('read', group.length, group.length);
  const planned: PlannedChange[] = [];
  for (const o of group) {
    const have = current.get(o.fqdn);
    if (!have) continue;
    const verdict = planOne(o, have, deps);
    if (verdict.kind === 'change') planned.push({ outcome: o, change: verdict.change });
  }
  return planned;
}

/**
 * Reads the group's names. When a read of several names fails for a reason that may concern
 * only some of them (a name the server refuses, an answer it cannot give), the names are read
 * again in halves, so that one alias's bad name fails that alias alone (behaviour rule 14).
 * Failures that concern every name (unreachable, credentials) are not split.
 */
async function readIsolating(
  backend: DnsBackend,
  zone: string,
  group: AliasOutcome[],
  deps: SyncDeps,
): Promise<Map<string, CurrentRecords>> {
  try {
    const current = await backend.read(
      zone,
      group.map((o) => o.fqdn),
      { signal: deps.signal },
    );
    for (const o of group) if (!current.has(o.fqdn)) current.set(o.fqdn, { name: o.fqdn });
    return current;
  } catch (err) {
    deps.signal?.throwIfAborted();
    if (group.length > 1 && splittable(err)) {
      const half = Math.ceil(group.length / 2);
      const [a, b] = await Promise.all([
        readIsolating(backend, zone, group.slice(0, half), deps),
        readIsolating(backend, zone, group.slice(half), deps),
      ]);
      return new Map([...a, ...b]);
    }
    const failure = failureOf(err);
    for (const o of group) {
      o.failure = group.length > 1 && splittable(err) ? batchFailure(failure, o, group.length) : failure;
      aliasLogger(deps.logger, { ...o.input, zone, target: o.input.spec.target }).error(
        'reading the zone failed',
        {
          backend: backend.name,
          code: failure.code,
          error: o.failure.message,
        },
      );
    }
    return new Map();
  }
}

/** Whether a failure of a call about several names may concern only some of them. */
function splittable(err: unknown): boolean {
  return !(err instanceof BackendError) || (err.kind !== 'UNREACHABLE' && err.kind !== 'AUTH');
}

/**
 * The failure of a call about several names, as one alias sees it, when it may concern only
 * some of them: the backend's message may name other aliases' records (a tenant must never
 * read another's names), so it is replaced by one about this alias alone, with the backend's
 * code. Failures that concern every name (unreachable, credentials) keep the backend's message,
 * which speaks of the server and the zone, never of a record.
 */
function batchFailure(failure: AliasFailure, o: AliasOutcome, names: number): AliasFailure {
  const detail = failure.stage === 'backend' ? ` (${failure.code})` : '';
  return {
    ...failure,
    message: `the ${o.backend ?? 'backend'} backend failed a request for ${o.fqdn} and ${names - 1} other name(s) of zone ${o.zone}${detail}; it is retried with backoff`,
  };
}

function planOne(o: AliasOutcome, current: CurrentRecords, deps: SyncDeps): AliasOutcome['verdict'] & object {
  o.current = current;
  if (o.input.deleting) {
    const ownership = { ownerId: deps.ownerId, resource: o.key, adopt: false };
    o.verdict =
      o.input.spec.deletionPolicy === 'Retain'
        ? planRetention(o.fqdn, current, ownership)
        : planDeletion(o.fqdn, current, ownership);
    if (o.verdict.kind === 'change')
      aliasLogger(deps.logger, { ...o.input, zone: o.zone, target: o.input.spec.target }).info(
        deps.dryRun ? 'would delete' : 'deleting',
        { changes: o.verdict.reasons.map((r) => r.text), backend: o.backend },
      );
    return o.verdict;
  }
  const verdict = diff(o.fqdn, o.desired!, current, {
    ownerId: deps.ownerId,
    resource: o.key,
    adopt: o.input.spec.adopt,
    supersedes: o.supersedes,
  });
  o.verdict = verdict;
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
 * Applies a zone's changes (behaviour rule 14). A write of several names that is refused is not
 * allowed to hold back or fail the others: a failed prerequisite means some name changed since
 * it was read, so each name of that write is read, planned and written again on its own; any
 * other refusal that may concern a single name (REFUSED, SERVFAIL, FORMERR, an invalid change) is
 * bisected until the names it concerns stand alone. Failures that concern every name
 * (unreachable, credentials) are not retried now, and every write beyond a budget is left to the
 * next pass, so a zone-wide refusal cannot turn into one write per name.
 */
/** Writes a zone may spend in one pass on isolating refused names; the rest wait for the next. */
const RETRY_BUDGET = 64;

async function applyIsolating(
  backend: DnsBackend,
  zone: string,
  planned: PlannedChange[],
  deps: SyncDeps,
): Promise<{ writes: number; records: number }> {
  const totals = { writes: 0, records: 0, budget: RETRY_BUDGET };
  await applyPart(backend, zone, planned, deps, totals);
  deps.onProgress?.('write', planned.length, planned.length);
  return { writes: totals.writes, records: totals.records };
}

async function applyPart(
  backend: DnsBackend,
  zone: string,
  planned: PlannedChange[],
  deps: SyncDeps,
  totals: { writes: number; records: number; budget: number },
): Promise<void> {
  const byName = new Map(planned.map((p) => [p.change.name, p]));
  const result = await backend.apply(
    zone,
    planned.map((p) => p.change),
    { signal: deps.signal },
  );
  totals.writes += result.chunks.length;
  totals.records += result.chunks.reduce((n, c) => n + c.records, 0);
  for (const chunk of result.chunks) {
    const part = chunk.names.map((name) => byName.get(name)!);
    const shared = chunk.names.length > 1;
    if (!chunk.error) {
      for (const p of part) p.outcome.written = true;
    } else if (chunk.error.kind === 'UNVERIFIED') {
      await settleUnverified(backend, zone, part, chunk.error, deps);
    } else if (!shared || !splittable(chunk.error) || totals.budget <= 0) {
      for (const p of part) setWriteFailure(p.outcome, chunk.error, shared ? chunk.names.length : 1, deps);
    } else if (chunk.error.kind === 'PRECONDITION') {
      // Someone changed a name since it was read: read again, and write each name alone.
      const again = await readAndPlan(
        backend,
        zone,
        part.map((p) => p.outcome),
        deps,
      );
      for (const p of again) {
        totals.budget--;
        await applyPart(backend, zone, [p], deps, totals);
      }
    } else {
      const half = Math.ceil(part.length / 2);
      totals.budget -= 2;
      await applyPart(backend, zone, part.slice(0, half), deps, totals);
      await applyPart(backend, zone, part.slice(half), deps, totals);
    }
  }
}

/**
 * A write whose reply could not be trusted: read its names back, and count each one written when
 * the zone holds what it should, or failed (and retried) otherwise.
 */
async function settleUnverified(
  backend: DnsBackend,
  zone: string,
  part: PlannedChange[],
  error: BackendError,
  deps: SyncDeps,
): Promise<void> {
  const current = await readIsolating(
    backend,
    zone,
    part.map((p) => p.outcome),
    deps,
  );
  for (const p of part) {
    const now = current.get(p.change.name);
    if (now && holds(now, p.change)) {
      p.outcome.written = true;
      aliasLogger(deps.logger, { ...p.outcome.input, zone, target: p.outcome.input.spec.target }).warn(
        'the reply to the write did not verify, but the zone holds the change',
        { code: error.code, detail: error.detail, backend: p.outcome.backend },
      );
    } else if (!p.outcome.failure) {
      setWriteFailure(p.outcome, error, 1, deps);
    }
  }
}

function setWriteFailure(o: AliasOutcome, error: BackendError, names: number, deps: SyncDeps): void {
  const failure = failureOf(error);
  o.failure = names > 1 && splittable(error) ? batchFailure(failure, o, names) : failure;
  aliasLogger(deps.logger, { ...o.input, zone: o.zone, target: o.input.spec.target }).error('write failed', {
    code: error.code,
    detail: error.detail,
    error: o.failure.message,
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
  o.refreshAt = refreshTime(deps.now(), ttl, deps.refresh, deps.random);
  if (o.written && deps.verifyAfterWriteMs !== undefined)
    o.refreshAt = Math.min(o.refreshAt, deps.now() + deps.verifyAfterWriteMs);
}
