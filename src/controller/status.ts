import type { ApexAliasStatus, Condition } from '../api/schema.ts';
import type { AliasOutcome } from '../engine/types.ts';
import { publishedAfter } from '../engine/published.ts';
import type { AddressRRset, AddressType } from '../plan/types.ts';
import { describeReasons } from '../plan/change.ts';

export type ConditionType = 'Ready' | 'Resolved' | 'Synced' | 'InSync' | 'Deleting';

/** A condition before the bookkeeping fields are filled in. */
export interface ConditionInput {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** CamelCase reason from a code or lower-case word: "chain-too-long" → "ChainTooLong". */
export function reasonOf(word: string): string {
  return word
    .replace(/^ERR_/, '')
    .toLowerCase()
    .split(/[_\-\s]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}

/**
 * Sets `next` into `conditions` the metav1 way: lastTransitionTime moves only when the status
 * changes, so a condition that flaps reason but not status keeps its transition time.
 */
export function setConditions(
  previous: Condition[] | undefined,
  next: ConditionInput[],
  generation: number | undefined,
  now: string,
): Condition[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    const condition: Condition = {
      ...c,
      lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now,
    };
    if (generation !== undefined) condition.observedGeneration = generation;
    return condition;
  });
}

/** A condition the reconciler sets before any DNS work: ZoneNotAllowed, Conflict, invalid backend. */
export function blockedConditions(reason: string, message: string): ConditionInput[] {
  return [
    { type: 'Ready', status: 'False', reason, message },
    { type: 'Resolved', status: 'Unknown', reason, message: 'not resolved: ' + message },
    { type: 'Synced', status: 'False', reason, message },
    { type: 'InSync', status: 'Unknown', reason, message: 'not checked: ' + message },
  ];
}

/**
 * The conditions of an alias being deleted whose records cannot be removed yet (behaviour rule
 * 11): `Deleting` False with why, `Ready` False, the others as they were.
 */
export function deletingConditions(
  reason: string,
  message: string,
  previous: ApexAliasStatus | undefined,
): ConditionInput[] {
  const why = `the records cannot be removed yet, so the object stays: ${message}`;
  const kept = (previous?.conditions ?? [])
    .filter((c) => c.type !== 'Ready' && c.type !== 'Deleting')
    .map((c) => ({ type: c.type as ConditionType, status: c.status, reason: c.reason, message: c.message }));
  return [
    { type: 'Ready', status: 'False', reason: 'Deleting', message: why },
    ...kept,
    { type: 'Deleting', status: 'False', reason, message: why },
  ];
}

/** The four conditions for a reconcile that ran the engine. */
export function outcomeConditions(o: AliasOutcome, inSync: ConditionInput | undefined): ConditionInput[] {
  const problems = o.desired?.problems ?? [];
  const failed = problems.filter((p) => p.reason !== 'nxdomain' && p.reason !== 'nodata');
  const missing = problems.filter((p) => p.reason === 'nxdomain' || p.reason === 'nodata');
  // A family the target simply does not have (NODATA) while another resolved is normal: an
  // IPv4-only load balancer must not keep an alias with the default families un-Ready.
  const resolvedSome = Object.values(o.resolved).some((r) => r?.result.kind === 'addresses');
  const onlyNodata = missing.length > 0 && missing.every((p) => p.reason === 'nodata') && resolvedSome;
  const resolved: ConditionInput = !o.desired
    ? {
        type: 'Resolved',
        status: 'Unknown',
        reason: 'NotResolved',
        message: o.failure?.message ?? 'not resolved',
      }
    : failed.length
      ? {
          type: 'Resolved',
          status: 'False',
          reason: reasonOf(failed[0]!.reason),
          message: failed.map((p) => p.message).join('; '),
        }
      : missing.length && !onlyNodata
        ? {
            type: 'Resolved',
            status: 'False',
            reason: 'TargetMissing',
            message: missing.map((p) => p.message).join('; '),
          }
        : {
            type: 'Resolved',
            status: 'True',
            reason: 'Resolved',
            message: [`resolved ${o.input.spec.target}`, ...missing.map((p) => p.message)].join('; '),
          };

  let synced: ConditionInput;
  if (o.verdict?.kind === 'blocked') {
    synced = { type: 'Synced', status: 'False', reason: o.verdict.reason, message: o.verdict.message };
  } else if (o.failure && o.failure.stage !== 'resolve') {
    synced = {
      type: 'Synced',
      status: 'False',
      reason: reasonOf(o.failure.code),
      message: o.failure.message,
    };
  } else if (o.verdict?.kind === 'change') {
    synced = o.written
      ? { type: 'Synced', status: 'True', reason: 'Written', message: describeReasons(o.verdict.reasons) }
      : {
          type: 'Synced',
          status: 'False',
          reason: 'NotWritten',
          message: describeReasons(o.verdict.reasons),
        };
  } else {
    synced = {
      type: 'Synced',
      status: 'True',
      reason: 'UpToDate',
      message: 'the zone already holds the desired records',
    };
  }

  // Unknown until the backend was read after the write (or found already right).
  const sync: ConditionInput = inSync ?? {
    type: 'InSync',
    status: 'Unknown',
    reason: 'NotChecked',
    message:
      synced.status === 'True' ? 'not verified in the backend yet' : 'the records could not be written',
  };

  const notReady = [synced, resolved, sync].find((c) => c.status !== 'True' && !tolerated(c));
  const ready: ConditionInput = notReady
    ? { type: 'Ready', status: 'False', reason: notReady.reason, message: notReady.message }
    : { type: 'Ready', status: 'True', reason: 'Ready', message: `${o.fqdn} follows ${o.input.spec.target}` };
  return [ready, resolved, synced, sync];
}

