import type { AddressRRset, AddressType } from '../plan/types.ts';
import type { AliasOutcome } from './types.ts';

/**
 * What the zone holds for an alias after a pass, as far as the controller knows: the RRsets it
 * wrote or found in place, else what was published before. It is the next pass's last-known-good
 * (behaviour rule 5) and the reference for zone drift (rule 13).
 */
export function publishedAfter(
  o: AliasOutcome,
  before: Partial<Record<AddressType, AddressRRset>>,
): Partial<Record<AddressType, AddressRRset>> {
  const out: Partial<Record<AddressType, AddressRRset>> = {};
  for (const type of ['A', 'AAAA'] as AddressType[]) {
    const action = o.desired?.[type];
    if (action?.action === 'write' && (o.written || o.verdict?.kind === 'noop')) out[type] = action.rrset;
    else if (action?.action === 'remove' && o.written) continue;
    else if (before[type]) out[type] = before[type];
  }
  return out;
}
