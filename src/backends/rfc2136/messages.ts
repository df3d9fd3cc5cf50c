import type { AddressType, NameChange } from '../../plan/types.ts';
import type { UpdateRR } from '../../dns/update.ts';

/** TTL of the ownership TXT marker when no address RRset is written with it. */
export const MARKER_TTL = 300;

/**
 * Translates one planned change into RFC 2136 prerequisite and update RRs.
 * Pure; the order of RRs is the order the server applies them in (RFC 2136 3.4.2).
 */
export function changeToRRs(change: NameChange): { prerequisites: UpdateRR[]; updates: UpdateRR[] } {
  const { name, markerName, markerValue, expect } = change;
  const prerequisites: UpdateRR[] = [
    // RFC 2136 2.4.3: "RRset does not exist" — never write beside a CNAME (behaviour rule 9).
    { name, type: 'CNAME', class: 'NONE', ttl: 0 },
    expect.marker === 'absent'
      ? { name: markerName, type: 'TXT', class: 'NONE', ttl: 0 }
      : // RFC 2136 2.4.2: "RRset exists (value dependent)" — the marker is exactly ours.
        { name: markerName, type: 'TXT', class: 'IN', ttl: 0, rdata: [expect.marker.value] },
    ...expect.absent.map((type): UpdateRR => ({ name, type, class: 'NONE', ttl: 0 })),
  ];

  const updates: UpdateRR[] = [];
  let markerTtl = MARKER_TTL;
  for (const type of ['A', 'AAAA'] as AddressType[]) {
    if (!(type in change.set)) continue;
    const rrset = change.set[type];
    // A prerequisite already proves the RRset absent: no delete needed before the adds.
    if (!expect.absent.includes(type)) updates.push({ name, type, class: 'ANY', ttl: 0 });
    if (!rrset) continue;
    markerTtl = Math.min(markerTtl, rrset.ttl);
    for (const address of rrset.addresses)
      updates.push({ name, type, class: 'IN', ttl: rrset.ttl, rdata: address });
  }
  if (change.marker === 'replace') updates.push({ name: markerName, type: 'TXT', class: 'ANY', ttl: 0 });
  if (change.marker === 'create' || change.marker === 'replace') {
    updates.push({ name: markerName, type: 'TXT', class: 'IN', ttl: markerTtl, rdata: [markerValue] });
  } else if (change.marker === 'delete') {
    updates.push({ name: markerName, type: 'TXT', class: 'ANY', ttl: 0 });
  }
  return { prerequisites, updates };
}

/** One RRset that shows whether a primary serves a change yet, and what it must hold then. */
export interface ServedProbe {
  qname: string;
  type: AddressType | 'TXT';
  /** Sorted canonical addresses, or the marker's one string; empty: the RRset must be gone. */
  values: string[];
}

/**
 * The RRset to look at after `change` was applied: its first address RRset, else its marker.
 * Pure. Undefined when the change writes nothing that a query could tell apart.
 */
export function servedProbe(change: NameChange): ServedProbe | undefined {
  for (const type of ['A', 'AAAA'] as AddressType[]) {
    if (type in change.set) return { qname: change.name, type, values: change.set[type]?.addresses ?? [] };
  }
  if (change.marker === 'create' || change.marker === 'replace') {
    return { qname: change.markerName, type: 'TXT', values: [change.markerValue] };
  }
  if (change.marker === 'delete') return { qname: change.markerName, type: 'TXT', values: [] };
  return undefined;
}
