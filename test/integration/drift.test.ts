import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApexAliasSpecInput } from '../../src/api/schema.ts';
import type { TestAuthServer } from '../harness/authserver.ts';
import type { BindServer } from '../harness/bind.ts';
import { startController, waitFor } from '../harness/controller.ts';
import type { ControllerProcess } from '../harness/controller.ts';
import {
  aliasCondition,
  aliasEventReasons,
  applyAlias,
  startKubeAndBindSecondaries,
  writeControllerConfig,
  writeDebugLogs,
} from '../harness/controller-env.ts';
import type { KubeCluster } from '../harness/kube.ts';

const ZONE = 'example.test';

/**
 * Behaviour rule 13 against real servers: a BIND primary, a BIND secondary fed by NOTIFY/IXFR, and a second
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

  const apply = (name: string, spec: Partial<ApexAliasSpecInput>): Promise<void> =>
    applyAlias(kube, name, { zone: ZONE, name, target: 'lb.demo.test', addressFamilies: ['IPv4'], ...spec });
  const inSync = (name: string) => aliasCondition(kube, name, 'InSync');
  const metric = async (pattern: RegExp): Promise<string[]> => {
    const text = await (await fetch(`http://127.0.0.1:${await controller.port()}/metrics`)).text();
    return text.split('\n').filter((l) => pattern.test(l));
  };

  beforeAll(async () => {
    ({ kube, primary, fresh, stale, upstream } = await startKubeAndBindSecondaries(ZONE));
    upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 2);
    dir = await mkdtemp(join(tmpdir(), 'apexalias-drift-'));
    const config = await writeControllerConfig(dir, {
      ownerId: 'drift',
      upstream,
      refresh: { minSeconds: 1, maxSeconds: 60, jitter: 0.1 },
      server: primary,
      zones: [ZONE],
      nameservers: [primary, fresh, stale],
    });
    controller = startController({
      config,
      kubeconfig: kube.kubeconfig,
      identity: 'drift',
      extra: ['--no-leader-elect'],
    });
    await controller.port();
  }, 120_000);

  afterAll(async () => {
    await writeDebugLogs(controller);
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
    await waitFor('a DriftRepaired Event', async () =>
      (await aliasEventReasons(kube, 'edited')).includes('DriftRepaired') ? true : undefined,
    );
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
