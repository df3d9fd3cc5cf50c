import { describe, expect, it } from 'vitest';
import { desired } from '../../../src/plan/desired.ts';
import type {
  AddressRRset,
  AddressType,
  AliasPolicy,
  DesiredAction,
  FamilyResolution,
} from '../../../src/plan/types.ts';
import { failed, keep, missing, policy, remove, resolved, rrset, TARGET, write } from './fixtures.ts';

interface Case {
  name: string;
  policy?: Partial<AliasPolicy>;
  resolution: Partial<Record<AddressType, FamilyResolution>>;
  lastKnownGood?: Partial<Record<AddressType, AddressRRset>>;
  A: DesiredAction;
  AAAA: DesiredAction;
  /** `type:reason` of every problem, in order. */
  problems?: string[];
  ttl?: number;
}

const V4 = ['192.0.2.1', '192.0.2.2'];
const V6 = ['2001:db8::1'];
const FAILURES = ['servfail', 'refused', 'timeout', 'malformed', 'loop', 'chain-too-long', 'rcode'] as const;

const cases: Case[] = [
  {
    name: 'behaviour rule 1: both families resolve and both are written',
    resolution: { A: resolved(V4, 60), AAAA: resolved(V6, 120) },
    A: write(V4, 60),
    AAAA: write(V6, 120),
    ttl: 60,
  },
  {
    name: 'behaviour rule 1: AAAA SERVFAIL keeps AAAA while A is written',
    resolution: { A: resolved(V4, 60), AAAA: failed('servfail') },
    A: write(V4, 60),
    AAAA: keep,
    problems: ['AAAA:servfail'],
    ttl: 60,
  },
  {
    name: 'behaviour rule 1: A timeout restores the last-known-good A while AAAA is written',
    resolution: { A: failed('timeout', 'no answer within 2000 ms'), AAAA: resolved(V6, 300) },
    lastKnownGood: { A: rrset(['192.0.2.9'], 120) },
    A: write(['192.0.2.9'], 120, 'lastKnownGood'),
    AAAA: write(V6, 300),
    problems: ['A:timeout'],
    ttl: 120,
  },
  {
    name: 'behaviour rule 1: a family without a lookup this round is left alone',
    resolution: { A: resolved(V4, 60) },
    A: write(V4, 60),
    AAAA: keep,
    ttl: 60,
  },
  {
    name: 'behaviour rule 1: no lookup at all keeps both families',
    resolution: {},
    A: keep,
    AAAA: keep,
  },
  {
    name: 'behaviour rule 1: a family not requested is removed (the diff removes it only if we own it)',
    policy: { families: ['IPv4'] },
    resolution: { A: resolved(V4, 60), AAAA: resolved(V6, 60) },
    A: write(V4, 60),
    AAAA: remove('FamilyNotRequested'),
    ttl: 60,
  },
  {
    name: 'behaviour rule 1: IPv6 only removes A',
    policy: { families: ['IPv6'] },
    resolution: { AAAA: resolved(V6, 60) },
    A: remove('FamilyNotRequested'),
    AAAA: write(V6, 60),
    ttl: 60,
  },
  {
    name: 'behaviour rule 2: a CNAME loop is a failure and changes nothing',
    resolution: { A: failed('loop', 'CNAME loop at a.example.net'), AAAA: failed('loop', 'CNAME loop') },
    A: keep,
    AAAA: keep,
    problems: ['A:loop', 'AAAA:loop'],
  },
  {
    name: 'behaviour rule 2: a chain longer than 8 hops is a failure and keeps the last written records',
    resolution: {
      A: failed('chain-too-long', 'more than 8 CNAMEs'),
      AAAA: failed('chain-too-long', '9 hops'),
    },
    lastKnownGood: { A: rrset(['192.0.2.9'], 300), AAAA: rrset(['2001:db8::9'], 300) },
    A: write(['192.0.2.9'], 300, 'lastKnownGood'),
    AAAA: write(['2001:db8::9'], 300, 'lastKnownGood'),
    problems: ['A:chain-too-long', 'AAAA:chain-too-long'],
    ttl: 300,
  },
  {
    name: 'behaviour rule 3: without ttl.min the published TTL is never longer than the chain',
    policy: { ttl: { max: 3600 } },
    resolution: { A: resolved(V4, 5) },
    A: write(V4, 5),
    AAAA: keep,
    ttl: 5,
  },
  {
    name: 'behaviour rule 3: an explicit ttl.min raises a short chain TTL',
    policy: { ttl: { min: 30, max: 3600 } },
    resolution: { A: resolved(V4, 5), AAAA: resolved(V6, 10) },
    A: write(V4, 30),
    AAAA: write(V6, 30),
    ttl: 30,
  },
  {
    name: 'behaviour rule 3: ttl.max clamps a long chain TTL',
    policy: { ttl: { min: 30, max: 300 } },
    resolution: { A: resolved(V4, 86400) },
    A: write(V4, 300),
    AAAA: keep,
    ttl: 300,
  },
  {
    name: 'behaviour rule 3: the status TTL is the lowest of the written families',
    resolution: { A: resolved(V4, 600), AAAA: resolved(V6, 45) },
    A: write(V4, 600),
    AAAA: write(V6, 45),
    ttl: 45,
  },
  ...FAILURES.map((reason): Case => ({
    name: `behaviour rule 5: ${reason} keeps the current records when nothing was written before`,
    resolution: { A: failed(reason), AAAA: failed(reason) },
    A: keep,
    AAAA: keep,
    problems: [`A:${reason}`, `AAAA:${reason}`],
  })),
  ...FAILURES.map((reason): Case => ({
    name: `behaviour rule 5: ${reason} restores the last-known-good records (repairing hand edits)`,
    resolution: { A: failed(reason), AAAA: failed(reason) },
    lastKnownGood: { A: rrset(V4, 60), AAAA: rrset(V6, 90) },
    A: write(V4, 60, 'lastKnownGood'),
    AAAA: write(V6, 90, 'lastKnownGood'),
    problems: [`A:${reason}`, `AAAA:${reason}`],
    ttl: 60,
  })),
  {
    name: 'behaviour rule 5: a failure never falls back, even with onTargetMissing: Fallback',
    policy: { onTargetMissing: 'Fallback', fallbackAddresses: ['198.51.100.1', '2001:db8::f'] },
    resolution: { A: failed('servfail'), AAAA: failed('refused') },
    A: keep,
    AAAA: keep,
    problems: ['A:servfail', 'AAAA:refused'],
  },
  {
    name: 'behaviour rule 5: a failure never removes, even with onTargetMissing: Remove',
    policy: { onTargetMissing: 'Remove' },
    resolution: { A: failed('timeout'), AAAA: resolved(V6, 60) },
    A: keep,
    AAAA: write(V6, 60),
    problems: ['A:timeout'],
    ttl: 60,
  },
  {
    name: 'behaviour rule 6: NXDOMAIN with Keep keeps the current records',
    policy: { onTargetMissing: 'Keep' },
    resolution: { A: missing('nxdomain'), AAAA: missing('nxdomain') },
    A: keep,
    AAAA: keep,
    problems: ['A:nxdomain', 'AAAA:nxdomain'],
  },
  {
    name: 'behaviour rule 6: NODATA with Keep restores the last-known-good family',
    policy: { onTargetMissing: 'Keep' },
    resolution: { A: resolved(V4, 60), AAAA: missing('nodata') },
    lastKnownGood: { A: rrset(['192.0.2.200'], 60), AAAA: rrset(V6, 60) },
    A: write(V4, 60),
    AAAA: write(V6, 60, 'lastKnownGood'),
    problems: ['AAAA:nodata'],
    ttl: 60,
  },
  {
    name: 'behaviour rule 6: NXDOMAIN with Remove deletes both families',
    policy: { onTargetMissing: 'Remove' },
    resolution: { A: missing('nxdomain'), AAAA: missing('nxdomain') },
    lastKnownGood: { A: rrset(V4, 60) },
    A: remove('TargetMissing'),
    AAAA: remove('TargetMissing'),
    problems: ['A:nxdomain', 'AAAA:nxdomain'],
  },
  {
    name: 'behaviour rule 6: NODATA with Remove deletes only the missing family',
    policy: { onTargetMissing: 'Remove' },
    resolution: { A: resolved(V4, 60), AAAA: missing('nodata') },
    A: write(V4, 60),
    AAAA: remove('TargetMissing'),
    problems: ['AAAA:nodata'],
    ttl: 60,
  },
  {
    name: 'behaviour rule 6: NXDOMAIN with Fallback writes the fallback addresses at the negative TTL',
    policy: {
      onTargetMissing: 'Fallback',
      fallbackAddresses: ['2001:DB8::F', '198.51.100.2', '198.51.100.1'],
    },
    resolution: { A: missing('nxdomain', 300), AAAA: missing('nxdomain', 300) },
    A: write(['198.51.100.1', '198.51.100.2'], 300, 'fallback'),
    AAAA: write(['2001:db8::f'], 300, 'fallback'),
    problems: ['A:nxdomain', 'AAAA:nxdomain'],
    ttl: 300,
  },
  {
    name: 'behaviour rule 6: Fallback clamps a long negative TTL to ttl.max',
    policy: { onTargetMissing: 'Fallback', fallbackAddresses: ['198.51.100.1'], ttl: { max: 600 } },
    resolution: { A: missing('nxdomain', 86400) },
    A: write(['198.51.100.1'], 600, 'fallback'),
    AAAA: keep,
    problems: ['A:nxdomain'],
    ttl: 600,
  },
  {
    name: 'behaviour rule 6: Fallback with only IPv4 fallbacks while IPv6 is missing removes AAAA',
    policy: { onTargetMissing: 'Fallback', fallbackAddresses: ['198.51.100.1'] },
    resolution: { A: resolved(V4, 60), AAAA: missing('nodata', 120) },
    A: write(V4, 60),
    AAAA: remove('TargetMissing'),
    problems: ['AAAA:nodata'],
    ttl: 60,
  },
  {
    name: 'behaviour rule 6: Fallback only applies to the missing family; the resolved one is written as resolved',
    policy: { onTargetMissing: 'Fallback', fallbackAddresses: ['198.51.100.1', '2001:db8::f'] },
    resolution: { A: missing('nodata', 120), AAAA: resolved(V6, 60) },
    A: write(['198.51.100.1'], 120, 'fallback'),
    AAAA: write(V6, 60),
    problems: ['A:nodata'],
    ttl: 60,
  },
  {
    name: 'behaviour rule 16: non-canonical resolver output is canonicalised and sorted',
    resolution: {
      A: resolved(['192.0.2.2', '192.0.2.1', '192.0.2.2'], 60),
      AAAA: resolved(['2001:DB8::2', '2001:db8:0:0::1'], 60),
    },
    A: write(['192.0.2.1', '192.0.2.2'], 60),
    AAAA: write(['2001:db8::1', '2001:db8::2'], 60),
    ttl: 60,
  },
  {
    name: 'behaviour rule 16: addresses of the other family are dropped from an answer',
    resolution: { A: resolved(['192.0.2.1', '2001:db8::1'], 60) },
    A: write(['192.0.2.1'], 60),
    AAAA: keep,
    ttl: 60,
  },
  {
    name: 'behaviour rule 16: an answer with no usable address is malformed, never an empty RRset',
    resolution: { A: resolved([], 60), AAAA: resolved(['192.0.2.1'], 60) },
    lastKnownGood: { A: rrset(V4, 60) },
    A: write(V4, 60, 'lastKnownGood'),
    AAAA: keep,
    problems: ['A:malformed', 'AAAA:malformed'],
    ttl: 60,
  },
  {
    name: 'behaviour rule 5: an empty last-known-good RRset is nothing to restore',
    resolution: { A: failed('servfail') },
    lastKnownGood: { A: rrset([], 60) },
    A: keep,
    AAAA: keep,
    problems: ['A:servfail'],
  },
];

