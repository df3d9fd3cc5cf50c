import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApexAlias } from '../../../src/api/schema.ts';
import { OwnershipSweep } from '../../../src/controller/sweep.ts';
import { syncAliases } from '../../../src/engine/sync.ts';
import { markerValue, retainedMarkerValue } from '../../../src/plan/ownership.ts';
import { alias, engineWorld, OWNER_ID, ZONE } from '../../harness/engine-world.ts';
import type { EngineWorld } from '../../harness/engine-world.ts';

let w: EngineWorld;
beforeEach(async () => {
  w = await engineWorld();
  w.targets.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 60);
});
afterEach(() => w.close());

const object = (name: string, ownerName = name): ApexAlias =>
  ({
    apiVersion: 'dns.apexalias.io/v1alpha1',
    kind: 'ApexAlias',
    metadata: { name, namespace: 'default' },
    spec: { zone: ZONE, name: ownerName, target: 'lb.demo.test' },
  }) as ApexAlias;

describe('the ownership sweep (scale: nothing is orphaned for good)', () => {
  it('removes the records of an alias that no longer exists, and only those', async () => {
    for (const n of ['live', 'gone', 'moved', 'kept'])
      await syncAliases([alias(n, { name: n, addressFamilies: ['IPv4'] })], w.deps());
    await w.handRemove(`_apexalias.kept.${ZONE}`, 'TXT');
    await w.handAdd([
      `_apexalias.kept.${ZONE}. 300 IN TXT "${retainedMarkerValue(OWNER_ID, 'default/kept')}"`,
    ]);
    await w.handAdd([
      `foreign.${ZONE}. 300 IN A 203.0.113.1`,
      `_apexalias.foreign.${ZONE}. 300 IN TXT "${markerValue('someone-else', 'default/foreign')}"`,
    ]);
    // "moved" still exists, but now claims another name; "gone" exists nowhere.
    const objects = new Map([
      ['default/live', object('live')],
      ['default/moved', object('moved', 'elsewhere')],
    ]);
    const asked: string[] = [];
    const sweep = new OwnershipSweep({
      ownerId: OWNER_ID,
      backends: () => [{ backend: w.backend, zones: [ZONE] }],
      source: { get: (key) => objects.get(key) },
      client: {
        get: async (namespace, name) => {
          asked.push(`${namespace}/${name}`);
          return objects.get(`${namespace}/${name}`);
        },
      },
      logger: w.log.logger,
    });
    expect(await sweep.sweep()).toBe(2);
    expect(asked.sort()).toEqual(['default/gone', 'default/moved']);
    expect(await w.served(`gone.${ZONE}`)).toEqual([]);
    expect(await w.served(`_apexalias.gone.${ZONE}`, 'TXT')).toEqual([]);
    expect(await w.served(`moved.${ZONE}`)).toEqual([]);
    expect(await w.served(`live.${ZONE}`)).toEqual(['192.0.2.1']);
    expect(await w.served(`kept.${ZONE}`)).toEqual(['192.0.2.1']);
    expect(await w.served(`foreign.${ZONE}`)).toEqual(['203.0.113.1']);
    expect(await sweep.sweep()).toBe(0);
  });

  it('leaves a marker alone when the API server has the alias the cache does not yet', async () => {
    await syncAliases([alias('fresh', { name: 'fresh', addressFamilies: ['IPv4'] })], w.deps());
    const sweep = new OwnershipSweep({
      ownerId: OWNER_ID,
      backends: () => [{ backend: w.backend, zones: [ZONE] }],
      source: { get: () => undefined },
      client: { get: async () => object('fresh') },
      logger: w.log.logger,
    });
    expect(await sweep.sweep()).toBe(0);
    expect(await w.served(`fresh.${ZONE}`)).toEqual(['192.0.2.1']);
  });
});
