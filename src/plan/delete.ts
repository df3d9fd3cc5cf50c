import { changeOf } from './change.ts';
import { present } from './diff.ts';
import {
  classifyOwnership,
  describeMarker,
  markerName,
  markerValue,
  parseMarker,
  retainedMarkerValue,
} from './ownership.ts';
import type {
  AddressType,
  ChangeReason,
  CurrentRecords,
  DiffResult,
  NameChange,
  Ownership,
} from './types.ts';

const TYPES: readonly AddressType[] = ['A', 'AAAA'];

/**
 * What deleting the ApexAlias removes from the zone (behaviour rule 11): the A and AAAA records and
 * the marker, and only when the marker says they are ours. Records that another owner holds,
 * or that nobody claims, are never removed; that is a `noop` with the reason why.
 *
 * A CNAME at the name is `blocked` (`CnameAtName`): our A/AAAA cannot coexist with it, and the
 * change's `noCname` expectation could never hold, so retrying would not help.
 */
export function planDeletion(name: string, current: CurrentRecords, ownership: Ownership): DiffResult {
  const marker = markerName(name);
  const status = classifyOwnership(current.marker, ownership);
  if (status === 'unclaimed') {
    return {
      kind: 'noop',
      reason: `${marker} holds no ownership marker: nothing at ${name} is ours to remove`,
    };
  }
  if (status === 'foreign') {
    return { kind: 'noop', reason: `${marker} holds ${describeMarker(current.marker)}: left untouched` };
  }
  if (status === 'conflict') {
    const holder = parseMarker(current.marker?.[0] ?? '')?.resource ?? 'another ApexAlias';
    return { kind: 'noop', reason: `${name} belongs to ApexAlias ${holder}: left untouched` };
  }
  if (status === 'retained') {
    return { kind: 'noop', reason: `${marker} was retained by an earlier deletion: left untouched` };
  }
  if (current.cname !== undefined) {
    return {
      kind: 'blocked',
      reason: 'CnameAtName',
      message: `${name} now holds a CNAME to ${current.cname}; none of our A/AAAA records remain, only ${marker}.`,
    };
  }
  const value = markerValue(ownership.ownerId, ownership.resource);
  const set: NameChange['set'] = {};
  const reasons: ChangeReason[] = [];
  for (const type of TYPES) {
    if (present(current[type])) {
      set[type] = null;
      reasons.push({ subject: type, kind: 'removed', text: `${type}: removed (deleted)` });
    }
  }
  reasons.push({ subject: 'marker', kind: 'marker-deleted', text: 'marker: deleted' });
  return changeOf(name, value, { marker: 'delete', expectMarker: { value } }, set, reasons);
}

/**
 * What deleting an alias with `deletionPolicy: Retain` does (behaviour rule 11): its records stay
 * and its marker is marked retained, so that nobody manages them, the ownership sweep leaves them
 * alone, and an alias of the same key can take them back. Only a marker that is exactly ours.
 */
export function planRetention(name: string, current: CurrentRecords, ownership: Ownership): DiffResult {
  if (classifyOwnership(current.marker, ownership) !== 'ours')
    return { kind: 'noop', reason: `${markerName(name)} is not this alias's: left untouched` };
  const value = markerValue(ownership.ownerId, ownership.resource);
  return changeOf(
    name,
    retainedMarkerValue(ownership.ownerId, ownership.resource),
    { marker: 'replace', expectMarker: { value } },
    {},
    [{ subject: 'marker', kind: 'marker-retained', text: 'marker: retained (the records stay, unmanaged)' }],
  );
}
