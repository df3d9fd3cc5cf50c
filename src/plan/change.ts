import { markerName } from './ownership.ts';
import type { AddressType, ChangeReason, DiffResult, NameChange } from './types.ts';

/**
 * The planner's one shape of a write: a `change` verdict for owner name `name`, guarded by the
 * marker expectation (and the address types that must still be absent), always with `noCname`.
 */
export function changeOf(
  name: string,
  markerValue: string,
  how: { marker: NameChange['marker']; expectMarker: NameChange['expect']['marker']; absent?: AddressType[] },
  set: NameChange['set'],
  reasons: ChangeReason[],
): DiffResult {
  return {
    kind: 'change',
    change: {
      name,
      markerName: markerName(name),
      markerValue,
      expect: { marker: how.expectMarker, noCname: true, absent: how.absent ?? [] },
      set,
      marker: how.marker,
    },
    reasons,
  };
}

/** A change's reasons in words, one sentence: for Events, status messages and reports. */
export function describeReasons(reasons: readonly ChangeReason[]): string {
  return reasons.map((r) => r.text).join('; ');
}
