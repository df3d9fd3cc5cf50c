import { describe, expect, it } from 'vitest';
import { desired } from '../../../src/plan/desired.ts';
import { diff } from '../../../src/plan/diff.ts';
import type { CurrentRecords, DesiredState } from '../../../src/plan/types.ts';
import {
  claim,
  failed,
  inWords,
  keep,
  MARKER_NAME,
  NAME,
  OTHER_OWNER,
  ours,
  OURS,
  ownership,
  policy,
  remove,
  resolved,
  rrset,
  SIBLING,
  want,
  write,
} from './fixtures.ts';
import type { VerdictInWords } from './fixtures.ts';

interface Case {
  name: string;
  want: DesiredState;
  current: Omit<CurrentRecords, 'name'>;
  adopt?: boolean;
  expected: VerdictInWords;
}

const V4 = ['192.0.2.1'];
const V6 = ['2001:db8::1'];
const notOwned = (types: string): VerdictInWords => ({
  kind: 'blocked',
  reason: 'NotOwned',
  message:
    `${NAME} already has ${types} records without an apexalias ownership marker at ${MARKER_NAME}; ` +
    'set spec.adopt: true to take them over.',
});

const cases: Case[] = [
  // --- first claim ------------------------------------------------------------------------
  {
    name: 'behaviour rules 7 and 14: the first claim of an empty name creates the marker and expects A and AAAA absent',
    want: want(write(V4, 60), write(V6, 60)),
    current: {},
    expected: {
      kind: 'change',
      change: claim({ A: rrset(V4, 60), AAAA: rrset(V6, 60) }, ['A', 'AAAA']),
      reasons: ['marker: created', 'A: created 192.0.2.1 ttl 60', 'AAAA: created 2001:db8::1 ttl 60'],
    },
  },
  {
    name: 'behaviour rule 1: a first claim while AAAA fails writes A and still expects AAAA absent',
    want: want(write(V4, 60), keep),
    current: {},
    expected: {
      kind: 'change',
      change: claim({ A: rrset(V4, 60) }, ['A', 'AAAA']),
      reasons: ['marker: created', 'A: created 192.0.2.1 ttl 60'],
    },
  },
  {
    name: 'behaviour rule 7: an unclaimed empty name with nothing to write stays untouched (no bare marker)',
    want: want(keep, remove('FamilyNotRequested')),
    current: {},
    expected: { kind: 'noop' },
  },
  {
    name: 'behaviour rule 7: an empty marker list counts as unclaimed',
    want: want(write(V4, 60), remove()),
    current: { marker: [] },
    expected: {
      kind: 'change',
      change: claim({ A: rrset(V4, 60) }, ['A', 'AAAA']),
      reasons: ['marker: created', 'A: created 192.0.2.1 ttl 60'],
    },
  },
  // --- CNAME and foreign ownership ----------------------------------------------------------
  {
    name: 'behaviour rule 9: a CNAME at the name blocks the write',
    want: want(write(V4, 60), write(V6, 60)),
    current: { cname: 'elsewhere.example.net' },
    expected: {
      kind: 'blocked',
      reason: 'CnameAtName',
      message:
        'example.com holds a CNAME to elsewhere.example.net; apexalias never writes A/AAAA next to a CNAME ' +
        'and never writes a CNAME. Remove the CNAME to let the alias take the name.',
    },
  },
  {
    name: 'behaviour rule 9: a CNAME at the name blocks even a name we own',
    want: want(write(V4, 60), keep),
    current: { cname: 'elsewhere.example.net', marker: [OURS] },
    expected: {
      kind: 'blocked',
      reason: 'CnameAtName',
      message:
        'example.com holds a CNAME to elsewhere.example.net; apexalias never writes A/AAAA next to a CNAME ' +
        'and never writes a CNAME. Remove the CNAME to let the alias take the name.',
    },
  },
  {
    name: 'behaviour rule 8: foreign A without a marker is blocked',
    want: want(write(V4, 60), write(V6, 60)),
    current: { A: rrset(['203.0.113.5'], 3600) },
    expected: notOwned('A'),
  },
  {
    name: 'behaviour rule 8: foreign AAAA blocks even when only A is requested (never touched, never deleted)',
    want: want(write(V4, 60), remove('FamilyNotRequested')),
    current: { AAAA: rrset(['2001:db8::5'], 3600) },
    expected: notOwned('AAAA'),
  },
  {
    name: 'behaviour rule 8: foreign A and AAAA without a marker are blocked even when every lookup fails',
    want: want(keep, keep),
    current: { A: rrset(['203.0.113.5']), AAAA: rrset(['2001:db8::5']) },
    expected: notOwned('A and AAAA'),
  },
  {
    name: 'behaviour rule 7: a marker of another controller blocks with OwnedByOther',
    want: want(write(V4, 60), write(V6, 60)),
    current: { marker: [OTHER_OWNER], A: rrset(V4, 60) },
    adopt: true,
    expected: {
      kind: 'blocked',
      reason: 'OwnedByOther',
      message: `${MARKER_NAME} holds owner "apexalias-staging", resource web/apex; apexalias only writes names it owns.`,
    },
  },
  {
    name: 'behaviour rules 7 and 8: unrelated TXT at the marker name blocks with OwnedByOther, even with adopt',
    want: want(write(V4, 60), keep),
    current: { marker: ['hello'] },
    adopt: true,
    expected: {
      kind: 'blocked',
      reason: 'OwnedByOther',
      message: `${MARKER_NAME} holds a foreign TXT record "hello"; apexalias only writes names it owns.`,
    },
  },
  {
    name: 'behaviour rule 7: several TXT strings at the marker name, one of them ours, block with OwnedByOther',
    want: want(write(V4, 60), keep),
    current: { marker: [OURS, OTHER_OWNER] },
    expected: {
      kind: 'blocked',
      reason: 'OwnedByOther',
      message: `${MARKER_NAME} holds 2 TXT records ("${OURS}", "${OTHER_OWNER}"); apexalias only writes names it owns.`,
    },
  },
  {
    name: 'behaviour rule 7: a marker of another ApexAlias of this controller blocks with Conflict',
    want: want(write(V4, 60), keep),
    current: { marker: [SIBLING], A: rrset(V4, 60) },
    expected: {
      kind: 'blocked',
      reason: 'Conflict',
      message: 'example.com is already managed by ApexAlias web/other of this controller.',
    },
  },
  // --- adopt --------------------------------------------------------------------------------
  {
    name: 'behaviour rule 8: adopt takes over foreign A; expect.absent lists only AAAA',
    want: want(write(V4, 60), write(V6, 60)),
    current: { A: rrset(['203.0.113.5'], 3600) },
    adopt: true,
    expected: {
      kind: 'change',
      change: claim({ A: rrset(V4, 60), AAAA: rrset(V6, 60) }, ['AAAA']),
      reasons: [
        'marker: created, adopting A',
        'A: addresses changed 203.0.113.5 → 192.0.2.1',
        'A: ttl 3600 → 60',
        'AAAA: created 2001:db8::1 ttl 60',
      ],
    },
  },
  {
    name: 'behaviour rule 8: adopt of records that already match claims them with the marker alone',
    want: want(write(V4, 60), write(V6, 60)),
    current: { A: rrset(V4, 60), AAAA: rrset(V6, 55) },
    adopt: true,
    expected: { kind: 'change', change: claim({}, []), reasons: ['marker: created, adopting A, AAAA'] },
  },
  {
    name: 'behaviour rule 8: adopt while every lookup fails writes no bare marker',
    want: want(keep, keep),
    current: { A: rrset(['203.0.113.5']) },
    adopt: true,
    expected: { kind: 'noop' },
  },
  {
    name: 'behaviour rule 8: adopt with nothing present is a plain first claim',
    want: want(write(V4, 60), keep),
    current: {},
    adopt: true,
    expected: {
      kind: 'change',
      change: claim({ A: rrset(V4, 60) }, ['A', 'AAAA']),
      reasons: ['marker: created', 'A: created 192.0.2.1 ttl 60'],
    },
  },
  {
    name: 'behaviour rule 8: adopting a name makes its AAAA ours, so a family not requested goes with the claim',
    want: want(write(V4, 60), remove('FamilyNotRequested')),
    current: { A: rrset(V4, 60), AAAA: rrset(['2001:db8::5']) },
    adopt: true,
    expected: {
      kind: 'change',
      change: claim({ AAAA: null }, []),
      reasons: ['marker: created, adopting A, AAAA', 'AAAA: removed (FamilyNotRequested)'],
    },
  },
  // --- ours: per-family writes ----------------------------------------------------------------
  {
    name: 'behaviour rule 7: ours and in sync → noop',
    want: want(write(V4, 60), write(V6, 60)),
    current: { marker: [OURS], A: rrset(V4, 60), AAAA: rrset(V6, 60) },
    expected: { kind: 'noop' },
  },
  {
    name: 'behaviour rule 13: target drift rewrites A under our marker',
    want: want(write(['192.0.2.2'], 60), write(V6, 60)),
    current: { marker: [OURS], A: rrset(V4, 60), AAAA: rrset(V6, 60) },
    expected: {
      kind: 'change',
      change: ours({ A: rrset(['192.0.2.2'], 60) }),
      reasons: ['A: addresses changed 192.0.2.1 → 192.0.2.2'],
    },
  },
  {
    name: 'behaviour rule 1: AAAA SERVFAIL keeps AAAA while A is written',
    want: want(write(['192.0.2.2'], 60), keep),
    current: { marker: [OURS], A: rrset(V4, 60), AAAA: rrset(['2001:db8::9'], 60) },
    expected: {
      kind: 'change',
      change: ours({ A: rrset(['192.0.2.2'], 60) }),
      reasons: ['A: addresses changed 192.0.2.1 → 192.0.2.2'],
    },
  },
  {
    name: 'behaviour rule 1: a family removed from the spec deletes our AAAA',
    want: want(write(V4, 60), remove('FamilyNotRequested')),
    current: { marker: [OURS], A: rrset(V4, 60), AAAA: rrset(V6, 60) },
    expected: {
      kind: 'change',
      change: ours({ AAAA: null }),
      reasons: ['AAAA: removed (FamilyNotRequested)'],
    },
  },
  {
    name: 'behaviour rule 1: a family removed from the spec with no AAAA present changes nothing',
    want: want(write(V4, 60), remove('FamilyNotRequested')),
    current: { marker: [OURS], A: rrset(V4, 60) },
    expected: { kind: 'noop' },
  },
  {
    name: 'behaviour rule 6: Remove on NXDOMAIN deletes both our families and keeps the marker',
    want: want(remove('TargetMissing'), remove('TargetMissing')),
    current: { marker: [OURS], A: rrset(V4, 60), AAAA: rrset(V6, 60) },
    expected: {
      kind: 'change',
      change: ours({ A: null, AAAA: null }),
      reasons: ['A: removed (TargetMissing)', 'AAAA: removed (TargetMissing)'],
    },
  },
  {
    name: 'behaviour rule 5: last-known-good repairs a hand edit while the lookup fails',
    want: want(write(V4, 60, 'lastKnownGood'), keep),
    current: { marker: [OURS], A: rrset(['10.9.9.9'], 60), AAAA: rrset(V6, 60) },
    expected: {
      kind: 'change',
      change: ours({ A: rrset(V4, 60) }),
      reasons: ['A: addresses changed 10.9.9.9 → 192.0.2.1 (last known good)'],
    },
  },
  {
    name: 'behaviour rule 5: last-known-good restores a family deleted by hand',
    want: want(keep, write(V6, 60, 'lastKnownGood')),
    current: { marker: [OURS], A: rrset(V4, 60) },
    expected: {
      kind: 'change',
      change: ours({ AAAA: rrset(V6, 60) }),
      reasons: ['AAAA: created 2001:db8::1 ttl 60 (last known good)'],
    },
  },
  {
    name: 'behaviour rule 5: a failing lookup with nothing known leaves even a hand edit alone',
    want: want(keep, keep),
    current: { marker: [OURS], A: rrset(['10.9.9.9'], 60) },
    expected: { kind: 'noop' },
  },
  {
    name: 'behaviour rule 6: Fallback writes the sibling addresses',
    want: want(write(['198.51.100.1'], 300, 'fallback'), remove('TargetMissing')),
    current: { marker: [OURS], A: rrset(V4, 60), AAAA: rrset(V6, 60) },
    expected: {
      kind: 'change',
      change: ours({ A: rrset(['198.51.100.1'], 300), AAAA: null }),
      reasons: [
        'A: addresses changed 192.0.2.1 → 198.51.100.1 (fallback)',
        'A: ttl 60 → 300 (fallback)',
        'AAAA: removed (TargetMissing)',
      ],
    },
  },
  // --- TTL band -------------------------------------------------------------------------------
  {
    name: 'behaviour rule 4: a TTL exactly 20% lower with unchanged addresses → no write',
    want: want(write(V4, 240), keep),
    current: { marker: [OURS], A: rrset(V4, 300) },
    expected: { kind: 'noop' },
  },
  {
    name: 'behaviour rule 4: a TTL exactly 20% higher with unchanged addresses → no write',
    want: want(write(V4, 360), keep),
    current: { marker: [OURS], A: rrset(V4, 300) },
    expected: { kind: 'noop' },
  },
  {
    name: 'behaviour rule 4: a TTL 21% lower → write',
    want: want(write(V4, 237), keep),
    current: { marker: [OURS], A: rrset(V4, 300) },
    expected: { kind: 'change', change: ours({ A: rrset(V4, 237) }), reasons: ['A: ttl 300 → 237'] },
  },
  {
    name: 'behaviour rule 4: a TTL 21% higher → write',
    want: want(write(V4, 363), keep),
    current: { marker: [OURS], A: rrset(V4, 300) },
    expected: { kind: 'change', change: ours({ A: rrset(V4, 363) }), reasons: ['A: ttl 300 → 363'] },
  },
  {
    name: 'behaviour rule 4: changed addresses are written with the desired TTL even when it is within the band',
    want: want(write(['192.0.2.2'], 250), keep),
    current: { marker: [OURS], A: rrset(V4, 300) },
    expected: {
      kind: 'change',
      change: ours({ A: rrset(['192.0.2.2'], 250) }),
      reasons: ['A: addresses changed 192.0.2.1 → 192.0.2.2', 'A: ttl 300 → 250'],
    },
  },
  {
    name: 'behaviour rule 4: a current TTL above a lowered ttl.max is written even within the band',
    want: want(write(V4, 3300), keep, { max: 3300 }),
    current: { marker: [OURS], A: rrset(V4, 3600) },
    expected: { kind: 'change', change: ours({ A: rrset(V4, 3300) }), reasons: ['A: ttl 3600 → 3300'] },
  },
  {
    name: 'behaviour rule 4: a current TTL below a raised ttl.min is written even within the band',
    want: want(write(V4, 60), keep, { min: 60, max: 3600 }),
    current: { marker: [OURS], A: rrset(V4, 55) },
    expected: { kind: 'change', change: ours({ A: rrset(V4, 60) }), reasons: ['A: ttl 55 → 60'] },
  },
  {
    name: 'behaviour rule 4: the band applies per type',
    want: want(write(V4, 250), write(V6, 200)),
    current: { marker: [OURS], A: rrset(V4, 300), AAAA: rrset(V6, 300) },
    expected: { kind: 'change', change: ours({ AAAA: rrset(V6, 200) }), reasons: ['AAAA: ttl 300 → 200'] },
  },
  // --- canonical addresses --------------------------------------------------------------------
  {
    name: 'IPv6 canonicalisation prevents spurious writes (backend and dns-packet spellings)',
    want: want(write(['192.0.2.1', '192.0.2.2'], 60), write(['2001:0:0:1::1', '2001:db8::1'], 60)),
    current: {
      marker: [OURS],
      A: rrset(['192.0.2.2', '192.0.2.1'], 60),
      AAAA: rrset(['2001:DB8:0:0:0:0:0:1', '2001::1:0:0:0:1'], 60),
    },
    expected: { kind: 'noop' },
  },
  {
    name: 'non-canonical desired addresses are written canonical',
    want: want(write(['192.0.2.2', '192.0.2.1'], 60), write(['2001:DB8::0:1'], 60)),
    current: { marker: [OURS] },
    expected: {
      kind: 'change',
      change: ours({ A: rrset(['192.0.2.1', '192.0.2.2'], 60), AAAA: rrset(['2001:db8::1'], 60) }),
      reasons: ['A: created 192.0.2.1, 192.0.2.2 ttl 60', 'AAAA: created 2001:db8::1 ttl 60'],
    },
  },
  {
    name: 'an empty current RRset counts as absent',
    want: want(write(V4, 60), remove()),
    current: { marker: [OURS], A: rrset([], 60), AAAA: rrset([], 60) },
    expected: {
      kind: 'change',
      change: ours({ A: rrset(V4, 60) }),
      reasons: ['A: created 192.0.2.1 ttl 60'],
    },
  },
];

