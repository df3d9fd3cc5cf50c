import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApexAliasClient, PooledKubeConfig } from '../../src/sources/kube-client.ts';
import { mapLimit } from '../../src/util/concurrency.ts';
import { applyAlias } from '../harness/controller-env.ts';
import type { KubeCluster } from '../harness/kube.ts';
import { startKube } from '../harness/kube.ts';

describe('API connections against a real kube-apiserver', () => {
  let kube: KubeCluster;
  beforeAll(async () => {
    kube = await startKube();
  }, 120_000);
  afterAll(() => kube?.stop());

  it('regression: 300 status writes, 50 at a time, share a pool of at most 8 connections (client-node opened one per request)', async () => {
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        applyAlias(kube, `pooled-${i}`, { zone: 'example.test', target: 'lb.demo.test' }),
      ),
    );
    const kc = new PooledKubeConfig(8);
    kc.loadFromFile(kube.kubeconfig);
    const client = new ApexAliasClient(kc, 'pool-test');
    const writes = Array.from({ length: 300 }, (_, i) => i);
    await mapLimit(writes, 50, async (i) => {
      await client.patchStatus('default', `pooled-${i % 30}`, { observedGeneration: 1, ttl: 60 + i });
    });
    expect(kc.connectionsOpened).toBeGreaterThan(0);
    expect(kc.connectionsOpened).toBeLessThanOrEqual(8);
    const list = await client.list('default');
    expect(list.items.filter((a) => a.metadata.name.startsWith('pooled-')).length).toBe(30);
    expect(kc.connectionsOpened).toBeLessThanOrEqual(8);
  });
});
