import type { DnsBackend } from '../backends/types.ts';
import type { AliasOutcome, PlannedChange, SyncDeps } from './types.ts';
import { aliasLogger } from '../observe/logger.ts';
import { sameAddresses } from '../plan/addresses.ts';
import type { AddressRRset, AddressType, CurrentRecords, NameChange } from '../plan/types.ts';

/** After a write, reads the names back: the backend must now hold exactly what was written. */
export async function readBack(
  backend: DnsBackend,
  zone: string,
  planned: PlannedChange[],
  deps: SyncDeps,
): Promise<void> {
  const written = planned.filter((p) => p.outcome.written);
  if (written.length === 0) return;
  let current: Map<string, CurrentRecords>;
  try {
    current = await backend.read(
      zone,
      written.map((p) => p.change.name),
      { signal: deps.signal },
    );
  } catch (err) {
    deps.signal?.throwIfAborted();
    deps.logger.warn('reading back after the write failed', { zone, error: (err as Error).message });
    return;
  }
  for (const { outcome, change } of written) {
    const now = current.get(change.name) ?? { name: change.name };
    outcome.current = now;
    outcome.inSync = holds(now, change);
    if (!outcome.inSync) {
      aliasLogger(deps.logger, { ...outcome.input, zone, target: outcome.input.spec.target }).warn(
        'the backend does not hold what was just written',
        { A: now.A?.addresses, AAAA: now.AAAA?.addresses },
      );
    }
  }
}

/**
 * Verifies the zone on every authoritative nameserver for the aliases not written in this pass
 * (a fresh write is given time to reach the secondaries and is verified on the next look): one
 * SOA serial per nameserver, and per-name questions only where a serial differs from the
 * primary's (behaviour rule 13).
 */
export async function checkNameservers(
  backend: DnsBackend,
  zone: string,
  group: AliasOutcome[],
  deps: SyncDeps,
): Promise<void> {
  const verifier = deps.nameservers?.(backend.name);
  if (!verifier) return;
  const checked = group.filter((o) => !o.written && o.desired && o.current && o.verdict?.kind !== 'blocked');
  const names = checked.map((o) => {
    const expected: Partial<Record<AddressType, string[] | null>> = {};
    for (const type of ['A', 'AAAA'] as AddressType[]) {
      const want = o.desired![type];
      if (want.action === 'write' && o.drift?.action !== 'report' && o.drift?.action !== 'fight')
        expected[type] = want.rrset.addresses;
      else if (want.action === 'remove') expected[type] = null;
      else expected[type] = o.current![type]?.addresses ?? null;
    }
    return { name: o.fqdn, expected };
  });
  try {
    const verdicts = await verifier.checkZone(zone, names);
    for (const o of checked) o.nameservers = verdicts.get(o.fqdn);
  } catch (err) {
    deps.logger.warn('could not query the nameservers', { zone, error: (err as Error).message });
  }
}

/** Whether `current` holds the address RRsets and the marker `change` writes. */
export function holds(current: CurrentRecords, change: NameChange): boolean {
  for (const [type, rrset] of Object.entries(change.set) as Array<[AddressType, AddressRRset | null]>)
    if (!sameAddresses(current[type]?.addresses ?? [], rrset?.addresses ?? [])) return false;
  const marker = current.marker ?? [];
  if (change.marker === 'delete') return marker.length === 0;
  if (change.marker === 'keep') return true;
  return marker.length === 1 && marker[0] === change.markerValue;
}
