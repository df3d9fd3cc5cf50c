import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { syncAliases } from '../../../src/engine/sync.ts';
import type { DnsBackend } from '../../../src/backends/types.ts';
import { BackendError } from '../../../src/backends/errors.ts';
import { RepairLimiter } from '../../../src/drift/zone.ts';
import { markerValue } from '../../../src/plan/ownership.ts';
import { alias, engineWorld, OWNER_ID, ZONE } from '../../harness/engine-world.ts';
import type { EngineWorld } from '../../harness/engine-world.ts';

let w: EngineWorld;
beforeEach(async () => {
  w = await engineWorld();
  w.targets.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 60);
  w.targets.setAddresses('lb.demo.test', 'AAAA', ['2001:db8::1'], 60);
});
afterEach(() => w.close());

const marker = (name: string, ns = 'default'): string => markerValue(OWNER_ID, `${ns}/${name}`);

describe('syncAliases over the zone-file backend, without servers', () => {
  it('a first pass claims the name and writes both families; a second pass writes nothing', async () => {
    const first = await syncAliases([alias('apex')], w.deps());
    expect(first.summary).toMatchObject({ changed: 1, failed: 0, writes: 1 });
    expect(await w.served(ZONE, 'A')).toEqual(['192.0.2.1']);
    expect(await w.served(ZONE, 'AAAA')).toEqual(['2001:db8::1']);
    expect(await w.served(`_apexalias.${ZONE}`, 'TXT')).toEqual([`"${marker('apex')}"`]);
    const second = await syncAliases([alias('apex')], w.deps());
    expect(second.summary).toMatchObject({ changed: 0, unchanged: 1, writes: 0 });
  });

  it('behaviour rule 1: a failing AAAA lookup leaves AAAA alone and still writes A', async () => {
    await syncAliases([alias('apex')], w.deps());
    w.resolver.forget('lb.demo.test');
    w.targets.setAddresses('lb.demo.test', 'A', ['192.0.2.2'], 60);
    w.targets.setBehaviour('lb.demo.test', 'servfail', 'AAAA');
    const { outcomes } = await syncAliases([alias('apex')], w.deps());
    expect(outcomes[0]!.failure?.code).toBe('ERR_RESOLVE_SERVFAIL');
    expect(await w.served(ZONE, 'A')).toEqual(['192.0.2.2']);
    expect(await w.served(ZONE, 'AAAA')).toEqual(['2001:db8::1']);
  });

  it('behaviour rule 8: records without a marker are NotOwned, and taken over only with adopt', async () => {
    await w.handAdd([`legacy.${ZONE}. 300 IN A 203.0.113.9`]);
    const blocked = await syncAliases(
      [alias('legacy', { name: 'legacy', addressFamilies: ['IPv4'] })],
      w.deps(),
    );
    expect(blocked.outcomes[0]!.verdict).toMatchObject({ kind: 'blocked', reason: 'NotOwned' });
    expect(await w.served(`legacy.${ZONE}`)).toEqual(['203.0.113.9']);
    await syncAliases(
      [alias('legacy', { name: 'legacy', addressFamilies: ['IPv4'], adopt: true })],
      w.deps(),
    );
    expect(await w.served(`legacy.${ZONE}`)).toEqual(['192.0.2.1']);
  });

  describe('behaviour rule 10: two aliases for one name', () => {
    const older = alias('older', { name: 'shared' }, { createdAt: '2026-01-01T00:00:00Z' });
    const newer = alias(
      'newer',
      { name: 'shared', target: 'other.demo.test' },
      { createdAt: '2026-01-02T00:00:00Z' },
    );

    it('the older keeps the name and the newer gets Conflict', async () => {
      w.targets.setAddresses('other.demo.test', 'A', ['198.51.100.7'], 60);
      const { outcomes } = await syncAliases([newer, older], w.deps());
      const byName = new Map(outcomes.map((o) => [o.input.name, o]));
      expect(byName.get('newer')!.verdict).toMatchObject({ kind: 'blocked', reason: 'Conflict' });
      expect(byName.get('older')!.written).toBe(true);
      expect(await w.served(`shared.${ZONE}`)).toEqual(['192.0.2.1']);
    });

    it('regression: two aliases on one name, the newer holding the marker: the older takes it over', async () => {
      w.targets.setAddresses('other.demo.test', 'A', ['198.51.100.7'], 60);
      await syncAliases([newer], w.deps());
      expect(await w.served(`_apexalias.shared.${ZONE}`, 'TXT')).toEqual([`"${marker('newer')}"`]);
      const { outcomes } = await syncAliases([older, newer], w.deps());
      const byName = new Map(outcomes.map((o) => [o.input.name, o]));
      expect(byName.get('older')!.written).toBe(true);
      expect(byName.get('newer')!.verdict).toMatchObject({ kind: 'blocked', reason: 'Conflict' });
      expect(await w.served(`_apexalias.shared.${ZONE}`, 'TXT')).toEqual([`"${marker('older')}"`]);
      expect(await w.served(`shared.${ZONE}`)).toEqual(['192.0.2.1']);
    });

    it('without timestamps, the key that sorts first wins, whatever the order of the manifests', async () => {
      const a = alias('a', { name: 'tie' });
      const b = alias('b', { name: 'tie', target: 'other.demo.test' });
      w.targets.setAddresses('other.demo.test', 'A', ['198.51.100.7'], 60);
      const { outcomes } = await syncAliases([b, a], w.deps());
      expect(outcomes.find((o) => o.input.name === 'b')!.verdict).toMatchObject({ reason: 'Conflict' });
      expect(await w.served(`tie.${ZONE}`)).toEqual(['192.0.2.1']);
    });
  });

  describe('behaviour rule 13: zone drift against what was written last', () => {
    const written = {
      A: { ttl: 60, addresses: ['192.0.2.1'] },
      AAAA: { ttl: 60, addresses: ['2001:db8::1'] },
    };

    beforeEach(async () => {
      await syncAliases([alias('apex')], w.deps());
      await w.handRemove(ZONE, 'A');
      await w.handAdd([`${ZONE}. 60 IN A 203.0.113.66`]);
    });

    it('Correct repairs a hand edit', async () => {
      const { outcomes } = await syncAliases([alias('apex', {}, { lastKnownGood: written })], w.deps());
      expect(outcomes[0]!.drift).toEqual({ types: { A: true, AAAA: false }, action: 'repair' });
      expect(await w.served(ZONE)).toEqual(['192.0.2.1']);
      expect(w.log.messages()).toContain('zone drift: repairing');
    });

    it('Report leaves the hand edit and says so', async () => {
      const { outcomes } = await syncAliases(
        [alias('apex', { driftPolicy: 'Report' }, { lastKnownGood: written })],
        w.deps(),
      );
      expect(outcomes[0]!.drift?.action).toBe('report');
      expect(outcomes[0]!.verdict?.kind).toBe('noop');
      expect(outcomes[0]!.inSync).toBe(false);
      expect(await w.served(ZONE)).toEqual(['203.0.113.66']);
    });

    it('a fight (more repairs than the limiter allows) is not repaired', async () => {
      const repairs = new RepairLimiter(0);
      const { outcomes } = await syncAliases(
        [alias('apex', {}, { lastKnownGood: written })],
        w.deps({ repairs }),
      );
      expect(outcomes[0]!.drift?.action).toBe('fight');
      expect(await w.served(ZONE)).toEqual(['203.0.113.66']);
    });
  });

  it('a batch refused on a prerequisite is written again name by name, holding back only the name that changed', async () => {
    // Another writer claims `b` between the read and the write of the batch.
    const racing: DnsBackend = Object.create(w.backend) as DnsBackend;
    let raced = false;
    racing.apply = async (zone, changes, opts) => {
      if (!raced) {
        raced = true;
        await w.handAdd([`b.${ZONE}. 60 IN A 203.0.113.1`]);
      }
      return w.backend.apply(zone, changes, opts);
    };
    racing.read = (zone, names, opts) => w.backend.read(zone, names, opts);
    const { outcomes, summary } = await syncAliases(
      [
        alias('a', { name: 'a', addressFamilies: ['IPv4'] }),
        alias('b', { name: 'b', addressFamilies: ['IPv4'] }),
      ],
      w.deps({ backendFor: () => racing }),
    );
    const byName = new Map(outcomes.map((o) => [o.input.name, o]));
    expect(byName.get('a')!.written).toBe(true);
    expect(byName.get('b')!.verdict).toMatchObject({ kind: 'blocked', reason: 'NotOwned' });
    expect(summary.writes).toBe(2); // the refused batch, then `a` on its own
    expect(await w.served(`a.${ZONE}`)).toEqual(['192.0.2.1']);
    expect(await w.served(`b.${ZONE}`)).toEqual(['203.0.113.1']);
  });

  it('behaviour rule 6: Remove deletes a family whose target has none; Fallback writes the fallback', async () => {
    await syncAliases([alias('gone', { name: 'gone' })], w.deps());
    w.resolver.forget('lb.demo.test');
    w.targets.setAddresses('lb.demo.test', 'AAAA', [], 60);
    await syncAliases([alias('gone', { name: 'gone', onTargetMissing: 'Remove' })], w.deps());
    expect(await w.served(`gone.${ZONE}`, 'AAAA')).toEqual([]);
    expect(await w.served(`gone.${ZONE}`, 'A')).toEqual(['192.0.2.1']);
    await syncAliases(
      [alias('gone', { name: 'gone', onTargetMissing: 'Fallback', fallbackAddresses: ['2001:db8::99'] })],
      w.deps(),
    );
    expect(await w.served(`gone.${ZONE}`, 'AAAA')).toEqual(['2001:db8::99']);
  });
});

