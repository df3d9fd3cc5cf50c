import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rfc2136Backend } from '../../src/backends/rfc2136/backend.ts';
import { markerValue } from '../../src/plan/ownership.ts';
import { startBind } from '../harness/bind.ts';
import type { BindServer } from '../harness/bind.ts';
import { claimChange, rrset } from '../harness/changes.ts';
import { rfc2136Backend, tsigKeyOf } from './conformance/rfc2136-fixture.ts';

const ZONE = 'reads.test';
const names = (n: number, prefix = 'n'): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}.${ZONE}`);

describe('rfc2136 reads that fit the work, counted at a real BIND', () => {
  let bind: BindServer;
  let backend: Rfc2136Backend;
  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE }] });
    backend = rfc2136Backend(bind, ZONE, tsigKeyOf(bind.keys[0]!));
    const claims = names(100).map((n) =>
      claimChange(n, { A: rrset(60, '192.0.2.1') }, markerValue('reads', `ns/${n}`)),
    );
    const result = await backend.apply(ZONE, claims);
    expect(result.chunks.every((c) => !c.error)).toBe(true);
  });
  afterAll(async () => {
    await backend?.close();
    await bind?.stop();
  });

  const delta = async (read: () => Promise<unknown>): Promise<Record<string, number>> => {
    const before = await bind.queryStats();
    await read();
    const after = await bind.queryStats();
    return Object.fromEntries(
      Object.entries(after)
        .map(([type, n]) => [type, n - (before[type] ?? 0)] as const)
        .filter(([, n]) => n > 0),
    );
  };

  it('reading 100 names of a zone is one SOA query and one AXFR, and sees every name', async () => {
    let current: Map<string, unknown> | undefined;
    const counts = await delta(async () => (current = await backend.read(ZONE, names(100))));
    expect(counts).toEqual({ SOA: 1, AXFR: 1 });
    expect(current!.get(`n42.${ZONE}`)).toMatchObject({
      A: { ttl: 60, addresses: ['192.0.2.1'] },
      marker: [markerValue('reads', `ns/n42.${ZONE}`)],
    });
  });

  it('reading them again while the zone is unchanged is one SOA query', async () => {
    await backend.read(ZONE, names(100));
    expect(await delta(() => backend.read(ZONE, names(100)))).toEqual({ SOA: 1 });
  });

  it('after a change to the zone, the next read transfers it again and sees the change', async () => {
    await backend.read(ZONE, names(100));
    await bind.nsupdate(`update add hand.${ZONE}. 60 IN A 203.0.113.5\n`);
    let current: Map<string, { A?: { addresses: string[] } }> | undefined;
    const counts = await delta(
      async () => (current = await backend.read(ZONE, [...names(99), `hand.${ZONE}`])),
    );
    expect(counts).toEqual({ SOA: 1, AXFR: 1 });
    expect(current!.get(`hand.${ZONE}`)?.A?.addresses).toEqual(['203.0.113.5']);
  });

  it('a read of a few names is three queries per name (A, AAAA, the marker TXT) and the apex NS and MX, without a transfer', async () => {
    expect(await delta(() => backend.read(ZONE, names(3)))).toEqual({ A: 3, AAAA: 3, TXT: 3, NS: 1, MX: 1 });
  });
});

describe('rfc2136 reads from a primary that refuses transfers', () => {
  let bind: BindServer;
  let backend: Rfc2136Backend;
  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE }], allowTransfer: 'none' });
    backend = rfc2136Backend(bind, ZONE, tsigKeyOf(bind.keys[0]!));
  });
  afterAll(async () => {
    await backend?.close();
    await bind?.stop();
  });

  it('falls back to queries, and does not ask for a transfer again', async () => {
    const first = await backend.read(ZONE, names(40));
    expect(first.size).toBe(40);
    const before = await bind.queryStats();
    await backend.read(ZONE, names(40));
    const after = await bind.queryStats();
    expect((after.AXFR ?? 0) - (before.AXFR ?? 0)).toBe(0);
    expect((after.A ?? 0) - (before.A ?? 0)).toBe(40);
  });
});
