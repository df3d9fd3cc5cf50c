import { describe, expect, it } from 'vitest';
import { addressTypeOf, normalizeAddresses, tryCanonicalAddress } from '../../../src/plan/addresses.ts';
import { planDeletion } from '../../../src/plan/delete.ts';
import { desired } from '../../../src/plan/desired.ts';
import { diff, present } from '../../../src/plan/diff.ts';
import { classifyOwnership } from '../../../src/plan/ownership.ts';
import type {
  AddressRRset,
  AddressType,
  AliasPolicy,
  CurrentRecords,
  DesiredState,
  Family,
  FamilyResolution,
  NameChange,
  Ownership,
} from '../../../src/plan/types.ts';
import { MARKER_NAME, NAME, OTHER_OWNER, OURS, ownership, SIBLING } from './fixtures.ts';

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES: AddressType[] = ['A', 'AAAA'];
// Several spellings of few addresses, so equal sets show up often and spelling must not matter.
const POOL: Record<AddressType, string[]> = {
  A: ['192.0.2.1', '192.0.2.2', '198.51.100.7', '203.0.113.10'],
  AAAA: [
    '2001:db8::1',
    '2001:DB8:0:0::1',
    '2001:db8::2',
    '2001::1:0:0:0:1',
    '2001:0:0:1::1',
    '::ffff:c000:201',
  ],
};
const FAILURES = ['servfail', 'refused', 'timeout', 'malformed', 'loop', 'chain-too-long', 'rcode'] as const;
const TTLS = [0, 1, 5, 30, 48, 60, 61, 240, 300, 360, 3600, 86400];

function scenario(random: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const chance = (p: number): boolean => random() < p;
  const some = (type: AddressType): string[] => POOL[type].filter(() => chance(0.4));

  const families = (['IPv4', 'IPv6'] as Family[]).filter(() => chance(0.75));
  const max = pick([60, 300, 3600, 86400]);
  const policy: AliasPolicy = {
    families,
    ttl: chance(0.5) ? { max } : { min: pick([1, 30, 60, 300]), max },
    onTargetMissing: pick(['Keep', 'Remove', 'Fallback'] as const),
    fallbackAddresses: chance(0.5) ? [...some('A'), ...some('AAAA')] : [],
    adopt: chance(0.5),
  };
  const resolution: Partial<Record<AddressType, FamilyResolution>> = {};
  const lastKnownGood: Partial<Record<AddressType, AddressRRset>> = {};
  const current: CurrentRecords = { name: NAME };
  for (const type of TYPES) {
    const chain = ['lb.example.net', ...(chance(0.3) ? ['edge.cdn.example.net'] : [])];
    const roll = random();
    if (roll < 0.45) resolution[type] = { kind: 'addresses', addresses: some(type), ttl: pick(TTLS), chain };
    else if (roll < 0.65) resolution[type] = { kind: 'failed', reason: pick(FAILURES), message: 'x', chain };
    else if (roll < 0.85)
      resolution[type] = {
        kind: 'missing',
        reason: pick(['nxdomain', 'nodata'] as const),
        ttl: pick(TTLS),
        chain,
      };
    if (chance(0.4)) lastKnownGood[type] = { ttl: pick(TTLS.filter((t) => t > 0)), addresses: some(type) };
    if (chance(0.5)) current[type] = { ttl: pick(TTLS.filter((t) => t > 0)), addresses: some(type) };
  }
  if (chance(0.08)) current.cname = 'elsewhere.example.net';
  const markerRoll = random();
  if (markerRoll < 0.45) current.marker = [OURS];
  else if (markerRoll < 0.55) current.marker = [OTHER_OWNER];
  else if (markerRoll < 0.62) current.marker = [SIBLING];
  else if (markerRoll < 0.67) current.marker = ['v=spf1 -all'];
  else if (markerRoll < 0.7) current.marker = [OURS, OTHER_OWNER];
  return { policy, resolution, lastKnownGood, current, owner: ownership(policy.adopt) };
}