describe('cancellation', () => {
  it('a pass cancelled while it reads writes nothing and rejects with the reason', async () => {
    const stop = new AbortController();
    const reading: DnsBackend = Object.create(w.backend) as DnsBackend;
    let applies = 0;
    reading.read = async (zone, names, opts) => {
      stop.abort(new Error('lost the leader lease'));
      return w.backend.read(zone, names, opts);
    };
    reading.apply = async (zone, changes, opts) => {
      applies++;
      return w.backend.apply(zone, changes, opts);
    };
    await expect(
      syncAliases([alias('apex')], w.deps({ backendFor: () => reading, signal: stop.signal })),
    ).rejects.toThrow('lost the leader lease');
    expect(applies).toBe(0);
    expect(await w.served(ZONE, 'A')).toEqual([]);
  });
});

describe('blast radius (behaviour rules 9 and 14)', () => {
  it('regression: adopt on the zone NS glue (ns1) is refused as ProtectedName, and the glue stays', async () => {
    const { outcomes } = await syncAliases(
      [alias('glue', { name: 'ns1', addressFamilies: ['IPv4'], adopt: true })],
      w.deps(),
    );
    expect(outcomes[0]!.verdict).toMatchObject({ kind: 'blocked', reason: 'ProtectedName' });
    expect((outcomes[0]!.verdict as { message: string }).message).toContain('the target of the NS record');
    expect(await w.served(`ns1.${ZONE}`)).toEqual(['127.0.0.1']);
    const mail = await syncAliases([alias('mail', { name: 'mail', adopt: true })], w.deps());
    expect(mail.outcomes[0]!.verdict).toMatchObject({ kind: 'blocked', reason: 'ProtectedName' });
  });

  it('regression: a batch error never names another alias record: a read that fails for one name fails only that alias, in its own words', async () => {
    // A backend whose failures name the record they are about, as a server's answer would.
    const naming: DnsBackend = Object.create(w.backend) as DnsBackend;
    naming.read = async (zone, names, opts) => {
      const bad = names.find((n) => n.startsWith('tenant-b.'));
      if (bad) throw new BackendError('SERVER', 'SERVFAIL', `the server failed reading ${bad}`);
      return w.backend.read(zone, names, opts);
    };
    naming.apply = (zone, changes, opts) => w.backend.apply(zone, changes, opts);
    const aliases = ['tenant-a', 'tenant-b', 'tenant-c'].map((n) =>
      alias(n, { name: n, addressFamilies: ['IPv4'] }, { namespace: n }),
    );
    const { outcomes } = await syncAliases(aliases, w.deps({ backendFor: () => naming }));
    const byName = new Map(outcomes.map((o) => [o.input.name, o]));
    expect(byName.get('tenant-a')!.written).toBe(true);
    expect(byName.get('tenant-c')!.written).toBe(true);
    expect(byName.get('tenant-b')!.failure?.code).toBe('ERR_BACKEND_SERVER');
    for (const o of outcomes) {
      const others = outcomes.filter((x) => x !== o).map((x) => x.fqdn);
      for (const text of [
        o.failure?.message ?? '',
        ...w.log.lines.filter((l) => l.name === o.input.name).map((l) => JSON.stringify(l)),
      ])
        for (const other of others) expect(text).not.toContain(other);
    }
  });
});

describe('owner names too long for their marker', () => {
  const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(40)}`;

  it('regression: an owner name whose marker would exceed 253 octets fails that alias alone, with what to do', async () => {
    const { outcomes } = await syncAliases(
      [
        alias('long', { name: long, addressFamilies: ['IPv4'] }),
        alias('fine', { name: 'fine', addressFamilies: ['IPv4'] }),
      ],
      w.deps(),
    );
    const byName = new Map(outcomes.map((o) => [o.input.name, o]));
    expect(byName.get('long')!.failure).toMatchObject({ code: 'ERR_INVALID_NAME', retryable: false });
    expect(byName.get('long')!.failure!.message).toContain('use a shorter spec.name');
    expect(byName.get('fine')!.written).toBe(true);
  });

  it('regression: deleting such an alias has nothing to do and does not hang', async () => {
    const { outcomes } = await syncAliases([alias('long', { name: long }, { deleting: true })], w.deps());
    expect(outcomes[0]!.failure).toBeUndefined();
    expect(outcomes[0]!.verdict).toMatchObject({ kind: 'noop' });
  });
});
