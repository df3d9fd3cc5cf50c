/**
 * The controller's ApexAlias source against a real kube-apiserver: paginated LISTs, slimmed
 * cache objects, and a watch that resumes without relisting.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Watch } from '@kubernetes/client-node';

import { createLogger } from '../../src/observe/logger.ts';
import { ApexAliasClient, LIST_PAGE_SIZE } from '../../src/sources/kube-client.ts';
import { ApexAliasSource, BookmarkWatch } from '../../src/sources/kubernetes.ts';
import { manifest } from '../fixtures/apexalias-cases.ts';
import type { KubeCluster } from '../harness/kube.ts';
import { startKube } from '../harness/kube.ts';
import { waitFor } from '../harness/poll.ts';

const NAMESPACE = 'src';
const COUNT = 2 * LIST_PAGE_SIZE + 1;

let kube: KubeCluster;

/** `apiserver_request_total` for LISTs of apexaliases, summed over codes and scopes. */
async function apexAliasLists(): Promise<number> {
  const r = await kube.kubectl(['get', '--raw', '/metrics']);
  let total = 0;
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    if (!line.includes('resource="apexaliases"') || !line.includes('verb="LIST"')) continue;
    if (!line.includes('subresource=""')) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

beforeAll(async () => {
  kube = await startKube();
  await kube.kubectl(['create', 'namespace', NAMESPACE]);
  const items = Array.from({ length: COUNT }, (_, i) =>
    manifest({ zone: 'example.test', target: 'lb.demo.test' }, `a${i}`, NAMESPACE),
  );
  const r = await kube.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
  });
  expect(r.code, r.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await kube?.stop();
});

describe('the ApexAlias source against a real kube-apiserver', () => {
  const logger = createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) });

  it(`lists ${COUNT} objects in pages of ${LIST_PAGE_SIZE} (three LIST requests), as one consistent list`, async () => {
    const client = new ApexAliasClient(kube.kubeConfig(), 'test');
    const before = await apexAliasLists();
    const list = await client.list(NAMESPACE);
    expect(list.items).toHaveLength(COUNT);
    expect(new Set(list.items.map((a) => a.metadata.name)).size).toBe(COUNT);
    expect(list.metadata?.resourceVersion).toMatch(/^\d+$/);
    // The metrics lag the requests a little; three is the count, never more.
    const lists = await waitFor(
      'three LISTs counted',
      async () => {
        const n = (await apexAliasLists()) - before;
        return n >= 3 && n;
      },
      10_000,
    );
    expect(lists).toBe(3);
  });

  it('caches objects without managedFields or the last-applied annotation, and reports every key once', async () => {
    const keys = new Set<string>();
    const source = new ApexAliasSource({
      kubeConfig: kube.kubeConfig(),
      client: new ApexAliasClient(kube.kubeConfig(), 'test'),
      namespace: NAMESPACE,
      logger,
      onKey: (key) => keys.add(key),
    });
    await source.start();
    try {
      expect(keys.size).toBe(COUNT);
      const cached = source.get(`${NAMESPACE}/a0`);
      expect(cached?.spec.target).toBe('lb.demo.test');
      expect(cached?.metadata).not.toHaveProperty('managedFields');
      expect(cached?.metadata.annotations ?? {}).not.toHaveProperty(
        'kubectl.kubernetes.io/last-applied-configuration',
      );
      // A change arrives by the watch, slimmed as well.
      await kube.kubectl(['label', 'apexalias', 'a1', '-n', NAMESPACE, 'touched=yes']);
      await waitFor(
        'the label to arrive by the watch',
        () => source.get(`${NAMESPACE}/a1`)?.metadata.labels?.touched === 'yes',
        10_000,
      );
      expect(source.get(`${NAMESPACE}/a1`)?.metadata).not.toHaveProperty('managedFields');
    } finally {
      await source.stop();
    }
  });

  it('a delete made while the source was stopped is reported on the next start', async () => {
    const keys: string[] = [];
    const source = new ApexAliasSource({
      kubeConfig: kube.kubeConfig(),
      client: new ApexAliasClient(kube.kubeConfig(), 'test'),
      namespace: NAMESPACE,
      logger,
      onKey: (key) => keys.push(key),
    });
    await source.start();
    await source.stop();
    await kube.kubectl(['delete', 'apexalias', `a${COUNT - 1}`, '-n', NAMESPACE]);
    keys.length = 0;
    await source.start();
    try {
      expect(source.get(`${NAMESPACE}/a${COUNT - 1}`)).toBeUndefined();
      expect(keys).toContain(`${NAMESPACE}/a${COUNT - 1}`);
    } finally {
      await source.stop();
    }
  });

  it("the watch waits 3 min of silence before resuming (client-node's private inactivity timeout is still there to set)", () => {
    // Pins client-node's field: if an upgrade renames it, this fails instead of the setting
    // silently doing nothing (and quiet watches resuming every 30 s from a stale version).
    const plain = new Watch(kube.kubeConfig()) as unknown as Record<string, unknown>;
    expect(plain.requestTimeoutMs).toBe(30_000);
    const ours = new BookmarkWatch(kube.kubeConfig()) as unknown as Record<string, unknown>;
    expect(ours.requestTimeoutMs).toBe(180_000);
  });
});
