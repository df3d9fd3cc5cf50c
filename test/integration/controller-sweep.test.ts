import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestAuthServer } from '../harness/authserver.ts';
import type { BindServer } from '../harness/bind.ts';
import { startController } from '../harness/controller.ts';
import type { ControllerProcess } from '../harness/controller.ts';
import {
  applyAlias,
  startKubeAndBind,
  writeControllerConfig,
  writeDebugLogs,
} from '../harness/controller-env.ts';
import type { KubeCluster } from '../harness/kube.ts';
import { waitFor } from '../harness/poll.ts';

const ZONE = 'example.test';

describe('the ownership sweep against a real kube-apiserver and BIND', () => {
  let kube: KubeCluster;
  let bind: BindServer;
  let upstream: TestAuthServer;
  let dir: string;
  let config: string;
  let controller: ControllerProcess | undefined;
  const start = (name: string): ControllerProcess =>
    startController({
      config,
      kubeconfig: kube.kubeconfig,
      identity: name,
      extra: ['--no-leader-elect', '--sweep-interval', '2'],
    });

  beforeAll(async () => {
    ({ kube, bind, upstream } = await startKubeAndBind(ZONE));
    upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 30);
    dir = await mkdtemp(join(tmpdir(), 'apexalias-sweep-'));
    config = await writeControllerConfig(dir, { ownerId: 'sweeper', upstream, server: bind, zones: [ZONE] });
  }, 120_000);

  afterAll(async () => {
    await writeDebugLogs(controller);
    await controller?.stop();
    await Promise.all([kube?.stop(), bind?.stop(), upstream?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('records of an alias whose finalizer was removed by force while no controller ran are swept within the interval', async () => {
    controller = start('first');
    await controller.port();
    await applyAlias(kube, 'forced', {
      zone: ZONE,
      name: 'forced',
      target: 'lb.demo.test',
      addressFamilies: ['IPv4'],
    });
    await applyAlias(kube, 'stays', {
      zone: ZONE,
      name: 'stays',
      target: 'lb.demo.test',
      addressFamilies: ['IPv4'],
    });
    const served = async (name: string): Promise<string[]> =>
      (await bind.dig(`${name}.${ZONE}`, 'A')).answers;
    await waitFor(
      'both written',
      async () => (await served('forced')).length > 0 && (await served('stays')).length > 0,
    );
    await waitFor('the finalizer landed', async () => {
      const r = await kube.kubectl(['get', 'apexalias', 'forced', '-o', 'jsonpath={.metadata.finalizers}']);
      return r.stdout.includes('dns.apexalias.io/cleanup');
    });
    await controller.stop();
    // With no controller running, the finalizer is removed by hand and the object deleted.
    const patch = await kube.kubectl([
      'patch',
      'apexalias',
      'forced',
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    ]);
    expect(patch.code, patch.stderr).toBe(0);
    expect((await kube.kubectl(['delete', 'apexalias', 'forced', '--wait=true'])).code).toBe(0);
    expect(await served('forced')).toEqual(['192.0.2.1']);

    controller = start('second');
    await controller.port();
    await waitFor('the orphan swept', async () => (await served('forced')).length === 0, {
      timeoutMs: 20_000,
    });
    expect((await bind.dig(`_apexalias.forced.${ZONE}`, 'TXT')).answers).toEqual([]);
    expect(await served('stays')).toEqual(['192.0.2.1']);
    const port = await controller.port();
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/apexalias_orphans_removed_total 1\b/);
  });
});
