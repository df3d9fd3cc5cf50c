import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestAuthServer } from '../harness/authserver.ts';
import { startBind } from '../harness/bind.ts';
import type { BindServer } from '../harness/bind.ts';
import { startController, waitFor } from '../harness/controller.ts';
import type { ControllerProcess } from '../harness/controller.ts';
import { startKube } from '../harness/kube.ts';
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
  const apply = async (name: string, target: string): Promise<void> => {
    const r = await kube.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'dns.apexalias.io/v1alpha1',
        kind: 'ApexAlias',
        metadata: { name, namespace: 'default' },
        spec: { zone: ZONE, name, target, addressFamilies: ['IPv4'] },
      }),
    });
    if (r.code !== 0) throw new Error(r.stderr);
  };

  beforeAll(async () => {
    [kube, bind, upstream] = await Promise.all([
      startKube(),
      startBind({ zones: [{ name: ZONE }] }),
      TestAuthServer.start(),
    ]);
    upstream.setAddresses('a.demo.test', 'A', ['192.0.2.1'], 60);
    upstream.setAddresses('b.demo.test', 'A', ['192.0.2.2'], 60);
    dir = await mkdtemp(join(tmpdir(), 'apexalias-leader-'));
    const key = bind.keys[0]!;
    await writeFile(join(dir, 'secret'), key.secret);
    await writeFile(
      join(dir, 'config.yaml'),
      `ownerId: ha
resolver: { servers: ["127.0.0.1:${upstream.endpoint.port}"], timeoutMs: 500 }
backends:
  - { name: bind, type: rfc2136, server: "127.0.0.1:${bind.port}", zones: [${ZONE}],
      tsig: { keyName: ${key.name}, algorithm: ${key.algorithm}, secretFile: secret } }
`,
    );
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
        config: join(dir, 'config.yaml'),
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
