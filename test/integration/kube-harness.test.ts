/**
 * Proves the Kubernetes test harness against the real etcd + kube-apiserver: every controller test
 * trusts these pieces, so each is checked with an independent client (kubectl, client-node).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { CustomObjectsApi, PatchStrategy, VersionApi, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { GROUP, PLURAL, VERSION } from '../../src/api/schema.ts';
import { manifest } from '../fixtures/apexalias-cases.ts';
import type { KubeCluster } from '../harness/kube.ts';
import { startKube } from '../harness/kube.ts';
import { waitFor } from '../harness/poll.ts';

const CRD_NAME = `${PLURAL}.${GROUP}`;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let cluster: KubeCluster;

async function must(args: string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, { input });
  expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

async function createAlias(name: string, spec: Record<string, unknown>): Promise<void> {
  await must(['create', '-f', '-'], JSON.stringify(manifest(spec, name)));
}

beforeAll(async () => {
  cluster = await startKube();
  console.log(`kube cluster (etcd + kube-apiserver + CRDs) started in ${cluster.startupMs} ms`);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('kube harness', () => {
  it('serves kube-apiserver v1.37.2, to client-node and to kubectl', async () => {
    const version = await cluster.kubeConfig().makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe('v1.37.2');
    expect(version.major).toBe('1');
    expect(version.minor).toBe('37');
    const kubectl = JSON.parse(await must(['version', '-o', 'json'])) as {
      serverVersion: { gitVersion: string };
    };
    expect(kubectl.serverVersion.gitVersion).toBe('v1.37.2');
  });

  it('has the ApexAlias CRD established, with its names accepted', async () => {
    const crd = JSON.parse(await must(['get', 'crd', CRD_NAME, '-o', 'json'])) as {
      status: { conditions: { type: string; status: string }[]; acceptedNames: { shortNames: string[] } };
    };
    const condition = (type: string): string | undefined =>
      crd.status.conditions.find((c) => c.type === type)?.status;
    expect(condition('Established')).toBe('True');
    expect(condition('NamesAccepted')).toBe('True');
    expect(crd.status.acceptedNames.shortNames).toEqual(['apex']);
  });

  it('shows TARGET, ADDRESSES, TTL, READY and AGE in `kubectl get apex`', async () => {
    await createAlias('columns', { zone: 'example.com', target: 'lb.demo.test' });
    const status = {
      status: {
        addressesSummary: '192.0.2.1,2001:db8::1',
        ttl: 60,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Published',
            message: 'records published',
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          },
        ],
      },
    };
    await must([
      'patch',
      'apex',
      'columns',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(status),
    ]);

    const out = await must(['get', 'apex', 'columns']);
    const [header, row] = out.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'TARGET', 'ADDRESSES', 'TTL', 'READY', 'AGE']);
    const cells = row?.split(/\s+/) ?? [];
    expect(cells.slice(0, 5)).toEqual(['columns', 'lb.demo.test', '192.0.2.1,2001:db8::1', '60', 'True']);
    expect(cells[5]).toMatch(/^\d+s$/);

    const wide = (await must(['get', 'apex', 'columns', '-o', 'wide'])).trim().split('\n');
    // Priority-1 columns keep their place in the CRD's list, which ends with AGE.
    expect(wide[0]?.split(/\s+/)).toEqual([
      'NAME',
      'TARGET',
      'ADDRESSES',
      'TTL',
      'READY',
      'ZONE',
      'REASON',
      'AGE',
    ]);
    expect(wide[1]?.split(/\s+/).slice(5, 7)).toEqual(['example.com', 'Published']);
  });

  it('documents fields in `kubectl explain`', async () => {
    // The apiserver publishes a new CRD's OpenAPI a moment after it is established.
    const out = await waitFor('the condition', async () => {
      const r = await cluster.kubectl(['explain', 'apexalias.spec.ttl.min']);
      return r.code === 0 ? r.stdout : undefined;
    });
    expect(out).toContain('GROUP:      dns.apexalias.io');
    expect(out).toContain('FIELD: min <integer>');
    expect(out.replace(/\s+/g, ' ')).toContain('Lowest TTL, in seconds, ever published.');
  });

  it('has a status subresource: a status patch does not bump metadata.generation', async () => {
    const api = cluster.kubeConfig().makeApiClient(CustomObjectsApi);
    const ref = { group: GROUP, version: VERSION, plural: PLURAL, namespace: 'default', name: 'status-sub' };
    const created = (await api.createNamespacedCustomObject({
      ...ref,
      body: manifest({ zone: 'example.com', target: 'lb.demo.test' }, ref.name),
    })) as { metadata: { generation: number } };
    expect(created.metadata.generation).toBe(1);

    const patched = (await api.patchNamespacedCustomObjectStatus(
      // The spec part is ignored by the status subresource.
      { ...ref, body: { spec: { target: 'other.demo.test' }, status: { ttl: 42, observedGeneration: 1 } } },
      mergePatch,
    )) as { metadata: { generation: number }; spec: { target: string }; status: { ttl: number } };
    expect(patched.metadata.generation).toBe(1);
    expect(patched.status.ttl).toBe(42);
    expect(patched.spec.target).toBe('lb.demo.test');

    const specPatched = (await api.patchNamespacedCustomObject(
      { ...ref, body: { spec: { target: 'other.demo.test' }, status: { ttl: 1 } } },
      mergePatch,
    )) as { metadata: { generation: number }; spec: { target: string }; status: { ttl: number } };
    expect(specPatched.metadata.generation).toBe(2);
    expect(specPatched.spec.target).toBe('other.demo.test');
    expect(specPatched.status.ttl).toBe(42);
  });

  it('gives a ServiceAccount token kubeconfig that RBAC governs', async () => {
    const kubeconfig = await cluster.serviceAccountKubeconfig('apex-rbac', 'reader');
    expect(await cluster.serviceAccountKubeconfig('apex-rbac', 'reader')).toBe(kubeconfig);

    const denied = await cluster.kubectl(['get', 'apex', '-n', 'apex-rbac'], { kubeconfig });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('system:serviceaccount:apex-rbac:reader');
    expect(denied.stderr).toContain('forbidden');

    await must([
      'create',
      'role',
      'apex-reader',
      '-n',
      'apex-rbac',
      '--verb=get,list',
      `--resource=${PLURAL}`,
    ]);
    await must([
      'create',
      'rolebinding',
      'apex-reader',
      '-n',
      'apex-rbac',
      '--role=apex-reader',
      '--serviceaccount=apex-rbac:reader',
    ]);
    const allowed = await cluster.kubectl(['get', 'apex', '-n', 'apex-rbac'], { kubeconfig });
    expect(allowed.code, allowed.stderr).toBe(0);
    const secrets = await cluster.kubectl(['get', 'secrets', '-n', 'apex-rbac'], { kubeconfig });
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toContain('forbidden');
  });

  it('restarts kube-apiserver on the same port with the same etcd', async () => {
    await createAlias('survives-restart', { zone: 'example.com', target: 'lb.demo.test' });
    const started = performance.now();
    await cluster.restartApiServer();
    console.log(`kube-apiserver restarted in ${Math.round(performance.now() - started)} ms`);
    const got = JSON.parse(await must(['get', 'apex', 'survives-restart', '-o', 'json'])) as {
      spec: { target: string };
    };
    expect(got.spec.target).toBe('lb.demo.test');
  });

  it('fails with a clear message, instead of skipping, when a binary is missing', async () => {
    const empty = await fs.mkdtemp(path.join(os.tmpdir(), 'apexalias-no-bin-'));
    const saved = process.env.APEXALIAS_TOOLS_BIN;
    process.env.APEXALIAS_TOOLS_BIN = empty;
    try {
      await expect(startKube()).rejects.toThrow(/"etcd" was not found .*tools\/build\.sh/);
    } finally {
      if (saved === undefined) delete process.env.APEXALIAS_TOOLS_BIN;
      else process.env.APEXALIAS_TOOLS_BIN = saved;
      await fs.rm(empty, { recursive: true, force: true });
    }
  });
});
