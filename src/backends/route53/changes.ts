/**
 * Planned changes as Route 53 change batches, and what the backend knows of a name. Pure.
 *
 * Route 53 has no prerequisites; its conditions are its actions. A CREATE fails when the record
 * set exists, and a DELETE fails unless it names the current record set exactly (TTL and every
 * value). A batch is applied whole or not at all. So every expectation of a `NameChange` that can
 * be written as an action is: a DELETE of the exact record set last read, followed by the CREATE
 * of its replacement, or a bare CREATE where nothing may exist yet. The rest (types the change
 * does not write, a CNAME beside a name it only deletes from) is checked against the last read.
 */
import type { Change, ResourceRecordSet } from '@aws-sdk/client-route-53';
import { normalizeAddresses } from '../../plan/addresses.ts';
import type { AddressRRset, AddressType, CurrentRecords, NameChange } from '../../plan/types.ts';
import { MARKER_TTL } from '../rfc2136/messages.ts';
import { quoteTxt, toApiName, unquoteTxt } from './names.ts';

const ADDRESS_TYPES: readonly AddressType[] = ['A', 'AAAA'];

/** What the last read (or the last successful write) found at one owner name and its marker name. */
export interface NameState {
  /** The record sets exactly as the API listed them, so that a DELETE can repeat them. */
  A: ResourceRecordSet[];
  AAAA: ResourceRecordSet[];
  CNAME: ResourceRecordSet[];
  /** TXT record sets at `_apexalias.<name>`. */
  marker: ResourceRecordSet[];
  /** A CNAME at the marker name, which no TXT can be written beside. */
  markerCname: ResourceRecordSet[];
}

export function emptyState(): NameState {
  return { A: [], AAAA: [], CNAME: [], marker: [], markerCname: [] };
}

/** The values of a record set (none for an alias record, which points at an AWS resource). */
function valuesOf(set: ResourceRecordSet): string[] {
  return (set.ResourceRecords ?? []).map((r) => r.Value ?? '');
}

/**
 * A name's state in the planner's vocabulary. Several record sets of a type (weighted or other
 * routing policies) count as one RRset with every value and the lowest TTL; an alias record
 * counts as an RRset without addresses, so the planner sees the name as taken.
 */
export function currentRecords(name: string, state: NameState): CurrentRecords {
  const current: CurrentRecords = { name };
  for (const type of ADDRESS_TYPES) {
    const sets = state[type];
    if (sets.length === 0) continue;
    current[type] = {
      ttl: Math.min(...sets.map((s) => s.TTL ?? 0)),
      addresses: normalizeAddresses(sets.flatMap(valuesOf)),
    };
  }
  const cname = state.CNAME[0];
  if (cname) {
    const target = valuesOf(cname)[0] ?? cname.AliasTarget?.DNSName ?? '';
    current.cname = target.toLowerCase().replace(/\.$/, '');
  }
  if (state.marker.length > 0) current.marker = state.marker.flatMap(valuesOf).map(unquoteTxt).sort();
  return current;
}

function simpleSet(
  name: string,
  type: 'A' | 'AAAA' | 'TXT',
  ttl: number,
  values: string[],
): ResourceRecordSet {
  return { Name: toApiName(name), Type: type, TTL: ttl, ResourceRecords: values.map((Value) => ({ Value })) };
}

/** Our one marker record set, when `sets` is exactly that: one simple TXT with one value `value`. */
function markerMatching(sets: ResourceRecordSet[], value: string): ResourceRecordSet | undefined {
  if (sets.length !== 1) return undefined;
  const set = sets[0]!;
  const values = valuesOf(set);
  if (set.SetIdentifier !== undefined || values.length !== 1 || unquoteTxt(values[0]!) !== value)
    return undefined;
  return set;
}

/** The Route 53 changes of one `NameChange`, or why its expectation does not hold on what was last read. */
export type NameChanges =
  { ok: true; changes: Change[]; after: NameState } | { ok: false; reasons: string[] };

/**
 * Translates one planned change, given what the last read found at the name:
 *
 * - marker `create` (expect absent): CREATE the marker; Route 53 refuses it if any TXT is there.
 * - marker `keep` (expect our value): DELETE the marker exactly as read and CREATE it again,
 *   unchanged, so the batch fails if the marker changed since.
 * - marker `replace` (expect the other alias's value): DELETE that marker, CREATE ours.
 * - marker `delete` (expect our value): DELETE it.
 * - each address type in `set`: a type in `expect.absent` is a bare CREATE (refused if the type
 *   exists); any other is a DELETE of every record set of the type as read, then a CREATE of the
 *   new one (none when the type is removed).
 *
 * Each DELETE comes before the CREATE it makes room for: Route 53 applies a batch in order.
 */
