import type { Change, ResourceRecordSet } from '@aws-sdk/client-route-53';
import { describe, expect, it } from 'vitest';
import {
  BATCH_LIMITS,
  changesFor,
  costOf,
  currentRecords,
  emptyState,
  packBatches,
  unmetExpectations,
} from '../../../src/backends/route53/changes.ts';
import type { NameState } from '../../../src/backends/route53/changes.ts';
import type { NameChange } from '../../../src/plan/types.ts';

const NAME = 'www.example.com';
const MARKER = '_apexalias.www.example.com';
const OURS = 'heritage=apexalias,owner=o,resource=ns/www';
const OTHER = 'heritage=apexalias,owner=o,resource=ns/older';

function set(
  name: string,
  type: 'A' | 'AAAA' | 'TXT' | 'CNAME',
  ttl: number,
  values: string[],
): ResourceRecordSet {
  return { Name: `${name}.`, Type: type, TTL: ttl, ResourceRecords: values.map((Value) => ({ Value })) };
}

function state(partial: Partial<NameState>): NameState {
  return { ...emptyState(), ...partial };
}

function change(partial: Partial<NameChange>): NameChange {
  return {
    name: NAME,
    markerName: MARKER,
    markerValue: OURS,
    expect: { marker: { value: OURS }, noCname: true, absent: [] },
    set: {},
    marker: 'keep',
    ...partial,
  };
}

/** A change list as "ACTION name type ttl values" lines. */
function lines(changes: Change[]): string[] {
  return changes.map(
    (c) =>
      `${c.Action} ${c.ResourceRecordSet!.Name} ${c.ResourceRecordSet!.Type} ${c.ResourceRecordSet!.TTL} ` +
      (c.ResourceRecordSet!.ResourceRecords ?? []).map((r) => r.Value).join(','),
  );
}

describe('changesFor: each NameChange.expect as Route 53 actions', () => {
  it('a first claim CREATEs the addresses and the marker (with the lowest TTL, at most 300)', () => {
    const out = changesFor(
      change({
        expect: { marker: 'absent', noCname: true, absent: ['A', 'AAAA'] },
        set: {
          A: { ttl: 60, addresses: ['192.0.2.1', '192.0.2.2'] },
          AAAA: { ttl: 120, addresses: ['2001:db8::1'] },
        },
        marker: 'create',
      }),
      emptyState(),
    );
    expect(out.ok && lines(out.changes)).toEqual([
      'CREATE www.example.com. A 60 192.0.2.1,192.0.2.2',
      'CREATE www.example.com. AAAA 120 2001:db8::1',
      `CREATE ${MARKER}. TXT 60 "${OURS}"`,
    ]);
  });

  it('an owned change DELETEs the record sets exactly as read and recreates the marker unchanged', () => {
    const read = state({
      A: [set(NAME, 'A', 300, ['192.0.2.9'])],
      marker: [set(MARKER, 'TXT', 45, [`"${OURS}"`])],
    });
    const out = changesFor(change({ set: { A: { ttl: 60, addresses: ['192.0.2.1'] } } }), read);
    expect(out.ok && lines(out.changes)).toEqual([
      'DELETE www.example.com. A 300 192.0.2.9',
      'CREATE www.example.com. A 60 192.0.2.1',
      `DELETE ${MARKER}. TXT 45 "${OURS}"`,
      `CREATE ${MARKER}. TXT 45 "${OURS}"`,
    ]);
    expect(out.ok && out.after.A).toEqual([set(NAME, 'A', 60, ['192.0.2.1'])]);
  });

  it('a takeover DELETEs the other alias marker and CREATEs ours; a deletion DELETEs ours', () => {
    const read = state({
      A: [set(NAME, 'A', 60, ['192.0.2.1'])],
      marker: [set(MARKER, 'TXT', 60, [`"${OTHER}"`])],
    });
    const takeover = changesFor(
      change({ expect: { marker: { value: OTHER }, noCname: true, absent: [] }, marker: 'replace' }),
      read,
    );
    expect(takeover.ok && lines(takeover.changes)).toEqual([
      `DELETE ${MARKER}. TXT 60 "${OTHER}"`,
      `CREATE ${MARKER}. TXT 300 "${OURS}"`,
    ]);
    const owned = state({ A: read.A, marker: [set(MARKER, 'TXT', 60, [`"${OURS}"`])] });
    const deletion = changesFor(change({ set: { A: null }, marker: 'delete' }), owned);
    expect(deletion.ok && lines(deletion.changes)).toEqual([
      'DELETE www.example.com. A 60 192.0.2.1',
      `DELETE ${MARKER}. TXT 60 "${OURS}"`,
    ]);
    expect(deletion.ok && deletion.after).toMatchObject({ A: [], marker: [] });
  });

  it('adopting DELETEs the foreign record sets, every routing-policy set of the type included', () => {
    const weighted = [
      { ...set(NAME, 'A', 60, ['192.0.2.1']), SetIdentifier: 'one', Weight: 1 },
      { ...set(NAME, 'A', 60, ['192.0.2.2']), SetIdentifier: 'two', Weight: 1 },
    ];
    const out = changesFor(
      change({
        expect: { marker: 'absent', noCname: true, absent: ['AAAA'] },
        set: { A: { ttl: 60, addresses: ['192.0.2.3'] } },
        marker: 'create',
      }),
      state({ A: weighted }),
    );
    expect(out.ok && out.changes.map((c) => [c.Action, c.ResourceRecordSet!.SetIdentifier])).toEqual([
      ['DELETE', 'one'],
      ['DELETE', 'two'],
      ['CREATE', undefined],
      ['CREATE', undefined],
    ]);
  });

  it('checks on the last read what Route 53 cannot: absent types not written, a CNAME, the marker', () => {
    const claim = change({
      expect: { marker: 'absent', noCname: true, absent: ['A', 'AAAA'] },
      set: { A: { ttl: 60, addresses: ['192.0.2.1'] } },
      marker: 'create',
    });
    expect(unmetExpectations(claim, state({ AAAA: [set(NAME, 'AAAA', 60, ['2001:db8::1'])] }))).toEqual([
      'www.example.com already holds AAAA records',
    ]);
    expect(unmetExpectations(claim, state({ CNAME: [set(NAME, 'CNAME', 60, ['x.example.net'])] }))).toEqual([
      'www.example.com holds a CNAME',
    ]);
    expect(
      changesFor(change({ set: { A: null } }), state({ marker: [set(MARKER, 'TXT', 60, [`"${OTHER}"`])] })),
    ).toEqual({
      ok: false,
      reasons: [`${MARKER} holds TXT ${JSON.stringify([OTHER])}, expected ${JSON.stringify([OURS])}`],
    });
  });
});

