import { describe, expect, it } from 'vitest';
import { planDeletion } from '../../../src/plan/delete.ts';
import type { CurrentRecords, NameChange } from '../../../src/plan/types.ts';
import { inWords, MARKER_NAME, NAME, OTHER_OWNER, OURS, ownership, rrset, SIBLING } from './fixtures.ts';
import type { VerdictInWords } from './fixtures.ts';
import { releaseChange } from '../../harness/changes.ts';

const deletion = (set: NameChange['set']): NameChange => releaseChange(NAME, OURS, set);

const cases: { name: string; current: Omit<CurrentRecords, 'name'>; expected: VerdictInWords }[] = [
  {
    name: 'behaviour rule 11: deleting removes our A, AAAA and marker',
    current: { marker: [OURS], A: rrset(['192.0.2.1']), AAAA: rrset(['2001:db8::1']) },
    expected: {
      kind: 'change',
      change: deletion({ A: null, AAAA: null }),
      reasons: ['A: removed (deleted)', 'AAAA: removed (deleted)', 'marker: deleted'],
    },
  },
  {
    name: 'behaviour rule 11: deleting removes only the types present',
    current: { marker: [OURS], A: rrset(['192.0.2.1']) },
    expected: {
      kind: 'change',
      change: deletion({ A: null }),
      reasons: ['A: removed (deleted)', 'marker: deleted'],
    },
  },
  {
    name: 'behaviour rule 11: deleting with no records left removes the marker alone',
    current: { marker: [OURS], A: rrset([]) },
    expected: { kind: 'change', change: deletion({}), reasons: ['marker: deleted'] },
  },
  {
    name: 'behaviour rule 11: records without a marker are never removed',
    current: { A: rrset(['192.0.2.1']), AAAA: rrset(['2001:db8::1']) },
    expected: {
      kind: 'noop',
      reason: `${MARKER_NAME} holds no ownership marker: nothing at ${NAME} is ours to remove`,
    },
  },
  {
    name: 'behaviour rule 11: records another controller holds are never removed',
    current: { marker: [OTHER_OWNER], A: rrset(['192.0.2.1']) },
    expected: {
      kind: 'noop',
      reason: `${MARKER_NAME} holds owner "apexalias-staging", resource web/apex: left untouched`,
    },
  },
  {
    name: 'behaviour rule 11: records another ApexAlias of this controller holds are never removed',
    current: { marker: [SIBLING], A: rrset(['192.0.2.1']) },
    expected: { kind: 'noop', reason: `${NAME} belongs to ApexAlias web/other: left untouched` },
  },
  {
    name: 'behaviour rule 11: several TXT strings at the marker name are never removed',
    current: { marker: [OURS, 'v=spf1 -all'], A: rrset(['192.0.2.1']) },
    expected: {
      kind: 'noop',
      reason: `${MARKER_NAME} holds 2 TXT records ("${OURS}", "v=spf1 -all"): left untouched`,
    },
  },
  {
    name: 'behaviour rule 9: a CNAME that replaced our records blocks the deletion',
    current: { marker: [OURS], cname: 'elsewhere.example.net' },
    expected: {
      kind: 'blocked',
      reason: 'CnameAtName',
      message: `${NAME} now holds a CNAME to elsewhere.example.net; none of our A/AAAA records remain, only ${MARKER_NAME}.`,
    },
  },
];

describe('planDeletion', () => {
  it.each(cases)('$name', (c) => {
    expect(inWords(planDeletion(NAME, { name: NAME, ...c.current }, ownership()))).toEqual(c.expected);
  });

  it('behaviour rule 11: adopt does not widen what a deletion may remove', () => {
    const current: CurrentRecords = { name: NAME, A: rrset(['192.0.2.1']) };
    expect(planDeletion(NAME, current, ownership(true)).kind).toBe('noop');
  });
});