/**
 * A nameserver that does not answer says nothing about what it serves, and the backend holds
 * the right records: the alias stays Ready, and InSync says which nameservers were not asked.
 */
function tolerated(c: ConditionInput): boolean {
  return c.type === 'InSync' && c.status === 'Unknown' && c.reason === 'NameserverUnreachable';
}

/** InSync (behaviour rule 13): the zone, and every authoritative nameserver, serve what they should. */
export function inSyncCondition(o: AliasOutcome): ConditionInput | undefined {
  const types = Object.entries(o.drift?.types ?? {})
    .filter(([, d]) => d)
    .map(([t]) => t)
    .join(' and ');
  if (o.drift?.action === 'fight') {
    return {
      type: 'InSync',
      status: 'False',
      reason: 'DriftFight',
      message: `${types} at ${o.fqdn} keeps being changed by another writer; repairs are paused`,
    };
  }
  if (o.drift?.action === 'report') {
    return {
      type: 'InSync',
      status: 'False',
      reason: 'ZoneDrift',
      message: `the zone serves other ${types} records than were written at ${o.fqdn}; driftPolicy Report: not repaired`,
    };
  }
  if (o.inSync === false) {
    return {
      type: 'InSync',
      status: 'False',
      reason: 'ZoneDrift',
      message: `the backend does not hold what should be served at ${o.fqdn}`,
    };
  }
  const lagging = [...(o.nameservers ?? [])].filter(([, v]) => v.drifted);
  if (lagging.length) {
    return {
      type: 'InSync',
      status: 'False',
      reason: 'NameserverDrift',
      message: lagging.map(([ns, v]) => `${ns} ${v.detail}`).join('; '),
    };
  }
  const unreachable = [...(o.nameservers ?? [])].filter(([, v]) => v.unreachable);
  if (o.inSync === true && unreachable.length) {
    return {
      type: 'InSync',
      status: 'Unknown',
      reason: 'NameserverUnreachable',
      message:
        `confirmed in the backend; not confirmed on ${unreachable.length} nameserver(s) that did not answer: ` +
        unreachable.map(([ns, v]) => `${ns} ${v.detail}`).join('; '),
    };
  }
  if (o.inSync === true) {
    const checked = o.nameservers?.size ? ` and on ${o.nameservers.size} nameservers` : '';
    return {
      type: 'InSync',
      status: 'True',
      reason: 'Confirmed',
      message: `confirmed in the backend${checked}`,
    };
  }
  return undefined;
}

/** What the zone should hold now for this alias, for status and as next pass's last-known-good. */
export function publishedRRsets(
  o: AliasOutcome,
  previous: ApexAliasStatus | undefined,
): Partial<Record<AddressType, AddressRRset>> {
  return publishedAfter(o, lastKnownGood(previous));
}

/** Reads the RRsets written last back from a status, to restore while lookups fail (behaviour rule 5). */
export function lastKnownGood(
  status: ApexAliasStatus | undefined,
): Partial<Record<AddressType, AddressRRset>> {
  const out: Partial<Record<AddressType, AddressRRset>> = {};
  if (!status?.ttl) return out;
  if (status.addresses?.ipv4?.length) out.A = { ttl: status.ttl, addresses: [...status.addresses.ipv4] };
  if (status.addresses?.ipv6?.length) out.AAAA = { ttl: status.ttl, addresses: [...status.addresses.ipv6] };
  return out;
}

/** Short text for the ADDRESSES printer column. */
export function addressesSummary(ipv4: string[], ipv6: string[]): string {
  const all = [...ipv4, ...ipv6];
  if (all.length === 0) return '';
  return all.length <= 3 ? all.join(',') : `${all.length} addresses`;
}

/** Timestamps alone refresh the status at most this often. */
const TIMESTAMP_REFRESH_MS = 60 * 60_000;

/**
 * The fields whose change is worth a status patch. Timestamps count only in 10-minute steps, so
 * lastSyncedTime stays fresh to within an hour without a patch on every TTL refresh (10,000 quiet
 * aliases cost fewer than 3 status patches a second).
 */
export function semanticStatus(s: ApexAliasStatus | undefined): unknown {
  if (!s) return undefined;
  const step = (t: string | undefined): number | undefined =>
    t ? Math.floor(Date.parse(t) / TIMESTAMP_REFRESH_MS) : undefined;
  return {
    synced: step(s.lastSyncedTime),
    resolved: step(s.lastResolvedTime),
    observedGeneration: s.observedGeneration,
    conditions: s.conditions?.map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration]),
    addresses: s.addresses,
    ttl: s.ttl,
    chain: s.chain,
  };
}
