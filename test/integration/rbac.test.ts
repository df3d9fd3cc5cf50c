/**
 * The RBAC proof: the chart is installed into a real kube-apiserver, and the real controller runs
 * with nothing but the chart's ServiceAccount token, the chart's rendered configuration and the
 * chart's Deployment arguments. The core scenario passes (alias → records in BIND, Ready=True,
 * Events, leader Lease; delete → records gone), and `kubectl auth can-i` shows what the account
 * cannot do: read Secrets, delete CRDs, touch Leases outside the release namespace.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';

import type { TestAuthServer } from '../harness/authserver.ts';
import type { BindServer } from '../harness/bind.ts';
import { startController, waitFor } from '../harness/controller.ts';
import type { ControllerProcess } from '../harness/controller.ts';
import {
  aliasCondition,
  aliasEventReasons,
  applyAlias,
  startKubeAndBind,
} from '../harness/controller-env.ts';
import { CHART_DIR, mustHelm } from '../harness/helm.ts';
import type { KubeCluster } from '../harness/kube.ts';

const ZONE = 'example.test';
const RELEASE = 'apexalias';
const NS = 'apexalias-system';
const SA = 'apexalias';
const AS = `--as=system:serviceaccount:${NS}:${SA}`;
const IDENTITY = 'apexalias-6d5f8b7c9-x2x4q';
/** Where the chart mounts Secrets; the test puts the same files under its temp dir instead. */
const SECRET_MOUNT = '/etc/apexalias/secrets/';

