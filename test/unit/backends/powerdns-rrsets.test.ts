import { describe, expect, it } from 'vitest';
import {
  changeToRRsets,
  indexRRsets,
  packPatches,
  rrsetsOf,
  snapshotOf,
} from '../../../src/backends/powerdns/rrsets.ts';
import { unmetExpectations, unwrittenParts } from '../../../src/backends/expectations.ts';
import type { NameChange } from '../../../src/plan/types.ts';

function claim(name: string, addresses: string[]): NameChange {
  return {
    name,
    markerName: `_apexalias.${name}`,
    markerValue: `heritage=apexalias,owner=o,resource=ns/${name.split('.')[0]}`,
    expect: { marker: 'absent', noCname: true, absent: ['A', 'AAAA'] },
    set: { A: { ttl: 60, addresses } },
    marker: 'create',
  };
}

describe('changeToRRsets', () => {
  it('replaces written families and the marker, deletes removed ones, and never sends comments', () => {
    const change: NameChange = {
      ...claim('www.example.com', ['192.0.2.1', '192.0.2.2']),
      set: { A: { ttl: 30, addresses: ['192.0.2.1', '192.0.2.2'] }, AAAA: null },
    };
    expect(changeToRRsets(change)).toEqual([
      {
        name: 'www.example.com.',
        type: 'A',
        changetype: 'REPLACE',
        ttl: 30,
        records: [
          { content: '192.0.2.1', disabled: false },
          { content: '192.0.2.2', disabled: false },
        ],
      },
      { name: 'www.example.com.', type: 'AAAA', changetype: 'DELETE' },
      {
        name: '_apexalias.www.example.com.',
        type: 'TXT',
        changetype: 'REPLACE',
        ttl: 30,
        records: [{ content: '"heritage=apexalias,owner=o,resource=ns/www"', disabled: false }],
      },
    ]);
    expect(JSON.stringify(changeToRRsets(change))).not.toContain('comments');
  });

  it('deletes the marker on deletion and leaves it out when it is kept', () => {
    const base = claim('a.example.com', ['192.0.2.1']);
    expect(
      changeToRRsets({ ...base, set: { A: null }, marker: 'delete' }).map((r) => [r.type, r.changetype]),
    ).toEqual([
      ['A', 'DELETE'],
      ['TXT', 'DELETE'],
    ]);
    expect(changeToRRsets({ ...base, marker: 'keep' }).map((r) => r.type)).toEqual(['A']);
  });

  it('splits a marker longer than 255 octets into several character-strings', () => {
    const long = { ...claim('a.example.com', ['192.0.2.1']), markerValue: 'x'.repeat(300) };
    const txt = changeToRRsets(long).find((r) => r.type === 'TXT')!;
    expect(txt.records![0]!.content).toBe(`"${'x'.repeat(255)}" "${'x'.repeat(45)}"`);
  });
});

describe('packPatches', () => {
  it('fills each body up to the limit with whole names, in order', () => {
    const changes = Array.from({ length: 40 }, (_, i) => claim(`n${i}.example.com`, [`10.0.0.${i}`]));
    const one = packPatches(changes, 10_000_000);
    expect(one).toHaveLength(1);
    const limit = Math.ceil(one[0]!.body.length / 3) + 50;
    const chunks = packPatches(changes, limit);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.flatMap((c) => c.changes)).toEqual(changes);
    for (const c of chunks) {
      expect(Buffer.byteLength(c.body)).toBeLessThanOrEqual(limit);
      expect((JSON.parse(c.body) as { rrsets: unknown[] }).rrsets).toHaveLength(c.changes.length * 2);
      expect(c.records).toBe(c.changes.length * 2);
    }
  });

  it('sends a change that alone exceeds the limit on its own', () => {
    const changes = [claim('a.example.com', ['192.0.2.1']), claim('b.example.com', ['192.0.2.2'])];
    expect(packPatches(changes, 10).map((c) => c.changes.length)).toEqual([1, 1]);
    expect(packPatches([], 10)).toEqual([]);
  });
});

