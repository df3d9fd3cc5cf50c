import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestAuthServer } from '../harness/authserver.ts';
import type { BindServer } from '../harness/bind.ts';
import { startController, waitFor } from '../harness/controller.ts';
import type { ControllerProcess } from '../harness/controller.ts';
import { applyAlias, startKubeAndBind, writeControllerConfig } from '../harness/controller-env.ts';
import type { KubeCluster } from '../harness/kube.ts';

const ZONE = 'example.test';
const LEASE_SECONDS = 4;

describe('two controller replicas with leader election', () => {
  let kube: KubeCluster;
  let bind: BindServer;
  let upstream: TestAuthServer;
  let dir: string;
  let replicas: ControllerProcess[] = [];

  const leading = (c: ControllerProcess): boolean =>
    c.logs().some((l) => l.message === 'leading: reconciling');
  const served = async (name: string): Promise<string> => (await bind.dig(name, 'A')).answers.sort().join();
  const apply = (name: string, target: string): Promise<void> =>
    applyAlias(kube, name, { zone: ZONE, name, target, addressFamilies: ['IPv4'] });

  beforeAll(async () => {
    ({ kube, bind, upstream } = await startKubeAndBind(ZONE));
    upstream.setAddresses('a.demo.test', 'A', ['192.0.2.1'], 60);
    upstream.setAddresses('b.demo.test', 'A', ['192.0.2.2'], 60);
    dir = await mkdtemp(join(tmpdir(), 'apexalias-leader-'));
    const config = await writeControllerConfig(dir, { ownerId: 'ha', upstream, server: bind, zones: [ZONE] });
    const lease = [
      '--lease-namespace',
      'default',
      '--lease-duration',
      String(LEASE_SECONDS),
      '--renew-deadline',
      '3',
      '--retry-period',
      '1',
    ];
    replicas = ['replica-a', 'replica-b'].map((identity) =>
      startController({
        config,
        kubeconfig: kube.kubeconfig,
        identity,
        extra: lease,
      }),
    );
    await Promise.all(replicas.map((r) => r.port()));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await Promise.all([kube?.stop(), bind?.stop(), upstream?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('exactly one replica leads, and only it writes: one change is one UPDATE', async () => {
    const leader = await waitFor('a leader', async () => replicas.find(leading));
    expect(replicas.filter(leading)).toEqual([leader]);
    const before = await bind.updateCount();
    await apply('ha', 'a.demo.test');
    await waitFor('records written', async () =>
      (await served(`ha.${ZONE}`)) === '192.0.2.1' ? true : undefined,
    );
    // Both replicas saw the object; the standby must not have written anything.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await bind.updateCount()) - before).toBe(1);
  });

  it('killing the leader lets the standby take over within the lease duration, without doubled writes', async () => {
    const leader = replicas.find(leading)!;
    const standby = replicas.find((r) => r !== leader)!;
    const killedAt = Date.now();
    await leader.kill();
    await waitFor('the standby to lead', async () => (leading(standby) ? true : undefined), 30_000);
    const takeoverSeconds = (Date.now() - killedAt) / 1000;
    // The standby may only take over once the lease has expired, and must do so soon after.
    expect(takeoverSeconds).toBeGreaterThanOrEqual(LEASE_SECONDS - 1);
    expect(takeoverSeconds).toBeLessThan(LEASE_SECONDS + 6);
    process.stdout.write(
      `leader takeover after ${takeoverSeconds.toFixed(1)} s (lease ${LEASE_SECONDS} s)\n`,
    );

    const before = await bind.updateCount();
    await apply('ha', 'b.demo.test');
    await waitFor('records rewritten by the new leader', async () =>
      (await served(`ha.${ZONE}`)) === '192.0.2.2' ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect((await bind.updateCount()) - before).toBe(1);
  });

  it('SIGTERM releases the lease', async () => {
    const alive = (r: ControllerProcess): boolean => r.child.exitCode === null && r.child.signalCode === null;
    const leader = replicas.find((r) => leading(r) && alive(r))!;
    expect(await leader.stop()).toBe(0);
    const lease = await kube.kubectl(['get', 'lease', 'apexalias-leader', '-n', 'default', '-o', 'json']);
    const spec = (JSON.parse(lease.stdout) as { spec: { holderIdentity?: string } }).spec;
    expect(spec.holderIdentity ?? '').not.toBe(leader.identity);
  });
});