/** What a backend does with a change: the model the convergence check runs against. */
function apply(current: CurrentRecords, change: NameChange): CurrentRecords {
  const next: CurrentRecords = { ...current };
  for (const type of TYPES) {
    if (!(type in change.set)) continue;
    const rrset = change.set[type];
    if (rrset === null || rrset === undefined) delete next[type];
    else next[type] = { ttl: rrset.ttl, addresses: [...rrset.addresses] };
  }
  if (change.marker === 'create') next.marker = [change.markerValue];
  if (change.marker === 'delete') delete next.marker;
  return next;
}

function checkChangeShape(change: NameChange, owner: Ownership): void {
  // Nothing but A, AAAA and the marker, at exactly our names (behaviour rule 9).
  expect(Object.keys(change).sort()).toEqual([
    'expect',
    'marker',
    'markerName',
    'markerValue',
    'name',
    'set',
  ]);
  expect(Object.keys(change.expect).sort()).toEqual(['absent', 'marker', 'noCname']);
  expect(change.name).toBe(NAME);
  expect(change.markerName).toBe(MARKER_NAME);
  expect(change.markerValue).toBe(`heritage=apexalias,owner=${owner.ownerId},resource=${owner.resource}`);
  expect(change.expect.noCname).toBe(true);
  for (const key of Object.keys(change.set)) expect(TYPES).toContain(key);
  for (const type of TYPES) {
    const rrset = change.set[type];
    if (rrset === undefined || rrset === null) continue;
    expect(Object.keys(rrset).sort()).toEqual(['addresses', 'ttl']);
    expect(Number.isInteger(rrset.ttl) && rrset.ttl >= 1).toBe(true);
    expect(rrset.addresses.length).toBeGreaterThan(0);
    expect(normalizeAddresses(rrset.addresses)).toEqual(rrset.addresses);
    for (const address of rrset.addresses) {
      expect(tryCanonicalAddress(address)).toBe(address);
      expect(addressTypeOf(address)).toBe(type);
    }
  }
}

function checkDiff(
  wish: DesiredState,
  current: CurrentRecords,
  owner: Ownership,
  resolution: Partial<Record<AddressType, FamilyResolution>>,
  policy: AliasPolicy,
): void {
  const result = diff(NAME, wish, current, owner);
  const status = classifyOwnership(current.marker, owner);
  const existing = TYPES.filter((type) => present(current[type]));

  if (current.cname !== undefined) expect(result).toMatchObject({ kind: 'blocked', reason: 'CnameAtName' });
  else if (status === 'foreign') expect(result).toMatchObject({ kind: 'blocked', reason: 'OwnedByOther' });
  else if (status === 'conflict') expect(result).toMatchObject({ kind: 'blocked', reason: 'Conflict' });
  else if (status === 'unclaimed' && existing.length > 0 && !owner.adopt) {
    expect(result).toMatchObject({ kind: 'blocked', reason: 'NotOwned' });
  } else expect(result.kind).not.toBe('blocked');
  if (result.kind !== 'change') return;

  const { change } = result;
  checkChangeShape(change, owner);
  expect(result.reasons.length).toBeGreaterThan(0);
  if (status === 'ours') {
    expect(change.marker).toBe('keep');
    expect(change.expect).toEqual({ marker: { value: OURS }, noCname: true, absent: [] });
    expect(Object.keys(change.set).length).toBeGreaterThan(0);
  } else {
    expect(status).toBe('unclaimed');
    expect(change.marker).toBe('create');
    expect(change.expect.marker).toBe('absent');
    expect(change.expect.absent).toEqual(TYPES.filter((type) => !existing.includes(type)));
  }
  for (const type of TYPES) {
    const action = wish[type];
    const entry = change.set[type];
    // Deletes only what exists; keeps never touch; failures never delete (behaviour rule 5).
    if (entry === null) expect(present(current[type])).toBe(true);
    if (action.action === 'keep') expect(type in change.set).toBe(false);
    if (action.action === 'remove') expect(entry ?? null).toBeNull();
    if (action.action === 'write' && entry !== undefined) expect(entry).toEqual(action.rrset);
    const outcome = resolution[type];
    if (policy.families.includes(type === 'A' ? 'IPv4' : 'IPv6') && outcome?.kind === 'failed') {
      expect(entry).not.toBeNull();
      if (entry !== undefined) expect(action).toMatchObject({ action: 'write', source: 'lastKnownGood' });
    }
  }

  // Convergence: once the backend has applied the change, planning again finds nothing to do.
  const next = apply(current, change);
  expect(diff(NAME, wish, next, owner)).toEqual({ kind: 'noop' });
  // And what we now own is exactly what a deletion removes.
  const removal = planDeletion(NAME, next, owner);
  expect(removal.kind).toBe('change');
  if (removal.kind === 'change') {
    checkChangeShape(removal.change, owner);
    expect(removal.change.marker).toBe('delete');
    expect(Object.values(removal.change.set).every((v) => v === null)).toBe(true);
    expect(Object.keys(removal.change.set).sort()).toEqual(TYPES.filter((type) => present(next[type])));
    const after = apply(next, removal.change);
    expect(TYPES.filter((type) => present(after[type]))).toEqual([]);
    expect(after.marker).toBeUndefined();
  }
}