describe('currentRecords', () => {
  it('reads routing-policy sets as one RRset and alias records as an RRset without addresses', () => {
    const current = currentRecords(
      NAME,
      state({
        A: [
          { ...set(NAME, 'A', 60, ['192.0.2.2']), SetIdentifier: 'a' },
          { ...set(NAME, 'A', 30, ['192.0.2.1']), SetIdentifier: 'b' },
        ],
        AAAA: [
          {
            Name: `${NAME}.`,
            Type: 'AAAA',
            AliasTarget: { DNSName: 'lb.aws.', HostedZoneId: 'Z', EvaluateTargetHealth: false },
          },
        ],
        marker: [set(MARKER, 'TXT', 60, [`"${OURS.slice(0, 10)}" "${OURS.slice(10)}"`])],
      }),
    );
    expect(current).toEqual({
      name: NAME,
      A: { ttl: 30, addresses: ['192.0.2.1', '192.0.2.2'] },
      AAAA: { ttl: 0, addresses: [] },
      marker: [OURS],
    });
  });
});

describe('packBatches: Route 53 quotas per ChangeResourceRecordSets', () => {
  const a = (i: number, values: number, valueLength = 10): { item: number; changes: Change[] } => ({
    item: i,
    changes: [
      {
        Action: 'CREATE',
        ResourceRecordSet: set(
          `n${i}.example.com`,
          'A',
          60,
          Array.from({ length: values }, () => 'x'.repeat(valueLength)),
        ),
      },
    ],
  });

  it('splits at 1,000 changes, keeping each name whole', () => {
    const batches = packBatches(Array.from({ length: 1001 }, (_, i) => a(i, 0)));
    expect(batches.map((b) => b.items.length)).toEqual([1000, 1]);
  });

  it('splits at 1,000 ResourceRecord elements', () => {
    const batches = packBatches(Array.from({ length: 6 }, (_, i) => a(i, 300, 1)));
    expect(batches.map((b) => costOf(b.changes).records)).toEqual([900, 900]);
  });

  it('splits at 32,000 characters of values', () => {
    const batches = packBatches(Array.from({ length: 5 }, (_, i) => a(i, 1, 10_000)));
    expect(batches.map((b) => b.items)).toEqual([
      [0, 1, 2],
      [3, 4],
    ]);
  });

  it('counts an UPSERT twice, records and characters', () => {
    const upsert: Change = {
      Action: 'UPSERT',
      ResourceRecordSet: set('u.example.com', 'A', 60, ['192.0.2.1', '192.0.2.2']),
    };
    expect(costOf([upsert])).toEqual({ changes: 1, records: 4, characters: 36 });
  });

  it('puts a name that alone exceeds the quotas in a batch of its own, marked oversize', () => {
    const batches = packBatches([a(0, 1), a(1, BATCH_LIMITS.records + 1, 1), a(2, 1)]);
    expect(batches.map((b) => [b.items, b.oversize?.records])).toEqual([
      [[0], undefined],
      [[1], 1001],
      [[2], undefined],
    ]);
  });
});