export function changesFor(change: NameChange, state: NameState): NameChanges {
  const reasons = unmetExpectations(change, state);
  if (reasons.length > 0) return { ok: false, reasons };

  const changes: Change[] = [];
  const after: NameState = { ...state };
  let markerTtl = MARKER_TTL;
  for (const type of ADDRESS_TYPES) {
    if (!(type in change.set)) continue;
    const want: AddressRRset | null | undefined = change.set[type];
    if (!change.expect.absent.includes(type)) {
      for (const set of state[type]) changes.push({ Action: 'DELETE', ResourceRecordSet: set });
    }
    after[type] = [];
    if (want) {
      markerTtl = Math.min(markerTtl, want.ttl);
      const set = simpleSet(change.name, type, want.ttl, want.addresses);
      changes.push({ Action: 'CREATE', ResourceRecordSet: set });
      after[type] = [set];
      after.CNAME = [];
    }
  }

  const ours = simpleSet(change.markerName, 'TXT', markerTtl, [quoteTxt(change.markerValue)]);
  const expected = change.expect.marker === 'absent' ? undefined : change.expect.marker.value;
  const current = expected === undefined ? undefined : markerMatching(state.marker, expected);
  switch (change.marker) {
    case 'create':
      changes.push({ Action: 'CREATE', ResourceRecordSet: ours });
      after.marker = [ours];
      break;
    case 'keep':
      // `unmetExpectations` proved `current` present for every marker but `create`.
      changes.push({ Action: 'DELETE', ResourceRecordSet: current! });
      changes.push({ Action: 'CREATE', ResourceRecordSet: current! });
      break;
    case 'replace':
      changes.push({ Action: 'DELETE', ResourceRecordSet: current! });
      changes.push({ Action: 'CREATE', ResourceRecordSet: ours });
      after.marker = [ours];
      break;
    case 'delete':
      changes.push({ Action: 'DELETE', ResourceRecordSet: current! });
      after.marker = [];
      break;
  }
  return { ok: true, changes, after };
}

/**
 * Why `change.expect` does not hold on `state`; empty when it holds. Route 53 checks most of
 * this again when it applies the batch, but not all (see the module comment), and a batch that
 * is known to fail is not worth sending.
 */
export function unmetExpectations(change: NameChange, state: NameState): string[] {
  const reasons: string[] = [];
  const { expect } = change;
  const markerValues = state.marker.flatMap(valuesOf).map(unquoteTxt);
  if (expect.marker === 'absent') {
    if (change.marker !== 'create') {
      throw new Error(`a change that expects no marker must create one (${change.name}: ${change.marker})`);
    }
    if (state.marker.length > 0) {
      reasons.push(`${change.markerName} holds TXT ${JSON.stringify(markerValues)}, expected none`);
    }
  } else if (!markerMatching(state.marker, expect.marker.value)) {
    reasons.push(
      `${change.markerName} holds TXT ${JSON.stringify(markerValues)}, expected ${JSON.stringify([expect.marker.value])}`,
    );
  }
  if (state.CNAME.length > 0) reasons.push(`${change.name} holds a CNAME`);
  for (const type of expect.absent) {
    if (state[type].length > 0) reasons.push(`${change.name} already holds ${type} records`);
  }
  if (change.marker === 'create' && state.markerCname.length > 0) {
    reasons.push(`${change.markerName} holds a CNAME, so no marker TXT can be written there`);
  }
  return reasons;
}

/**
 * ChangeResourceRecordSets quotas (Route 53 Developer Guide, "Quotas on API requests"): at most
 * 1,000 changes, 1,000 ResourceRecord elements and 32,000 characters in all Value elements, where
 * an UPSERT counts its records and characters twice.
 */
export const BATCH_LIMITS = { changes: 1000, records: 1000, characters: 32_000 } as const;

/** What a list of changes costs against {@link BATCH_LIMITS}. */
export interface BatchCost {
  changes: number;
  records: number;
  characters: number;
}

export function costOf(changes: readonly Change[]): BatchCost {
  const cost: BatchCost = { changes: 0, records: 0, characters: 0 };
  for (const c of changes) {
    const factor = c.Action === 'UPSERT' ? 2 : 1;
    const values = c.ResourceRecordSet ? valuesOf(c.ResourceRecordSet) : [];
    cost.changes += 1;
    cost.records += factor * values.length;
    cost.characters += factor * values.reduce((n, v) => n + v.length, 0);
  }
  return cost;
}

function fits(cost: BatchCost): boolean {
  return (
    cost.changes <= BATCH_LIMITS.changes &&
    cost.records <= BATCH_LIMITS.records &&
    cost.characters <= BATCH_LIMITS.characters
  );
}

/** One ChangeResourceRecordSets request: whole names only. */
export interface Batch<T> {
  items: T[];
  changes: Change[];
  /** Set when one name alone exceeds the quotas: the batch is never sent. */
  oversize?: BatchCost;
}

/**
 * Packs the names' changes, in order, into as few batches as the quotas allow. A name is never
 * split over two batches, so a failed condition leaves all of its records untouched.
 */
export function packBatches<T>(items: ReadonlyArray<{ item: T; changes: Change[] }>): Array<Batch<T>> {
  const batches: Array<Batch<T>> = [];
  let open: Batch<T> | undefined;
  let openCost: BatchCost = { changes: 0, records: 0, characters: 0 };
  for (const { item, changes } of items) {
    const own = costOf(changes);
    if (!fits(own)) {
      batches.push({ items: [item], changes, oversize: own });
      // Later names start a new batch, so that batches keep the order of the names.
      open = undefined;
      continue;
    }
    const sum: BatchCost = {
      changes: openCost.changes + own.changes,
      records: openCost.records + own.records,
      characters: openCost.characters + own.characters,
    };
    if (open && fits(sum)) {
      open.items.push(item);
      open.changes.push(...changes);
      openCost = sum;
      continue;
    }
    open = { items: [item], changes: [...changes] };
    openCost = own;
    batches.push(open);
  }
  return batches;
}