describe('planner invariants over random inputs', () => {
  it('behaviour rules 7 and 9: a change only ever holds A, AAAA and our marker, decided by ownership, and converges', () => {
    const random = prng(20260101);
    const kinds = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const s = scenario(random);
      const wish = desired(s.policy, s.resolution, s.lastKnownGood);

      for (const type of TYPES) {
        const action = wish[type];
        if (action.action !== 'write') continue;
        // Published TTLs respect behaviour rule 3.
        const outcome = s.resolution[type];
        if (action.source === 'resolved' && outcome?.kind === 'addresses') {
          const { min, max } = s.policy.ttl;
          if (min === undefined) expect(action.rrset.ttl).toBe(Math.max(1, Math.min(outcome.ttl, max)));
          else expect(action.rrset.ttl).toBe(Math.max(1, min, Math.min(outcome.ttl, max)));
        }
      }

      try {
        checkDiff(wish, s.current, s.owner, s.resolution, s.policy);
      } catch (error) {
        throw new Error(`scenario ${i}: ${JSON.stringify(s)}\n${String(error)}`, { cause: error });
      }
      const kind = diff(NAME, wish, s.current, s.owner);
      const label = kind.kind === 'blocked' ? `blocked:${kind.reason}` : kind.kind;
      kinds.set(label, (kinds.get(label) ?? 0) + 1);
    }
    // The generator must reach every outcome, or the invariants above prove little.
    for (const label of [
      'noop',
      'change',
      'blocked:CnameAtName',
      'blocked:NotOwned',
      'blocked:OwnedByOther',
      'blocked:Conflict',
    ]) {
      expect(kinds.get(label) ?? 0).toBeGreaterThan(50);
    }
  });

  it('behaviour rule 11: a deletion never touches a name that is not ours', () => {
    const random = prng(7);
    for (let i = 0; i < 2000; i++) {
      const { current, owner } = scenario(random);
      const result = planDeletion(NAME, current, owner);
      const status = classifyOwnership(current.marker, owner);
      if (status !== 'ours') expect(result.kind).toBe('noop');
      else if (current.cname !== undefined)
        expect(result).toMatchObject({ kind: 'blocked', reason: 'CnameAtName' });
      else {
        expect(result.kind).toBe('change');
        if (result.kind === 'change') checkChangeShape(result.change, owner);
      }
    }
  });
});
