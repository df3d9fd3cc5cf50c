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
  const until = <T>(what: string, check: () => Promise<T | undefined | false>): Promise<T> =>
    waitFor(what, async () => {
      const v = await check();
      return v === false ? undefined : (v as T | undefined);
    });

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
    await until('records at the apex', async () => (await served(ZONE)).join() === '192.0.2.1');
    expect(await served(ZONE, 'AAAA')).toEqual(['2001:db8::1']);
    const ready = await until('Ready=True', async () => {
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

  it('changing the target rewrites the records', async () => {
    await apply('apex', { target: 'other.demo.test', addressFamilies: ['IPv4'] });
    await until('new A at the apex', async () => (await served(ZONE)).join() === '198.51.100.7');
    await until(
      'AAAA removed (family no longer requested)',
      async () => (await served(ZONE, 'AAAA')).length === 0,
    );
    const s = await until('status follows', async () => {
      const st = await status('apex');
      return st?.addresses?.ipv4?.[0] === '198.51.100.7' ? st : undefined;
    });
    expect(s.observedGeneration).toBe(2);
  });

  it('records Events for writes', async () => {
    const reasons = await until(
      `an Event for apex (${JSON.stringify(
        controller
          .logs()
          .filter((l) => String(l.message).includes('Event'))
          .slice(0, 2),
      )})`,
      async () => {
        const mine = await aliasEventReasons(kube, 'apex');
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
    const c = await until('ZoneNotAllowed', async () => {
      const cond = await condition('sneaky', 'Ready', 'outsider');
      return cond?.reason === 'ZoneNotAllowed' ? cond : undefined;
    });
    expect(c.status).toBe('False');
    expect(await served(`sneaky.${ZONE}`)).toEqual([]);
  });

  it('two aliases for one name: the older keeps it, the newer gets Conflict', async () => {
    await apply('first', { name: 'shared' });
    await until('first writes', async () => (await served(`shared.${ZONE}`)).length > 0);
    await apply('second', { name: 'shared', target: 'other.demo.test', addressFamilies: ['IPv4'] });
    const c = await until('Conflict on the newer', async () => {
      const cond = await condition('second', 'Ready');
      return cond?.reason === 'Conflict' ? cond : undefined;
    });
    expect(c.status).toBe('False');
    expect(await served(`shared.${ZONE}`)).toEqual(['192.0.2.1']);
  });

  it('records that exist without a marker are taken over only with adopt: true', async () => {
    await bind.nsupdate(`update add legacy.${ZONE}. 300 IN A 203.0.113.9\n`);
    await apply('legacy', { name: 'legacy', addressFamilies: ['IPv4'] });
    await until('NotOwned', async () => (await condition('legacy', 'Ready'))?.reason === 'NotOwned');
    expect(await served(`legacy.${ZONE}`)).toEqual(['203.0.113.9']);
    await apply('legacy', { name: 'legacy', addressFamilies: ['IPv4'], adopt: true });
    await until('adopted and rewritten', async () => (await served(`legacy.${ZONE}`)).join() === '192.0.2.1');
    await until('Ready after adoption', async () => (await condition('legacy', 'Ready'))?.status === 'True');
  });

  it('deleting an alias removes its records; Retain keeps them', async () => {
    await apply('doomed', { name: 'doomed' });
    await apply('kept', { name: 'kept', deletionPolicy: 'Retain' });
    await until(
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

  it('the older alias takes over when the conflict holder goes away', async () => {
    expect((await kube.kubectl(['delete', 'apexalias', 'first', '--wait=true', '--timeout=60s'])).code).toBe(
      0,
    );
    await until(
      'second takes the name',
      async () => (await served(`shared.${ZONE}`)).join() === '198.51.100.7',
    );
    await until('second Ready', async () => (await condition('second', 'Ready'))?.status === 'True');
  });

  it('an API server restart loses no change', async () => {
    await apply('restart-a', { name: 'restart-a' });
    await until('restart-a written', async () => (await served(`restart-a.${ZONE}`)).length > 0);
    await kube.restartApiServer();
    await apply('restart-a', { name: 'restart-a', target: 'other.demo.test' });
    await apply('restart-b', { name: 'restart-b' });
    await until(
      'restart-a rewritten',
      async () => (await served(`restart-a.${ZONE}`)).join() === '198.51.100.7',
    );
    await until('restart-b written', async () => (await served(`restart-b.${ZONE}`)).join() === '192.0.2.1');
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    const port = await controller.port();
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/apexalias_reconcile_total\{result="success"\} [1-9]/);
    expect(text).toMatch(/apexalias_update_messages_total\{backend="bind"\} [1-9]/);
  });
});
