import { sameAddresses } from '../plan/addresses.ts';
import type { AddressType, CurrentRecords, NameChange } from '../plan/types.ts';

/** What a backend read at one owner name and its marker name, for checking a change by reading. */
export interface NameSnapshot {
  current: CurrentRecords;
  /** The marker name holds a CNAME (no TXT can be written beside it). */
  markerCname: boolean;
}

/** One way the zone departs from a change's expectation, in RFC 2136's terms. */
export interface UnmetExpectation {
  /** The RCODE an RFC 2136 server would have answered: `YXRRSET` or `NXRRSET`. */
  rcode: 'YXRRSET' | 'NXRRSET';
  message: string;
}

const ADDRESS_TYPES: readonly AddressType[] = ['A', 'AAAA'];

/**
 * Why `change.expect` does not hold in what was read: the RFC 2136 prerequisites of
 * src/backends/rfc2136/messages.ts, evaluated by the client. For backends whose API has no
 * prerequisites (PowerDNS): they check this right before they write. Empty when it holds.
 */
export function unmetExpectations(change: NameChange, snapshot: NameSnapshot): UnmetExpectation[] {
  const { current, markerCname } = snapshot;
  const unmet: UnmetExpectation[] = [];
  const marker = current.marker ?? [];
  const { expect } = change;
  if (expect.marker === 'absent') {
    if (marker.length > 0) {
      unmet.push({
        rcode: 'YXRRSET',
        message: `${change.markerName} holds TXT ${JSON.stringify(marker)}, expected none`,
      });
    }
  } else if (marker.length !== 1 || marker[0] !== expect.marker.value) {
    unmet.push({
      rcode: 'NXRRSET',
      message: `${change.markerName} holds TXT ${JSON.stringify(marker)}, expected ${JSON.stringify([expect.marker.value])}`,
    });
  }
  if (current.cname !== undefined) {
    unmet.push({ rcode: 'YXRRSET', message: `${change.name} holds a CNAME to ${current.cname}` });
  }
  for (const type of expect.absent) {
    if (current[type])
      unmet.push({ rcode: 'YXRRSET', message: `${change.name} already holds ${type} records` });
  }
  if ((change.marker === 'create' || change.marker === 'replace') && markerCname) {
    unmet.push({
      rcode: 'YXRRSET',
      message: `${change.markerName} holds a CNAME, so no marker TXT can be written there`,
    });
  }
  return unmet;
}

/**
 * Where the zone, read right after a write, does not hold what `change` wrote: another writer
 * changed the name in between. Empty when every RRset the change set, and its marker, are there.
 */
export function unwrittenParts(change: NameChange, after: CurrentRecords): string[] {
  const problems: string[] = [];
  const marker = after.marker ?? [];
  if (change.marker === 'delete') {
    if (marker.length > 0) problems.push(`${change.markerName} still holds TXT ${JSON.stringify(marker)}`);
  } else if (marker.length !== 1 || marker[0] !== change.markerValue) {
    problems.push(
      `${change.markerName} holds TXT ${JSON.stringify(marker)}, not ${JSON.stringify([change.markerValue])}`,
    );
  }
  if (after.cname !== undefined) problems.push(`${change.name} now holds a CNAME to ${after.cname}`);
  for (const type of ADDRESS_TYPES) {
    if (!(type in change.set)) continue;
    const wanted = change.set[type];
    const held = after[type];
    if (!wanted || wanted.addresses.length === 0) {
      if (held) problems.push(`${change.name} ${type} holds ${held.addresses.join(' ')}, expected none`);
    } else if (!held || held.ttl !== wanted.ttl || !sameAddresses(held.addresses, wanted.addresses)) {
      const was = held ? `${held.addresses.join(' ')} (TTL ${held.ttl})` : 'nothing';
      problems.push(
        `${change.name} ${type} holds ${was}, expected ${wanted.addresses.join(' ')} (TTL ${wanted.ttl})`,
      );
    }
  }
  return problems;
}
