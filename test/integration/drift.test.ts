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
import { freePort } from '../harness/ports.ts';

const ZONE = 'example.test';

/**
 * Rule 7 against real servers: a BIND primary, a BIND secondary fed by NOTIFY/IXFR, and a second
 * secondary that gets no NOTIFY (held stale by its one-hour SOA refresh).
 */
describe('zone drift and per-nameserver drift, controller mode', () => {
  let kube: KubeCluster;
  let primary: BindServer;
  let fresh: BindServer;
  let stale: BindServer;
  let upstream: TestAuthServer;
  let controller: ControllerProcess;
  let dir: string;

  const apply = async (name: string, spec: Record<string, unknown>): Promise<void> => {
    const r = await kube.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'dns.apexalias.io/v1alpha1',
        kind: 'ApexAlias',
        metadata: { name, namespace: 'default' },
        spec: { zone: ZONE, name, target: 'lb.demo.test', addressFamilies: ['IPv4'], ...spec },
      }),
    });
    if (r.code !== 0) throw new Error(r.stderr);
  };
  const inSync = async (
    name: string,
  ): Promise<{ status: string; reason: string; message: string } | undefined> => {
    const r = await kube.kubectl(['get', 'apexalias', name, '-o', 'json']);
    const s = JSON.parse(r.stdout) as {
      status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> };
    };
    return s.status?.conditions?.find((c) => c.type === 'InSync');
  };
  const metric = async (pattern: RegExp): Promise<string[]> => {
    const text = await (await fetch(`http://127.0.0.1:${await controller.port()}/metrics`)).text();
    return text.split('\n').filter((l) => pattern.test(l));
  };

  beforeAll(async () => {
    const [primaryPort, freshPort] = [await freePort(), await freePort()];
    primary = await startBind({
      zones: [{ name: ZONE }],
      port: primaryPort,
      alsoNotify: [{ host: '127.0.0.1', port: freshPort }],
    });
    const secondaryOf = { host: '127.0.0.1', port: primaryPort, zones: [ZONE] };
    [fresh, stale, kube, upstream] = await Promise.all([
      startBind({ zones: [], port: freshPort, secondaryOf }),
      startBind({ zones: [], secondaryOf }),
      startKube(),
      TestAuthServer.start(),
    ]);
    upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 2);
    dir = await mkdtemp(join(tmpdir(), 'apexalias-drift-'));
    const key = primary.keys[0]!;
    await writeFile(join(dir, 'secret'), key.secret);
    await writeFile(
      join(dir, 'config.yaml'),
      `ownerId: drift
resolver: { servers: ["127.0.0.1:${upstream.endpoint.port}"], timeoutMs: 500 }
refresh: { minSeconds: 1, maxSeconds: 60, jitter: 0.1 }
backends:
  - name: bind
    type: rfc2136
    server: "127.0.0.1:${primary.port}"
    zones: [${ZONE}]
    nameservers: ["127.0.0.1:${primary.port}", "127.0.0.1:${fresh.port}", "127.0.0.1:${stale.port}"]
    tsig: { keyName: ${key.name}, algorithm: ${key.algorithm}, secretFile: secret }
`,
    );
    controller = startController({
      config: join(dir, 'config.yaml'),
      kubeconfig: kube.kubeconfig,
      identity: 'drift',
      extra: ['--no-leader-elect'],
    });
    await controller.port();
  }, 120_000);

  afterAll(async () => {
    if (process.env.APEXALIAS_DEBUG_LOGS)
      await writeFile(
        process.env.APEXALIAS_DEBUG_LOGS,
        controller
          ?.logs()
          .map((l) => JSON.stringify(l))
          .join('\n') ?? '',
      );
    await controller?.stop();
    await Promise.all([kube?.stop(), primary?.stop(), fresh?.stop(), stale?.stop(), upstream?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a secondary that missed the NOTIFY shows up as exactly that nameserver drifting', async () => {
    await apply('lagging', {});
    await waitFor('the write reaches the NOTIFYed secondary', async () =>
      (await fresh.dig(`lagging.${ZONE}`, 'A')).answers.length ? true : undefined,
    );
    const c = await waitFor('InSync=False NameserverDrift', async () => {
      const cond = await inSync('lagging');
      return cond?.reason === 'NameserverDrift' ? cond : undefined;
    });
    expect(c.message).toContain(`127.0.0.1:${stale.port}`);
    expect(c.message).not.toContain(`127.0.0.1:${fresh.port}`);
    const series = await metric(/^apexalias_zone_drift_nameserver\{.*alias="lagging".*family="IPv4"/);
    const value = (port: number): string | undefined =>
      series
        .find((l) => l.includes(`nameserver="127.0.0.1:${port}"`))
        ?.split(' ')
        .at(-1);
    expect(value(stale.port)).toBe('1');
    expect(value(fresh.port)).toBe('0');
    expect(value(primary.port)).toBe('0');
  });

  it('a hand edit is detected and repaired (driftPolicy Correct)', async () => {
    await apply('edited', {});
    await waitFor('written', async () =>
      (await primary.dig(`edited.${ZONE}`, 'A')).answers.join() === '192.0.2.1' ? true : undefined,
    );
    await waitFor('first verification', async () =>
      (await inSync('edited'))?.reason === 'NameserverDrift' || (await inSync('edited'))?.status === 'True'
        ? true
        : undefined,
    );
    const nsupdate = await primary.nsupdate(
      `update delete edited.${ZONE}. A\nupdate add edited.${ZONE}. 60 IN A 203.0.113.66\n`,
    );
    expect(nsupdate.code).toBe(0);
    await waitFor('the repair', async () =>
      (await primary.dig(`edited.${ZONE}`, 'A')).answers.join() === '192.0.2.1' ? true : undefined,
    );
    // Events are recorded asynchronously, after the write.
    await waitFor('a DriftRepaired Event', async () => {
      const events = await kube.kubectl(['get', 'events.events.k8s.io', '-o', 'json']);
      const reasons = (
        JSON.parse(events.stdout) as { items: Array<{ reason: string; regarding: { name: string } }> }
      ).items
        .filter((e) => e.regarding.name === 'edited')
        .map((e) => e.reason);
      return reasons.includes('DriftRepaired') ? true : undefined;
    });
  });

  it('driftPolicy Report leaves the hand edit in place and reports it', async () => {
    await apply('reported', { driftPolicy: 'Report' });
    await waitFor('written', async () =>
      (await primary.dig(`reported.${ZONE}`, 'A')).answers.join() === '192.0.2.1' ? true : undefined,
    );
    await waitFor('status written', async () => ((await inSync('reported')) ? true : undefined));
    await primary.nsupdate(
      `update delete reported.${ZONE}. A\nupdate add reported.${ZONE}. 60 IN A 203.0.113.77\n`,
    );
    const c = await waitFor('InSync=False ZoneDrift', async () => {
      const cond = await inSync('reported');
      return cond?.reason === 'ZoneDrift' ? cond : undefined;
    });
    expect(c.status).toBe('False');
    // Several refreshes later (TTL 2 s), the zone is still as the hand edit left it.
    await new Promise((r) => setTimeout(r, 4000));
    expect((await primary.dig(`reported.${ZONE}`, 'A')).answers).toEqual(['203.0.113.77']);
    const drift = await metric(/^apexalias_zone_drift\{.*alias="reported".*family="IPv4"/);
    expect(drift.at(-1)?.split(' ').at(-1)).toBe('1');
  });
});
