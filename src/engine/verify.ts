import type { DnsBackend } from '../backends/types.ts';
import type { AliasOutcome, PlannedChange, SyncDeps } from './types.ts';
import { aliasLogger } from '../observe/logger.ts';
import { sameAddresses } from '../plan/addresses.ts';
import type { AddressRRset, AddressType, CurrentRecords } from '../plan/types.ts';
import { mapLimit } from '../util/concurrency.ts';

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
    outcome.inSync = (Object.entries(change.set) as Array<[AddressType, AddressRRset | null]>).every(
      ([type, rrset]) => sameAddresses(now[type]?.addresses ?? [], rrset?.addresses ?? []),
    );
    if (!outcome.inSync) {
      aliasLogger(deps.logger, { ...outcome.input, zone, target: outcome.input.spec.target }).warn(
        'the backend does not hold what was just written',
        { A: now.A?.addresses, AAAA: now.AAAA?.addresses },
      );
    }
  }
}

/**
 * Asks every authoritative nameserver what it serves for each alias not written in this pass (a
 * fresh write is given time to reach the secondaries and is verified on the next look).
 */
export async function checkNameservers(
  backend: DnsBackend,
  zone: string,
  group: AliasOutcome[],
  deps: SyncDeps,
): Promise<void> {
  const verifier = deps.nameservers?.(backend.name);
  if (!verifier) return;
  await mapLimit(group, 16, async (o) => {
    if (o.written || !o.desired || !o.current || o.verdict?.kind === 'blocked') return;
    const expected: Partial<Record<AddressType, string[] | null>> = {};
    for (const type of ['A', 'AAAA'] as AddressType[]) {
      const want = o.desired[type];
      if (want.action === 'write' && o.drift?.action !== 'report' && o.drift?.action !== 'fight')
        expected[type] = want.rrset.addresses;
      else if (want.action === 'remove') expected[type] = null;
      else expected[type] = o.current![type]?.addresses ?? null;
    }
    try {
      o.nameservers = await verifier.check(zone, o.fqdn, expected);
    } catch (err) {
      deps.logger.warn('could not query the nameservers', {
        zone,
        name: o.fqdn,
        error: (err as Error).message,
      });
    }
  });
}