describe('reading RRsets', () => {
  const rrsets = rrsetsOf({
    rrsets: [
      {
        name: 'WWW.example.com.',
        type: 'A',
        ttl: 60,
        records: [
          { content: '192.0.2.2', disabled: false },
          { content: '192.0.2.1', disabled: false },
        ],
      },
      {
        name: 'www.example.com.',
        type: 'AAAA',
        ttl: 60,
        records: [{ content: '2001:db8::1', disabled: true }],
      },
      {
        name: '_apexalias.www.example.com.',
        type: 'TXT',
        ttl: 300,
        records: [{ content: '"heritage=apexalias," "owner=o"', disabled: false }],
      },
      // PowerDNS 4.7 returns every comment of the zone with a filtered GET, as an RRset without records.
      { name: 'other.example.com.', type: 'MX', ttl: 0, records: [], comments: [{ content: 'x' }] },
      {
        name: 'cname.example.com.',
        type: 'CNAME',
        ttl: 60,
        records: [{ content: 'Target.Example.NET.', disabled: false }],
      },
      {
        name: '_apexalias.cname.example.com.',
        type: 'CNAME',
        ttl: 60,
        records: [{ content: 'x.example.net.', disabled: false }],
      },
    ],
  })!;
  const index = indexRRsets(
    rrsets,
    new Set([
      'www.example.com',
      '_apexalias.www.example.com',
      'cname.example.com',
      '_apexalias.cname.example.com',
    ]),
  );

  it('keeps only enabled records of the names asked for, in the planner vocabulary', () => {
    expect(snapshotOf(index, 'www.example.com')).toEqual({
      current: {
        name: 'www.example.com',
        A: { ttl: 60, addresses: ['192.0.2.1', '192.0.2.2'] },
        marker: ['heritage=apexalias,owner=o'],
      },
      markerCname: false,
    });
    expect(index.has('other.example.com')).toBe(false);
    expect(snapshotOf(index, 'cname.example.com')).toEqual({
      current: { name: 'cname.example.com', cname: 'target.example.net' },
      markerCname: true,
    });
  });

  it('refuses a body that is not a PowerDNS zone', () => {
    expect(rrsetsOf({})).toBeUndefined();
    expect(rrsetsOf({ rrsets: [{ name: 'a.', type: 'A' }] })).toBeUndefined();
    expect(rrsetsOf(null)).toBeUndefined();
  });
});

describe('checking a change by reading', () => {
  const change = claim('www.example.com', ['192.0.2.1']);

  it('reports each expectation the zone no longer meets, as RFC 2136 would', () => {
    expect(unmetExpectations(change, { current: { name: 'www.example.com' }, markerCname: false })).toEqual(
      [],
    );
    const unmet = unmetExpectations(change, {
      current: {
        name: 'www.example.com',
        cname: 'x.example.net',
        A: { ttl: 1, addresses: ['203.0.113.1'] },
        marker: ['other'],
      },
      markerCname: true,
    });
    expect(unmet.map((u) => u.rcode)).toEqual(['YXRRSET', 'YXRRSET', 'YXRRSET', 'YXRRSET']);
    const update: NameChange = {
      ...change,
      expect: { marker: { value: change.markerValue }, noCname: true, absent: [] },
      marker: 'keep',
    };
    expect(
      unmetExpectations(update, {
        current: { name: 'www.example.com', marker: [change.markerValue, 'x'] },
        markerCname: false,
      }),
    ).toEqual([expect.objectContaining({ rcode: 'NXRRSET' })]);
  });

  it('after the write, names what another writer changed', () => {
    const written = {
      name: 'www.example.com',
      A: { ttl: 60, addresses: ['192.0.2.1'] },
      marker: [change.markerValue],
    };
    expect(unwrittenParts(change, written)).toEqual([]);
    expect(unwrittenParts(change, { ...written, A: { ttl: 120, addresses: ['192.0.2.1'] } })).toHaveLength(1);
    expect(unwrittenParts(change, { ...written, marker: ['someone else'] })).toHaveLength(1);
    const deletion: NameChange = { ...change, set: { A: null }, marker: 'delete' };
    expect(unwrittenParts(deletion, { name: 'www.example.com' })).toEqual([]);
    expect(unwrittenParts(deletion, written)).toHaveLength(2);
  });
});