describe('diff', () => {
  it.each(cases)('$name', (c) => {
    const result = diff(NAME, c.want, { name: NAME, ...c.current }, ownership(c.adopt ?? false));
    expect(inWords(result)).toEqual(c.expected);
  });

  it('behaviour rule 1: desired → diff end to end: AAAA SERVFAIL leaves our AAAA and rewrites A', () => {
    const wish = desired(policy(), { A: resolved(['192.0.2.7'], 30), AAAA: failed('servfail') }, {});
    const current: CurrentRecords = {
      name: NAME,
      marker: [OURS],
      A: rrset(V4, 30),
      AAAA: rrset(V6, 30),
    };
    expect(inWords(diff(NAME, wish, current, ownership()))).toEqual({
      kind: 'change',
      change: ours({ A: rrset(['192.0.2.7'], 30) }),
      reasons: ['A: addresses changed 192.0.2.1 → 192.0.2.7'],
    });
  });

  it('behaviour rule 1: desired → diff end to end: dropping IPv6 from a foreign-held name deletes nothing', () => {
    const wish = desired(policy({ families: ['IPv4'] }), { A: resolved(V4, 60) }, {});
    const current: CurrentRecords = { name: NAME, marker: [OTHER_OWNER], AAAA: rrset(V6, 60) };
    expect(diff(NAME, wish, current, ownership()).kind).toBe('blocked');
  });

  it('says what each decision is, not only in words, so that metrics never parse the text', () => {
    const kinds = (
      current: Omit<CurrentRecords, 'name'>,
      wish = want(write(['192.0.2.7'], 30), remove()),
    ) => {
      const r = diff(NAME, wish, { name: NAME, ...current }, { ...ownership(), supersedes: ['web/other'] });
      return r.kind === 'change' ? r.reasons.map((x) => `${x.subject}:${x.kind}`) : r.kind;
    };
    expect(kinds({})).toEqual(['marker:marker-created', 'A:created']);
    expect(kinds({ marker: [OURS], A: rrset(V4, 30), AAAA: rrset(V6, 30) })).toEqual([
      'A:addresses',
      'AAAA:removed',
    ]);
    expect(kinds({ marker: [OURS], A: rrset(['192.0.2.7'], 300) })).toEqual(['A:ttl']);
    expect(kinds({ marker: [SIBLING] })).toEqual(['marker:marker-taken-over', 'A:created']);
  });

  it('does not modify its inputs', () => {
    const wish = want(write(['192.0.2.2', '192.0.2.1'], 60), remove());
    const current: CurrentRecords = { name: NAME, marker: [OURS], AAAA: rrset(V6) };
    const frozen = JSON.stringify([wish, current]);
    diff(NAME, wish, current, ownership());
    expect(JSON.stringify([wish, current])).toBe(frozen);
  });
});
