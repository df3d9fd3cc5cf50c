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
  aliasStatus,
  applyAlias,
  startKubeAndBind,
  writeControllerConfig,
  writeDebugLogs,
} from '../harness/controller-env.ts';
import type { KubeCluster } from '../harness/kube.ts';

const ZONE = 'example.test';

describe('apexalias controller against a real kube-apiserver and BIND', () => {
  let kube: KubeCluster;
  let bind: BindServer;
  let upstream: TestAuthServer;
  let dir: string;
  let config: string;
  let controller: ControllerProcess;

  const apply = (name: string, spec: Partial<ApexAliasSpecInput>, namespace = 'default'): Promise<void> =>
    applyAlias(kube, name, { zone: ZONE, target: 'lb.demo.test', ...spec }, { namespace });
  const status = (name: string) => aliasStatus(kube, name);
  const condition = (name: string, type: string, namespace = 'default') =>
    aliasCondition(kube, name, type, namespace);
  const served = async (name: string, type = 'A'): Promise<string[]> =>
    (await bind.dig(name, type)).answers.sort();
  beforeAll(async () => {
    ({ kube, bind, upstream } = await startKubeAndBind(ZONE));
    upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 30);
    upstream.setAddresses('lb.demo.test', 'AAAA', ['2001:db8::1'], 30);
    upstream.setAddresses('other.demo.test', 'A', ['198.51.100.7'], 30);
    dir = await mkdtemp(join(tmpdir(), 'apexalias-ctl-'));
    config = await writeControllerConfig(dir, {
      ownerId: 'ctl',
      upstream,
      attempts: 2,
      refresh: { minSeconds: 1, maxSeconds: 3600, jitter: 0.1 },
      server: bind,
      zones: [ZONE],
      allow: [{ namespaces: ['default'], zones: [ZONE] }],
    });
    const ns = await kube.kubectl(['create', 'namespace', 'outsider']);
    if (ns.code !== 0) throw new Error(ns.stderr);
    controller = startController({
      config,
      kubeconfig: kube.kubeconfig,
      identity: 'solo',
      extra: ['--no-leader-elect'],
    });
    await controller.port();
  }, 120_000);

  afterAll(async () => {
    await writeDebugLogs(controller);
    await controller?.stop();
    await Promise.all([kube?.stop(), bind?.stop(), upstream?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creating an alias puts its records into BIND and sets Ready', async () => {
    await apply('apex', {});
    await waitFor('records at the apex', async () => (await served(ZONE)).join() === '192.0.2.1');
    expect(await served(ZONE, 'AAAA')).toEqual(['2001:db8::1']);
    const ready = await waitFor('Ready=True', async () => {
      const c = await condition('apex', 'Ready');
      return c?.status === 'True' ? c : undefined;
    });
    expect(ready.reason).toBe('Ready');
    const s = await status('apex');
    expect(s?.addresses).toEqual({ ipv4: ['192.0.2.1'], ipv6: ['2001:db8::1'] });
    const got = await kube.kubectl(['get', 'apex', 'apex']);
    expect(got.stdout).toMatch(/TARGET\s+ADDRESSES\s+TTL\s+READY\s+AGE/);
    expect(got.stdout).toContain('lb.demo.test');
  });

  it('regression: the flaky Ready test — a zone whose nameserver does not answer keeps its aliases Ready', async () => {
    // The zone's NS is ns1.example.test with glue 127.0.0.1, port 53, where nothing answers. The
    // controller checks the nameservers again 5 s after a write; that check used to report the
    // silence as NameserverDrift and turn Ready False for good.
    await apply('quiet-ns', { name: 'quiet-ns' });
    const inSync = await waitFor('the nameserver check after the write', async () => {
      const c = await condition('quiet-ns', 'InSync');
      return c?.reason === 'NameserverUnreachable' || c?.reason === 'NameserverDrift' ? c : undefined;
    });
    expect(inSync).toMatchObject({ status: 'Unknown', reason: 'NameserverUnreachable' });
    expect(inSync.message).toContain('ns1.example.test');
    expect(await condition('quiet-ns', 'Ready')).toMatchObject({ status: 'True', reason: 'Ready' });
  });

  it('changing the target rewrites the records', async () => {
    await apply('moving', { name: 'moving' });
    await waitFor('first A', async () => (await served(`moving.${ZONE}`)).join() === '192.0.2.1');
    await apply('moving', { name: 'moving', target: 'other.demo.test', addressFamilies: ['IPv4'] });
    await waitFor('new A', async () => (await served(`moving.${ZONE}`)).join() === '198.51.100.7');
    await waitFor(
      'AAAA removed (family no longer requested)',
      async () => (await served(`moving.${ZONE}`, 'AAAA')).length === 0,
    );
    const s = await waitFor('status follows', async () => {
      const st = await status('moving');
      return st?.addresses?.ipv4?.[0] === '198.51.100.7' ? st : undefined;
    });
    expect(s.observedGeneration).toBe(2);
  });

  it('records an Event when a target change rewrites the records, and none for the routine first claim', async () => {
    await apply('evented', { name: 'evented' });
    await waitFor(
      'first claim written',
      async () => (await served(`evented.${ZONE}`)).join() === '192.0.2.1',
    );
    await waitFor('Ready', async () => (await condition('evented', 'Ready'))?.status === 'True');
    expect(await aliasEventReasons(kube, 'evented')).toEqual([]);
    await apply('evented', { name: 'evented', target: 'other.demo.test', addressFamilies: ['IPv4'] });
    const reasons = await waitFor(
      () =>
        `an Event for evented (${JSON.stringify(
          controller
            .logs()
            .filter((l) => String(l.message).includes('Event'))
            .slice(0, 2),
        )})`,
      async () => {
        const mine = await aliasEventReasons(kube, 'evented');
        return mine.length ? mine : undefined;
      },
    );
    expect(
      reasons,
      JSON.stringify(controller.logs().filter((l) => String(l.message).includes('Event'))),
    ).toContain('RecordsUpdated');
  });

  it('a namespace outside its allowance gets ZoneNotAllowed and no write', async () => {
    await apply('sneaky', { name: 'sneaky' }, 'outsider');
    const c = await waitFor('ZoneNotAllowed', async () => {
      const cond = await condition('sneaky', 'Ready', 'outsider');
      return cond?.reason === 'ZoneNotAllowed' ? cond : undefined;
    });
    expect(c.status).toBe('False');
    expect(await served(`sneaky.${ZONE}`)).toEqual([]);
  });

  it('two aliases for one name: the older keeps it, the newer gets Conflict', async () => {
    await apply('first', { name: 'shared' });
    await waitFor('first writes', async () => (await served(`shared.${ZONE}`)).length > 0);
    await apply('second', { name: 'shared', target: 'other.demo.test', addressFamilies: ['IPv4'] });
    const c = await waitFor('Conflict on the newer', async () => {
      const cond = await condition('second', 'Ready');
      return cond?.reason === 'Conflict' ? cond : undefined;
    });
    expect(c.status).toBe('False');
    expect(await served(`shared.${ZONE}`)).toEqual(['192.0.2.1']);
  });

  it('records that exist without a marker are taken over only with adopt: true', async () => {
    await bind.nsupdate(`update add legacy.${ZONE}. 300 IN A 203.0.113.9\n`);
    await apply('legacy', { name: 'legacy', addressFamilies: ['IPv4'] });
    await waitFor('NotOwned', async () => (await condition('legacy', 'Ready'))?.reason === 'NotOwned');
    expect(await served(`legacy.${ZONE}`)).toEqual(['203.0.113.9']);
    await apply('legacy', { name: 'legacy', addressFamilies: ['IPv4'], adopt: true });
    await waitFor(
      'adopted and rewritten',
      async () => (await served(`legacy.${ZONE}`)).join() === '192.0.2.1',
    );
    await waitFor(
      'Ready after adoption',
      async () => (await condition('legacy', 'Ready'))?.status === 'True',
    );
  });

  it('deleting an alias removes its records; Retain keeps them', async () => {
    await apply('doomed', { name: 'doomed' });
    await apply('kept', { name: 'kept', deletionPolicy: 'Retain' });
    await waitFor(
      'both written',
      async () => (await served(`doomed.${ZONE}`)).length > 0 && (await served(`kept.${ZONE}`)).length > 0,
    );
    expect(
      (await kube.kubectl(['delete', 'apexalias', 'doomed', 'kept', '--wait=true', '--timeout=60s'])).code,
    ).toBe(0);
    expect(await served(`doomed.${ZONE}`)).toEqual([]);
    expect((await bind.dig(`_apexalias.doomed.${ZONE}`, 'TXT')).answers).toEqual([]);
    expect(await served(`kept.${ZONE}`)).toEqual(['192.0.2.1']);
  });

  it('the newer alias takes over when the conflict holder goes away', async () => {
    await apply('holder', { name: 'contested' });
    await waitFor('holder writes', async () => (await served(`contested.${ZONE}`)).length > 0);
    await apply('waiter', { name: 'contested', target: 'other.demo.test', addressFamilies: ['IPv4'] });
    await waitFor(
      'Conflict on the waiter',
      async () => (await condition('waiter', 'Ready'))?.reason === 'Conflict',
    );
    expect((await kube.kubectl(['delete', 'apexalias', 'holder', '--wait=true', '--timeout=60s'])).code).toBe(
      0,
    );
    await waitFor(
      'the waiter takes the name',
      async () => (await served(`contested.${ZONE}`)).join() === '198.51.100.7',
    );
    await waitFor('the waiter Ready', async () => (await condition('waiter', 'Ready'))?.status === 'True');
  });

  it('an API server restart loses no change', async () => {
    await apply('restart-a', { name: 'restart-a' });
    await waitFor('restart-a written', async () => (await served(`restart-a.${ZONE}`)).length > 0);
    await kube.restartApiServer();
    await apply('restart-a', { name: 'restart-a', target: 'other.demo.test' });
    await apply('restart-b', { name: 'restart-b' });
    await waitFor(
      'restart-a rewritten',
      async () => (await served(`restart-a.${ZONE}`)).join() === '198.51.100.7',
    );
    await waitFor(
      'restart-b written',
      async () => (await served(`restart-b.${ZONE}`)).join() === '192.0.2.1',
    );
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    await apply('metered', { name: 'metered' });
    await waitFor('metered written', async () => (await served(`metered.${ZONE}`)).length > 0);
    const port = await controller.port();
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/apexalias_reconcile_total\{result="success"\} [1-9]/);
    expect(text).toMatch(/apexalias_update_messages_total\{backend="bind"\} [1-9]/);
  });
});