describe('desired', () => {
  it.each(cases)('$name', (c) => {
    const state = desired(policy(c.policy), c.resolution, c.lastKnownGood ?? {});
    expect(state.A).toEqual(c.A);
    expect(state.AAAA).toEqual(c.AAAA);
    expect(state.problems.map((p) => `${p.type}:${p.reason}`)).toEqual(c.problems ?? []);
    expect(state.ttl).toBe(c.ttl);
    expect(state.ttlBounds).toEqual(policy(c.policy).ttl);
  });

  it('behaviour rules 5 and 6: problems say what failed and what was done about it', () => {
    const state = desired(
      policy({ onTargetMissing: 'Fallback', fallbackAddresses: ['198.51.100.1'] }),
      { A: missing('nxdomain'), AAAA: failed('servfail', 'SERVFAIL from 192.0.2.53') },
      { AAAA: rrset(['2001:db8::1']) },
    );
    expect(state.problems).toEqual([
      {
        type: 'A',
        reason: 'nxdomain',
        message: `A: ${TARGET} does not exist (NXDOMAIN); writing the IPv4 fallback addresses (onTargetMissing: Fallback)`,
      },
      {
        type: 'AAAA',
        reason: 'servfail',
        message: 'AAAA: SERVFAIL from 192.0.2.53; keeping the last written AAAA records',
      },
    ]);
  });

  it('behaviour rule 6: NODATA under Remove explains the removal', () => {
    const state = desired(policy({ onTargetMissing: 'Remove' }), { AAAA: missing('nodata') }, {});
    expect(state.problems).toEqual([
      {
        type: 'AAAA',
        reason: 'nodata',
        message: `AAAA: ${TARGET} has no AAAA records (NODATA); removing AAAA (onTargetMissing: Remove)`,
      },
    ]);
  });

  it('behaviour rule 2: the chain shown in status comes from the first lookup that has one', () => {
    const chain = [TARGET, 'edge-7.cdn.example.net'];
    expect(
      desired(policy(), { A: failed('timeout', 'x', []), AAAA: resolved(V6, 60, chain) }, {}).chain,
    ).toEqual(chain);
    expect(
      desired(policy(), { A: resolved(V4, 60, chain), AAAA: resolved(V6, 60, [TARGET]) }, {}).chain,
    ).toEqual(chain);
    expect(desired(policy(), {}, {}).chain).toEqual([]);
  });

  it('is pure: the same input gives the same output and the input is not modified', () => {
    const p = policy({ fallbackAddresses: ['198.51.100.2', '198.51.100.1'] });
    const resolution = { A: resolved(['192.0.2.2', '192.0.2.1']) };
    const lkg = { AAAA: rrset(['2001:DB8::1']) };
    const frozen = JSON.stringify([p, resolution, lkg]);
    expect(desired(p, resolution, lkg)).toEqual(desired(p, resolution, lkg));
    expect(JSON.stringify([p, resolution, lkg])).toBe(frozen);
  });
});
