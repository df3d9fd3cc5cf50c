/**
 * Builders of `NameChange`s for tests, in the three shapes the planner makes: a first claim, a
 * change of a name already owned, and the release of one. One module, so that a change of the
 * NameChange shape is made once for every test.
 */
import { markerName } from '../../src/plan/ownership.ts';
import type { AddressRRset, AddressType, NameChange } from '../../src/plan/types.ts';

/** An address RRset. */
export const rrset = (ttl: number, ...addresses: string[]): AddressRRset => ({ ttl, addresses });

/**
 * The first claim of `name`: the marker is created and must not exist yet, and every type in
 * `absent` (default both address types) must not exist either.
 */
export function claimChange(
  name: string,
  set: NameChange['set'],
  markerValue: string,
  absent: AddressType[] = ['A', 'AAAA'],
): NameChange {
  return {
    name,
    markerName: markerName(name),
    markerValue,
    expect: { marker: 'absent', noCname: true, absent },
    set,
    marker: 'create',
  };
}

/** A change of a name whose marker must still be exactly `markerValue`. */
export function updateChange(name: string, set: NameChange['set'], markerValue: string): NameChange {
  return {
    name,
    markerName: markerName(name),
    markerValue,
    expect: { marker: { value: markerValue }, noCname: true, absent: [] },
    set,
    marker: 'keep',
  };
}

/** The removal of what `markerValue` owns at `name`: the address RRsets in `set` and the marker. */
export function releaseChange(
  name: string,
  markerValue: string,
  set: NameChange['set'] = { A: null, AAAA: null },
): NameChange {
  return { ...updateChange(name, set, markerValue), marker: 'delete' };
}
