import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FINALIZER } from '../../../src/api/schema.ts';
import { BackendError } from '../../../src/backends/errors.ts';
import type { DnsBackend } from '../../../src/backends/types.ts';
import { markerValue, retainedMarkerValue } from '../../../src/plan/ownership.ts';
import { controllerWorld } from '../../harness/controller-world.ts';
import type { ControllerWorld } from '../../harness/controller-world.ts';
import { OWNER_ID, ZONE } from '../../harness/engine-world.ts';

let w: ControllerWorld;
const start = async (opts: Parameters<typeof controllerWorld>[0] = {}): Promise<void> => {
  w = await controllerWorld(opts);
  w.targets.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 60);
  w.targets.setAddresses('lb.demo.test', 'AAAA', ['2001:db8::1'], 60);
  w.targets.setAddresses('other.demo.test', 'A', ['198.51.100.7'], 60);
};
afterEach(() => w.stop());

const spec = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  zone: ZONE,
  target: 'lb.demo.test',
  ...over,
});

describe('Reconciler, without servers', () => {
  beforeEach(() => start());

  it('a new alias gets its finalizer, its records and Ready, for two API writes and no Event', async () => {
    w.api.apply('apex', spec());
    await w.settle();
    expect(await w.served(ZONE, 'A')).toEqual(['192.0.2.1']);
    expect(await w.served(ZONE, 'AAAA')).toEqual(['2001:db8::1']);
    expect(w.api.cache.get('default/apex')!.metadata.finalizers).toEqual([FINALIZER]);
    expect(w.condition('apex', 'Ready')).toMatchObject({ status: 'True', reason: 'Ready' });
    expect(w.api.cache.get('default/apex')!.status?.addresses).toEqual({
      ipv4: ['192.0.2.1'],
      ipv6: ['2001:db8::1'],
    });
    // A first claim is routine: one finalizer patch and one status patch, and no Event.
    expect(w.api.writes).toEqual({ finalizers: 1, status: 1, events: 0 });
  });

  it('scale: statuses go before the finalizers still queued, and no finalizer patch meets a conflict', async () => {
    await w.stop();
    await start({ deps: { apiConcurrency: 2 } });
    // The API server is slower than DNS: every write waits until the gate opens.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const order: string[] = [];
    const { patchStatus, setFinalizers } = w.api;
    w.api.patchStatus = async (...a) => (await gate, order.push('status'), patchStatus.apply(w.api, a));
    w.api.setFinalizers = async (...a) => (
      await gate,
      order.push('finalizer'),
      setFinalizers.apply(w.api, a)
    );
    const names = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
    for (const name of names) w.api.apply(name, spec({ name }));
    await w.queue.idle(); // the DNS work is done and every status is queued
    open();
    await w.settle();
    // Ready waits for one write per alias, not two: only the two finalizer patches already in
    // flight when the gate opened go before a status.
    expect(order.slice(0, 2)).toEqual(['finalizer', 'finalizer']);
    expect(order.indexOf('finalizer', 2)).toBeGreaterThan(order.lastIndexOf('status'));
    // The finalizer patches carry the resourceVersion the status patches returned: one each.
    expect(w.api.writes).toEqual({ finalizers: 6, status: 6, events: 0 });
    for (const name of names) {
      expect(w.api.cache.get(`default/${name}`)!.metadata.finalizers).toEqual([FINALIZER]);
      expect(w.condition(name, 'Ready')).toMatchObject({ status: 'True' });
    }
  });

  it('a finalizer someone else takes off is put back', async () => {
    w.api.apply('apex', spec());
    await w.settle();
    await w.api.setFinalizers(w.api.cache.get('default/apex')!, []);
    await w.settle();
    expect(w.api.cache.get('default/apex')!.metadata.finalizers).toEqual([FINALIZER]);
  });

  it('a target that moves rewrites the records and records a RecordsUpdated Event', async () => {
    w.api.apply('apex', spec({ addressFamilies: ['IPv4'] }));
    await w.settle();
    w.targets.setAddresses('lb.demo.test', 'A', ['192.0.2.9'], 60);
    await w.settle(61_000);
    expect(await w.served(ZONE, 'A')).toEqual(['192.0.2.9']);
    expect(w.eventReasons('apex')).toEqual(['RecordsUpdated']);
  });

  it('regression: an Event the API server fails is tried again, and one it keeps failing is dropped and counted', async () => {
    const dropped: string[] = [];
    await w.stop();
    await start({ deps: { onEventDropped: (reason) => dropped.push(reason) } });
    w.api.apply('apex', spec({ addressFamilies: ['IPv4'] }));
    await w.settle();
    w.api.failEvents = 2;
    w.targets.setAddresses('lb.demo.test', 'A', ['192.0.2.9'], 60);
    await w.settle(61_000);
    await w.settle(30_000);
    expect(w.eventReasons('apex')).toEqual(['RecordsUpdated']);
    expect(w.api.writes.events).toBe(3); // two failed tries, then the one that landed
    expect(dropped).toEqual([]);
    w.api.failEvents = 4;
    w.targets.setAddresses('lb.demo.test', 'A', ['192.0.2.10'], 60);
    await w.settle(61_000);
    await w.settle(30_000);
    expect(dropped).toEqual(['api_error']);
  });

  it('regression: aliases a backend failed while it was down are written within a second of it answering again', async () => {
    await w.stop();
    let down = true;
    const unreachable = (): never => {
      throw new BackendError('UNREACHABLE', 'ECONNREFUSED', 'the primary does not answer');
    };
    let backend: DnsBackend | undefined;
    await start({
      deps: {
        backendFor: () =>
          (backend ??= {
            name: 'local',
            type: 'zonefile',
            capabilities: () => w.backend.capabilities(),
            read: (zone, names, opts) => (down ? unreachable() : w.backend.read(zone, names, opts)),
            apply: (zone, changes, opts) => (down ? unreachable() : w.backend.apply(zone, changes, opts)),
            close: async () => {},
          }),
      },
    });
    w.api.apply('apex', spec({ addressFamilies: ['IPv4'] }));
    w.api.apply('other', spec({ name: 'other', addressFamilies: ['IPv4'] }));
    await w.settle(3_000);
    expect(await w.served(ZONE)).toEqual([]);
    expect(w.condition('apex', 'Synced')).toMatchObject({ status: 'False', reason: 'BackendUnreachable' });
    down = false;
    // The engine's own backoff would wait 5 s, then 10 s; the probe runs every second.
    await w.settle(1_250);
    expect(await w.served(ZONE)).toEqual(['192.0.2.1']);
    expect(await w.served(`other.${ZONE}`)).toEqual(['192.0.2.1']);
    expect(w.condition('apex', 'Ready')).toMatchObject({ status: 'True' });
  });

  it('scale: reconciling one alias costs the same with 10 or 10,000 aliases in the cache', async () => {
    const cost = async (others: number): Promise<Record<string, number>> => {
      const world = await controllerWorld();
      world.targets.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 60);
      const object = (name: string, createdAt: string, extra: Record<string, unknown> = {}) =>
        ({
          apiVersion: 'dns.apexalias.io/v1alpha1',
          kind: 'ApexAlias',
          metadata: { name, namespace: 'default', creationTimestamp: createdAt },
          spec: { zone: ZONE, name, target: 'lb.demo.test', ...extra },
        }) as never;
      // Put the others straight into the cache, as a LIST would, without reconciling them.
      for (let i = 0; i < others; i++) {
        world.api.objects.set(`default/other-${i}`, object(`other-${i}`, '2026-01-01T00:00:00Z'));
        world.reconciler.noteChanged(`default/other-${i}`);
      }
      world.api.objects.set(
        'default/one',
        object('one', '2026-01-02T00:00:00Z', { addressFamilies: ['IPv4'] }),
      );
      world.reconciler.noteChanged('default/one');
      const counts = { get: 0, list: 0, queries: 0, reads: 0 };
      const cache = world.api.cache;
      const { get, list } = cache;
      cache.get = (key) => (counts.get++, get(key));
      cache.list = () => (counts.list++, list());
      const read = world.backend.read.bind(world.backend);
      world.backend.read = (zone, names, opts) => ((counts.reads += names.length), read(zone, names, opts));
      const before = world.resolver.stats.queries;
      await world.reconciler.reconcile('default/one');
      counts.queries = world.resolver.stats.queries - before;
      await world.stop();
      return counts;
    };
    const small = await cost(10);
    const large = await cost(10_000);
    expect(large).toEqual(small);
    expect(small.list).toBe(0);
  });

  it('behaviour rule 5: a target that starts failing keeps the last records and turns Resolved False', async () => {
    w.api.apply('apex', spec());
    await w.settle();
    w.targets.setBehaviour('lb.demo.test', 'servfail');
    await w.settle(61_000);
    expect(await w.served(ZONE, 'A')).toEqual(['192.0.2.1']);
    expect(w.condition('apex', 'Resolved')).toMatchObject({ status: 'False', reason: 'Servfail' });
    expect(w.condition('apex', 'Ready')!.status).toBe('False');
  });

  it('behaviour rule 11: deleting removes the records and the marker, then lets the object go', async () => {
    w.api.apply('doomed', spec({ name: 'doomed' }));
    await w.settle();
    expect(await w.served(`doomed.${ZONE}`)).toEqual(['192.0.2.1']);
    w.api.delete('doomed');
    await w.settle();
    expect(await w.served(`doomed.${ZONE}`)).toEqual([]);
    expect(await w.served(`_apexalias.doomed.${ZONE}`, 'TXT')).toEqual([]);
    expect(w.api.cache.get('default/doomed')).toBeUndefined();
  });

  it('behaviour rule 11: deletionPolicy Retain leaves the records, marked retained; the same alias takes them back', async () => {
    w.api.apply('kept', spec({ name: 'kept', deletionPolicy: 'Retain' }));
    await w.settle();
    w.api.delete('kept');
    await w.settle();
    expect(w.api.cache.get('default/kept')).toBeUndefined();
    expect(await w.served(`kept.${ZONE}`)).toEqual(['192.0.2.1']);
    expect(await w.served(`_apexalias.kept.${ZONE}`, 'TXT')).toEqual([
      `"${retainedMarkerValue(OWNER_ID, 'default/kept')}"`,
    ]);
    w.api.apply('kept', spec({ name: 'kept' }));
    await w.settle();
    expect(await w.served(`_apexalias.kept.${ZONE}`, 'TXT')).toEqual([
      `"${markerValue(OWNER_ID, 'default/kept')}"`,
    ]);
    expect(w.condition('kept', 'Ready')).toMatchObject({ status: 'True' });
  });

  it('behaviour rule 10: the older alias keeps a name; when it goes, the newer takes over', async () => {
    w.api.apply('first', spec({ name: 'shared' }), { createdAt: '2026-01-01T00:00:00Z' });
    await w.settle();
    w.api.apply('second', spec({ name: 'shared', target: 'other.demo.test', addressFamilies: ['IPv4'] }), {
      namespace: 'team-b',
      createdAt: '2026-01-02T00:00:00Z',
    });
    await w.settle();
    expect(w.condition('second', 'Ready', 'team-b')).toMatchObject({ status: 'False', reason: 'Conflict' });
    expect(await w.served(`shared.${ZONE}`)).toEqual(['192.0.2.1']);
    w.api.delete('first');
    await w.settle();
    expect(await w.served(`shared.${ZONE}`)).toEqual(['198.51.100.7']);
    expect(w.condition('second', 'Ready', 'team-b')).toMatchObject({ status: 'True' });
  });

  it('behaviour rule 10: an older alias created later takes the name over from the newer holder', async () => {
    w.api.apply('young', spec({ name: 'late', target: 'other.demo.test', addressFamilies: ['IPv4'] }), {
      createdAt: '2026-01-05T00:00:00Z',
    });
    await w.settle();
    w.api.apply('old', spec({ name: 'late' }), { createdAt: '2026-01-01T00:00:00Z' });
    await w.settle();
    expect(await w.served(`_apexalias.late.${ZONE}`, 'TXT')).toEqual([
      `"${markerValue(OWNER_ID, 'default/old')}"`,
    ]);
    expect(await w.served(`late.${ZONE}`)).toEqual(['192.0.2.1']);
    expect(w.condition('young', 'Ready')).toMatchObject({ reason: 'Conflict' });
  });

  it('behaviour rule 13: a hand edit is repaired, and reported only under driftPolicy Report', async () => {
    w.api.apply('fixed', spec({ name: 'fixed', addressFamilies: ['IPv4'] }));
    w.api.apply('watched', spec({ name: 'watched', addressFamilies: ['IPv4'], driftPolicy: 'Report' }));
    await w.settle();
    for (const name of ['fixed', 'watched']) {
      await w.handRemove(`${name}.${ZONE}`, 'A');
      await w.handAdd([`${name}.${ZONE}. 60 IN A 203.0.113.66`]);
    }
    await w.settle(61_000);
    expect(await w.served(`fixed.${ZONE}`)).toEqual(['192.0.2.1']);
    expect(w.eventReasons('fixed')).toContain('DriftRepaired');
    expect(await w.served(`watched.${ZONE}`)).toEqual(['203.0.113.66']);
    expect(w.condition('watched', 'InSync')).toMatchObject({ status: 'False', reason: 'ZoneDrift' });
  });

  it('an invalid spec is reported in status and written nowhere', async () => {
    w.api.apply('broken', spec({ name: 'broken', ttl: { min: 600, max: 60 } }));
    await w.settle();
    expect(w.condition('broken', 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(await w.served(`broken.${ZONE}`)).toEqual([]);
  });
});

describe('Reconciler tenancy (behaviour rule 12), without servers', () => {
  beforeEach(() => start({ allow: [{ namespaces: ['team-a'], zones: [ZONE] }] }));

  it('a namespace outside its allowance gets ZoneNotAllowed and no write', async () => {
    w.api.apply('sneaky', spec({ name: 'sneaky' }), { namespace: 'outsider' });
    await w.settle();
    expect(w.condition('sneaky', 'Ready', 'outsider')).toMatchObject({
      status: 'False',
      reason: 'ZoneNotAllowed',
    });
    expect(await w.served(`sneaky.${ZONE}`)).toEqual([]);
  });

  it('an older alias outside its allowance does not block the allowed one (tenancy before age)', async () => {
    w.api.apply('squatter', spec({ name: 'www' }), {
      namespace: 'outsider',
      createdAt: '2020-01-01T00:00:00Z',
    });
    w.api.apply('owner', spec({ name: 'www' }), { namespace: 'team-a', createdAt: '2026-01-01T00:00:00Z' });
    await w.settle();
    expect(w.condition('owner', 'Ready', 'team-a')).toMatchObject({ status: 'True' });
    expect(await w.served(`_apexalias.www.${ZONE}`, 'TXT')).toEqual([
      `"${markerValue(OWNER_ID, 'team-a/owner')}"`,
    ]);
  });
});