describe('the chart’s ServiceAccount and RBAC run the controller, and nothing more', () => {
  let kube: KubeCluster;
  let bind: BindServer;
  let upstream: TestAuthServer;
  let dir: string;
  let controller: ControllerProcess;

  const must = async (args: string[], input?: string): Promise<string> => {
    const r = await kube.kubectl(args, { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}`);
    return r.stdout;
  };
  const served = async (name: string, type = 'A'): Promise<string[]> =>
    (await bind.dig(name, type)).answers.sort();
  /** `kubectl auth can-i … --as=<the chart's ServiceAccount>`: true for "yes". */
  const can = async (...args: string[]): Promise<boolean> => {
    const r = await kube.kubectl(['auth', 'can-i', ...args, AS]);
    if (r.code > 1) throw new Error(`kubectl auth can-i ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim() === 'yes';
  };

  beforeAll(async () => {
    ({ kube, bind, upstream } = await startKubeAndBind(ZONE));
    upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 30);
    upstream.setAddresses('lb.demo.test', 'AAAA', ['2001:db8::1'], 30);
    dir = await mkdtemp(join(tmpdir(), 'apexalias-rbac-'));
    const key = bind.keys[0]!;

    // The chart, as an operator installs it: credentials in an existing Secret, never in values.
    await must(['create', 'namespace', NS]);
    await must(['-n', NS, 'create', 'secret', 'generic', 'bind-tsig', `--from-literal=secret=${key.secret}`]);
    const values = YAML.stringify({
      config: {
        ownerId: 'rbac-proof',
        resolver: { servers: [`127.0.0.1:${upstream.endpoint.port}`], timeoutMs: 500, attempts: 2 },
        refresh: { minSeconds: 1, maxSeconds: 3600, jitter: 0.1 },
        backends: [
          {
            name: 'bind',
            type: 'rfc2136',
            server: `127.0.0.1:${bind.port}`,
            zones: [ZONE],
            existingSecret: 'bind-tsig',
            tsig: { keyName: key.name, algorithm: key.algorithm, secretFile: 'secret' },
          },
        ],
      },
    });
    // The harness applied the CRD with kubectl already (as a GitOps tool would): the chart leaves it alone.
    await mustHelm(
      ['install', RELEASE, CHART_DIR, '--namespace', NS, '--set', 'crds.enabled=false', '--values', '-'],
      {
        kubeconfig: kube.kubeconfig,
        input: values,
      },
    );

    // The configuration exactly as the chart rendered it, with the Secret "mounted" in the temp
    // dir: the same file under the same key name.
    const cm = JSON.parse(await must(['get', 'configmap', RELEASE, '-n', NS, '-o', 'json'])) as {
      data: Record<string, string>;
    };
    const configText = cm.data['config.yaml']!;
    expect(configText).toContain(`secretFile: ${SECRET_MOUNT}bind/secret`);
    await mkdir(join(dir, 'secrets', 'bind'), { recursive: true });
    await writeFile(join(dir, 'secrets', 'bind', 'secret'), key.secret, { mode: 0o600 });
    const config = join(dir, 'config.yaml');
    await writeFile(config, configText.replaceAll(SECRET_MOUNT, `${join(dir, 'secrets')}/`));

    // The Deployment's own arguments, with what the kubelet would substitute. The harness sets
    // config, logging, ports and identity itself (loopback, free ports).
    const deployment = JSON.parse(await must(['get', 'deployment', RELEASE, '-n', NS, '-o', 'json'])) as {
      spec: { template: { spec: { serviceAccountName: string; containers: Array<{ args: string[] }> } } };
    };
    expect(deployment.spec.template.spec.serviceAccountName).toBe(SA);
    const owned = /^--(config|log-format|log-level|health-port|metrics-port|identity)=/;
    const extra = deployment.spec.template.spec.containers[0]!.args.filter((a) => !owned.test(a)).map((a) =>
      a.replaceAll('$(POD_NAMESPACE)', NS).replaceAll('$(POD_NAME)', IDENTITY),
    );
    expect(extra).toContain(`--lease-namespace=${NS}`);

    // Only the ServiceAccount's token: no client certificate, no system:masters.
    const kubeconfig = await kube.serviceAccountKubeconfig(NS, SA);
    controller = startController({ config, kubeconfig, identity: IDENTITY, extra });
    await controller.port();
  }, 120_000);

  afterAll(async () => {
    const code = await controller?.stop();
    if (code !== undefined && code !== 0)
      console.error(JSON.stringify(controller.logs().slice(-20), null, 1));
    await Promise.all([kube?.stop(), bind?.stop(), upstream?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('takes the leader Lease in the release namespace', async () => {
    const holder = await waitFor('the Lease to name this replica', async () => {
      const r = await kube.kubectl(['get', 'lease', 'apexalias-leader', '-n', NS, '-o', 'json']);
      if (r.code !== 0) return undefined;
      const h = (JSON.parse(r.stdout) as { spec?: { holderIdentity?: string } }).spec?.holderIdentity;
      return h === IDENTITY ? h : undefined;
    });
    expect(holder).toBe(IDENTITY);
  });

  it('creating an alias writes its records into BIND and sets Ready=True; a target change records an Event', async () => {
    await applyAlias(kube, 'apex', { zone: ZONE, target: 'lb.demo.test' });
    await waitFor('A at the apex', async () =>
      (await served(ZONE)).join() === '192.0.2.1' ? true : undefined,
    );
    expect(await served(ZONE, 'AAAA')).toEqual(['2001:db8::1']);
    const ready = await waitFor('Ready=True', async () => {
      const c = await aliasCondition(kube, 'apex', 'Ready');
      return c?.status === 'True' ? c : undefined;
    });
    expect(ready.reason).toBe('Ready');
    await applyAlias(kube, 'apex', { zone: ZONE, target: 'lb.demo.test', addressFamilies: ['IPv4'] });
    const reasons = await waitFor('an Event about the alias', async () => {
      const mine = await aliasEventReasons(kube, 'apex');
      return mine.length > 0 ? mine : undefined;
    });
    expect(reasons).toContain('RecordsUpdated');
  });

  it('deleting the alias removes its records (the finalizer runs with these permissions)', async () => {
    const r = await kube.kubectl([
      'delete',
      'apexalias',
      'apex',
      '-n',
      'default',
      '--wait=true',
      '--timeout=60s',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(await served(ZONE)).toEqual([]);
    expect(await served(ZONE, 'AAAA')).toEqual([]);
    expect((await bind.dig(`_apexalias.${ZONE}`, 'TXT')).answers).toEqual([]);
  });

  it('never got a Forbidden answer while doing all that', () => {
    const forbidden = controller
      .logs()
      .filter((l) => /HTTP 403|forbidden/i.test(JSON.stringify(l)))
      .slice(0, 5);
    expect(forbidden).toEqual([]);
  });

  it('kubectl auth can-i: allowed exactly what the controller does', async () => {
    expect(await can('list', 'apexaliases.dns.apexalias.io', '--all-namespaces')).toBe(true);
    expect(await can('watch', 'apexaliases.dns.apexalias.io', '-n', 'default')).toBe(true);
    expect(await can('patch', 'apexaliases.dns.apexalias.io', '-n', 'default')).toBe(true);
    expect(await can('patch', 'apexaliases.dns.apexalias.io', '--subresource=status', '-n', 'default')).toBe(
      true,
    );
    expect(
      await can('update', 'apexaliases.dns.apexalias.io', '--subresource=finalizers', '-n', 'default'),
    ).toBe(true);
    expect(await can('create', 'events.events.k8s.io', '-n', 'default')).toBe(true);
    expect(await can('create', 'leases.coordination.k8s.io', '-n', NS)).toBe(true);
    expect(await can('update', 'leases.coordination.k8s.io/apexalias-leader', '-n', NS)).toBe(true);
  });

  it('kubectl auth can-i: cannot read Secrets, delete CRDs or touch other Leases', async () => {
    // Secrets: not in any namespace, not even its own Secret (the kubelet mounts that one).
    expect(await can('get', 'secrets', '--all-namespaces')).toBe(false);
    expect(await can('list', 'secrets', '--all-namespaces')).toBe(false);
    expect(await can('get', 'secrets/bind-tsig', '-n', NS)).toBe(false);
    expect(await can('list', 'secrets', '-n', 'default')).toBe(false);
    // CRDs.
    expect(await can('delete', 'customresourcedefinitions.apiextensions.k8s.io')).toBe(false);
    expect(await can('update', 'customresourcedefinitions.apiextensions.k8s.io')).toBe(false);
    // Leases: nothing outside the release namespace, and only its own Lease inside it.
    for (const verb of ['get', 'update', 'create', 'delete']) {
      expect(await can(verb, 'leases.coordination.k8s.io', '-n', 'kube-system'), verb).toBe(false);
    }
    expect(
      await can('update', 'leases.coordination.k8s.io/kube-controller-manager', '-n', 'kube-system'),
    ).toBe(false);
    expect(await can('update', 'leases.coordination.k8s.io/other-leader', '-n', NS)).toBe(false);
    expect(await can('delete', 'leases.coordination.k8s.io/apexalias-leader', '-n', NS)).toBe(false);
    // Its own resources beyond what it uses, and anything else.
    expect(await can('create', 'apexaliases.dns.apexalias.io', '-n', 'default')).toBe(false);
    expect(await can('delete', 'apexaliases.dns.apexalias.io', '-n', 'default')).toBe(false);
    expect(await can('create', 'events', '-n', 'default')).toBe(false);
    expect(await can('get', 'configmaps', '-n', NS)).toBe(false);
    expect(await can('*', '*', '--all-namespaces')).toBe(false);
  });

  it('the token itself is refused Secrets by the API server', async () => {
    const kubeconfig = await kube.serviceAccountKubeconfig(NS, SA);
    const r = await kube.kubectl(['get', 'secrets', '-n', NS], { kubeconfig });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Forbidden|forbidden/);
    expect(r.stderr).toContain(`system:serviceaccount:${NS}:${SA}`);
  });

  it('stops cleanly and releases the Lease', async () => {
    expect(await controller.stop()).toBe(0);
    const lease = JSON.parse(await must(['get', 'lease', 'apexalias-leader', '-n', NS, '-o', 'json'])) as {
      spec: { holderIdentity?: string };
    };
    expect(lease.spec.holderIdentity ?? '').toBe('');
  });
});
