import { describe, expect, it } from 'vitest';
import { packChunks } from '../../../src/backends/rfc2136/backend.ts';
import { changeToRRs, servedProbe } from '../../../src/backends/rfc2136/messages.ts';
import { encodeUpdate } from '../../../src/dns/update.ts';
import type { NameChange } from '../../../src/plan/types.ts';
import { claimChange, rrset, updateChange } from '../../harness/changes.ts';

const ZONE = 'example.test';
const value = (i: number, owner = 'apexalias'): string =>
  `heritage=apexalias,owner=${owner},resource=default/alias-${i}`;

const update = (i: number, owner?: string): NameChange =>
  updateChange(`alias-${i}.${ZONE}`, { A: rrset(60, '192.0.2.1') }, value(i, owner));

const claim = (i: number): NameChange =>
  claimChange(`alias-${i}.${ZONE}`, { A: rrset(60, '192.0.2.1'), AAAA: rrset(60, '2001:db8::1') }, value(i));

describe('rfc2136 message packing', () => {
  it('fits 500 updates of owned names in one UPDATE message with a short owner id', () => {
    const chunks = packChunks(
      ZONE,
      Array.from({ length: 500 }, (_, i) => update(i, 'ci')),
    );
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.changes).toHaveLength(500);
  });

  it('with 62-octet markers, each message still carries over 450 updates', () => {
    const chunks = packChunks(
      ZONE,
      Array.from({ length: 1000 }, (_, i) => update(i)),
    );
    expect(chunks).toHaveLength(3);
    expect(Math.min(...chunks.slice(0, -1).map((c) => c.changes.length))).toBeGreaterThan(450);
  });

  it('splits 2,000 first claims into messages that each fit 64 KiB, never splitting a name', () => {
    const changes = Array.from({ length: 2000 }, (_, i) => claim(i));
    const chunks = packChunks(ZONE, changes);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.flatMap((c) => c.changes)).toEqual(changes);
    for (const c of chunks) {
      const size = encodeUpdate({
        id: 0,
        zone: ZONE,
        prerequisites: c.prerequisites,
        updates: c.updates,
      }).length;
      expect(size).toBeLessThanOrEqual(65_535 - 512);
      const perName = c.changes.map(changeToRRs);
      expect(c.prerequisites.length).toBe(perName.reduce((n, p) => n + p.prerequisites.length, 0));
      expect(c.updates).toEqual(perName.flatMap((p) => p.updates));
    }
  });

  it('a first claim asserts no CNAME, no marker and no address RRsets, then adds without deleting', () => {
    const { prerequisites, updates } = changeToRRs(claim(1));
    expect(prerequisites.map((p) => `${p.class} ${p.type}`)).toEqual([
      'NONE CNAME',
      'NONE TXT',
      'NONE A',
      'NONE AAAA',
    ]);
    expect(updates.map((u) => `${u.class} ${u.type}`)).toEqual(['IN A', 'IN AAAA', 'IN TXT']);
  });

  it('an update asserts the exact marker value and replaces the RRset', () => {
    const { prerequisites, updates } = changeToRRs(update(1));
    expect(prerequisites[1]).toEqual({
      name: `_apexalias.alias-1.${ZONE}`,
      type: 'TXT',
      class: 'IN',
      ttl: 0,
      rdata: [value(1)],
    });
    expect(updates.map((u) => `${u.class} ${u.type}`)).toEqual(['ANY A', 'IN A']);
  });
});

describe('servedProbe: what shows that a signing primary serves a change', () => {
  it('looks at the first address RRset written or deleted, else at the marker', () => {
    expect(servedProbe(claim(1))).toEqual({ qname: `alias-1.${ZONE}`, type: 'A', values: ['192.0.2.1'] });
    expect(servedProbe({ ...update(2), set: { AAAA: null } })).toEqual({
      qname: `alias-2.${ZONE}`,
      type: 'AAAA',
      values: [],
    });
    const markerOnly = { ...update(3), set: {} };
    expect(servedProbe({ ...markerOnly, marker: 'replace' })).toEqual({
      qname: `_apexalias.alias-3.${ZONE}`,
      type: 'TXT',
      values: [value(3)],
    });
    expect(servedProbe({ ...markerOnly, marker: 'delete' })).toEqual({
      qname: `_apexalias.alias-3.${ZONE}`,
      type: 'TXT',
      values: [],
    });
    expect(servedProbe({ ...markerOnly, marker: 'keep' })).toBeUndefined();
  });
});
