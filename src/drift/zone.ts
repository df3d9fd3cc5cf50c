import { sameAddresses } from '../plan/addresses.ts';
import type { AddressRRset, AddressType, CurrentRecords, DesiredState, NameChange } from '../plan/types.ts';

const TYPES: readonly AddressType[] = ['A', 'AAAA'];

/**
 * Zone drift (behaviour rule 13): per type, whether the backend holds something other than what the
 * controller wrote last. Only types with a last-written RRset can drift; standalone runs, which
 * keep no memory between passes, never see zone drift.
 */
export function zoneDrift(
  current: CurrentRecords,
  lastWritten: Partial<Record<AddressType, AddressRRset>>,
): Partial<Record<AddressType, boolean>> {
  const drift: Partial<Record<AddressType, boolean>> = {};
  for (const type of TYPES) {
    const written = lastWritten[type];
    if (written) drift[type] = !sameAddresses(current[type]?.addresses ?? [], written.addresses);
  }
  return drift;
}

/**
 * The change without its pure repairs: a type is a pure repair when the planner wants exactly what
 * was written last, so the only reason to write is that someone changed the zone. Target drift
 * (new addresses) is still written. Undefined when nothing is left to write.
 */
export function withoutRepairs(
  change: NameChange,
  desired: DesiredState,
  lastWritten: Partial<Record<AddressType, AddressRRset>>,
): NameChange | undefined {
  const set: NameChange['set'] = {};
  for (const type of Object.keys(change.set) as AddressType[]) {
    const want = desired[type];
    const written = lastWritten[type];
    const repair =
      want.action === 'write' &&
      written !== undefined &&
      sameAddresses(want.rrset.addresses, written.addresses);
    if (!repair) set[type] = change.set[type];
  }
  if (Object.keys(set).length === 0 && change.marker === 'keep') return undefined;
  return { ...change, set };
}

/**
 * Limits repairs per alias: at most `max` in a sliding window. Past that, another writer is
 * fighting us; repairing again would only turn the fight into a write storm, so the drift is
 * reported (InSync=False, reason DriftFight) until the window has room again.
 */
export class RepairLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #repairs = new Map<string, number[]>();

  constructor(max = 3, windowMs = 10 * 60_000) {
    this.#max = max;
    this.#windowMs = windowMs;
  }

  /** Whether `key` may repair now; records the repair when it may. */
  tryRepair(key: string, now: number): boolean {
    const recent = (this.#repairs.get(key) ?? []).filter((t) => now - t < this.#windowMs);
    if (recent.length >= this.#max) {
      this.#repairs.set(key, recent);
      return false;
    }
    recent.push(now);
    this.#repairs.set(key, recent);
    return true;
  }

  forget(key: string): void {
    this.#repairs.delete(key);
  }
}
