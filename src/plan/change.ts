import { markerName } from './ownership.ts';
import type { AddressType, DiffResult, NameChange } from './types.ts';

/**
 * The planner's one shape of a write: a `change` verdict for owner name `name`, guarded by the
 * marker expectation (and the address types that must still be absent), always with `noCname`.
 */
export function changeOf(
  name: string,
  markerValue: string,
  how: { marker: NameChange['marker']; expectMarker: NameChange['expect']['marker']; absent?: AddressType[] },
  set: NameChange['set'],
  reasons: string[],
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
