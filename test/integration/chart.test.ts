/**
 * The install artefacts, proven with real helm (tools/build.sh) and the real kube-apiserver:
 * charts/apexalias lints, renders with several value combinations into objects the API server
 * accepts (server-side dry run), installs, upgrades and uninstalls; deploy/ applies with
 * `kubectl apply -k`; the CRD copies, deploy/ and the Dockerfile stay what they claim to be.
 */
import { builtinModules } from 'node:module';
import fs from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';

import { validateApexAlias } from '../../src/api/index.ts';
import { validateConfig } from '../../src/config/index.ts';
import { chartConfigSchema } from '../../scripts/gen-chart.ts';
import { CRD_COPIES, outOfDate } from '../../scripts/sync-chart-crds.ts';
import type { KubeCluster } from '../harness/kube.ts';
import { startKube } from '../harness/kube.ts';
import { waitFor } from '../harness/controller.ts';
import { CHART_DIR, REPO_ROOT, helm, helmTemplate, mustHelm } from '../harness/helm.ts';
import { runCommand } from '../harness/process.ts';

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
};
type Rule = Record<string, string[] | undefined>;
interface Container {
  args: string[];
  env: Array<{ name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  securityContext: Record<string, unknown>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: Array<{ name: string; secret?: { secretName: string }; emptyDir?: object }>;
}
type Deployment = Obj & { spec: { replicas: number; template: { spec: PodSpec } } };

const NS = 'chart-test';

/** Value combinations; each must lint, render, validate and pass a server-side dry run. */
const COMBINATIONS: Record<string, string> = {
  defaults: '',
  'watchNamespace set': `
watchNamespace: team-a
labelSelector: apexalias.io/shard=a
`,
  'metrics, ServiceMonitor, PrometheusRule and dashboard on': `
metrics:
  service: { enabled: true }
  serviceMonitor: { enabled: true, interval: 15s, labels: { release: kube-prometheus-stack } }
  prometheusRule: { enabled: true, labels: { release: kube-prometheus-stack } }
dashboard: { enabled: true, namespace: monitoring }
`,
  'networkPolicy on': `
networkPolicy:
  enabled: true
  apiServerCIDRs: [10.96.0.1/32, 192.0.2.10/32]
  metricsFrom:
    - namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: monitoring } }
  dnsTo:
    - ipBlock: { cidr: 192.0.2.0/24 }
    - namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: kube-system } }
`,
  'rfc2136 backends with existingSecret': `
replicaCount: 3
image: { digest: "sha256:${'a'.repeat(64)}" }
leaderElection: { leaseName: dns-leader }
config:
  ownerId: prod-cluster
  resolver: { servers: ["192.0.2.1", "[2001:db8::1]:53"] }
  backends:
    - name: primary
      type: rfc2136
      server: 192.0.2.53:53
      zones: [example.com, example.org]
      existingSecret: apexalias-tsig
      tsig: { keyName: apexalias, algorithm: hmac-sha256, secretFile: secret }
    - name: bind-keyfile
      type: rfc2136
      server: ns1.example.net
      zones: [example.net]
      existingSecret: bind-key
      tsig: { keyFile: apexalias.key }
  allow:
    - { namespaces: [shop], zones: [shop.example.com] }
    - { namespaces: ["*"], zones: [example.org] }
`,
  'pod settings, common labels and a sidecar': `
commonLabels: { team: dns, cost-center: "42" }
deploymentStrategy: { type: RollingUpdate, rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }
revisionHistoryLimit: 2
dnsPolicy: None
dnsConfig: { nameservers: [192.0.2.53], searches: [svc.cluster.local], options: [{ name: ndots, value: "1" }] }
envFrom: [{ configMapRef: { name: apexalias-env } }]
extraContainers:
  - name: sidecar
    image: registry.example/sidecar:1
    args: [--quiet]
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      runAsNonRoot: true
      capabilities: { drop: [ALL] }
      seccompProfile: { type: RuntimeDefault }
config:
  backends:
    - name: primary
      type: rfc2136
      server: 192.0.2.53
      zones: [example.com]
      nameservers: ["192.0.2.53", "[2001:db8::53]:53"]
      existingSecret: apexalias-tsig
      tsig: { keyName: apexalias, secretFile: secret }
`,
  'ServiceMonitor and PrometheusRule with every option': `
metrics:
  serviceMonitor:
    enabled: true
    namespace: monitoring
    annotations: { owner: dns-team }
    targetLabels: [app.kubernetes.io/instance]
    relabelings: [{ targetLabel: cluster, replacement: eu-1 }]
    metricRelabelings: [{ sourceLabels: [__name__], regex: nodejs_gc_.*, action: drop }]
  prometheusRule:
    enabled: true
    jobSelector: job="aa-apexalias-metrics"
    disabled: { ApexAliasNameserverDrift: true, ApexAliasTargetNXDOMAIN: true }
`,
  'route53 backends with a credentials Secret and IRSA': `
serviceAccount:
  annotations: { eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/apexalias-dns" }
config:
  backends:
    - name: aws
      type: route53
      zones: [example.com]
      existingSecret: apexalias-aws
      credentialsFile: credentials
    - name: aws-private
      type: route53
      zones: [internal.example.com]
      privateZone: true
      hostedZoneIds: { internal.example.com: Z0123456789ABCDEFGHIJ }
`,
  'powerdns backend with existingSecret and networkPolicy': `
networkPolicy:
  enabled: true
  backendApiTo:
    - ipBlock: { cidr: 192.0.2.0/24 }
config:
  backends:
    - name: pdns
      type: powerdns
      url: http://pdns.dns.svc:8081
      zones: [example.com]
      existingSecret: apexalias-pdns
      apiKeyFile: api-key
    - name: pdns-tls
      type: powerdns
      url: https://pdns.example.net/proxy
      serverId: localhost
      zones: [example.org]
      existingSecret: apexalias-pdns-tls
      apiKeyFile: key
      timeoutMs: 20000
      filteredReadMaxNames: 100
      maxRequestBytes: 1000000
`,
  'one replica without leader election': `
replicaCount: 1
leaderElection: { enabled: false }
podAntiAffinity: none
config:
  backends:
    - { name: files, type: zonefile, zones: ["*"], directory: ./zones, nameservers: [ns1.example.com] }
`,
};

const parseAll = (text: string): Obj[] =>
  YAML.parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null && typeof o === 'object');
const byKind = (objs: Obj[], kind: string): Obj[] => objs.filter((o) => o.kind === kind);
const deploymentOf = (objs: Obj[]): Deployment => {
  const [d] = byKind(objs, 'Deployment');
  if (!d) throw new Error('no Deployment rendered');
  return d as Deployment;
};

/**
 * The kubectl commands of the chart README's "CRDs" section that hand an existing CRD to a
 * release, as argv lists, with the example release name and namespace replaced.
 */
function handOverCommands(readme: string, opts: { release: string; namespace: string }): string[][] {
  const section = readme.slice(readme.indexOf('## CRDs'));
  const block = /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('the chart README has no bash block in its CRDs section');
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => l.startsWith('kubectl '))
    .map((l) =>
      l
        .replace('meta.helm.sh/release-name=apexalias', `meta.helm.sh/release-name=${opts.release}`)
        .replace(
          'meta.helm.sh/release-namespace=apexalias-system',
          `meta.helm.sh/release-namespace=${opts.namespace}`,
        )
        .split(/\s+/)
        .slice(1),
    );
}

const rendered = new Map<string, Obj[]>();
const renderedText = new Map<string, string>();

async function render(name: string): Promise<Obj[]> {
  let objs = rendered.get(name);
  if (!objs) {
    const text = await helmTemplate(COMBINATIONS[name]!, { release: 'aa', namespace: NS });
    renderedText.set(name, text);
    objs = parseAll(text);
    rendered.set(name, objs);
  }
  return objs;
}

/** Asserts the securityContext the issue asks for (restricted Pod Security Standard and more). */
function expectHardened(d: Deployment): void {
  const pod = d.spec.template.spec;
  expect(pod.securityContext).toMatchObject({
    runAsNonRoot: true,
    runAsUser: 65532,
    seccompProfile: { type: 'RuntimeDefault' },
  });
  const c = pod.containers[0]!;
  expect(c.securityContext).toMatchObject({
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });
  expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
  expect(c.resources.limits).toMatchObject({ memory: expect.any(String) });
  expect(c.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 'health' });
  expect(c.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'health' });
}

describe('chart, deploy/ and Dockerfile files', () => {
  it('keeps byte-identical copies of crds/ in the chart and in deploy/, and deploy/ rendered from the chart', async () => {
    const source = (await fs.readdir(path.join(REPO_ROOT, 'crds'))).sort();
    expect(source.length).toBeGreaterThan(0);
    for (const dir of CRD_COPIES) {
      expect((await fs.readdir(dir)).sort(), dir).toEqual(source);
      for (const name of source) {
        const [a, b] = await Promise.all([
          fs.readFile(path.join(REPO_ROOT, 'crds', name)),
          fs.readFile(path.join(dir, name)),
        ]);
        expect(b.equals(a), `${path.relative(REPO_ROOT, dir)}/${name} differs from crds/${name}`).toBe(true);
      }
    }
    expect(await outOfDate(), 'run `npx node scripts/sync-chart-crds.ts`').toEqual([]);
  });

  it('helm lint --strict passes with the defaults and with every value combination', async () => {
    for (const [name, values] of Object.entries(COMBINATIONS)) {
      const r = await helm(['lint', '--strict', CHART_DIR, '--namespace', NS, '--values', '-'], {
        input: values,
      });
      expect(r.code, `${name}:\n${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('0 chart(s) failed');
    }
  });

  it('renders the controller configuration that the controller itself accepts', async () => {
    for (const name of Object.keys(COMBINATIONS)) {
      const objs = await render(name);
      const cm = byKind(objs, 'ConfigMap').find((o) => o.metadata.name === 'aa-apexalias') as
        (Obj & { data: Record<string, string> }) | undefined;
      expect(cm, name).toBeDefined();
      const result = validateConfig(YAML.parse(cm!.data['config.yaml']!));
      expect(result.ok ? [] : result.problems, name).toEqual([]);
    }
    const objs = await render('rfc2136 backends with existingSecret');
    const cm = byKind(objs, 'ConfigMap')[0] as Obj & { data: Record<string, string> };
    const config = YAML.parse(cm.data['config.yaml']!) as {
      backends: Array<Record<string, unknown> & { tsig: Record<string, string> }>;
      allow: unknown[];
    };
    // The chart-only key is gone; the key of each Secret became the path where it is mounted.
    expect(config.backends.map((b) => b.existingSecret)).toEqual([undefined, undefined]);
    expect(config.backends[0]!.tsig.secretFile).toBe('/etc/apexalias/secrets/primary/secret');
    expect(config.backends[1]!.tsig.keyFile).toBe('/etc/apexalias/secrets/bind-keyfile/apexalias.key');
    expect(config.allow).toHaveLength(2);
    const pod = deploymentOf(objs).spec.template.spec;
    const mounts = pod.containers[0]!.volumeMounts;
    for (const [backend, secret] of [
      ['primary', 'apexalias-tsig'],
      ['bind-keyfile', 'bind-key'],
    ] as const) {
      const mount = mounts.find((m) => m.mountPath === `/etc/apexalias/secrets/${backend}`);
      expect(mount?.readOnly, backend).toBe(true);
      expect(pod.volumes.find((v) => v.name === mount!.name)?.secret?.secretName).toBe(secret);
    }
    // No zonefile backend: no writable volume at all.
    expect(pod.volumes.some((v) => v.emptyDir)).toBe(false);
    expect(renderedText.get('rfc2136 backends with existingSecret')).not.toMatch(/kind: Secret\b/);
  });

  it('renders route53 backends: a credentials file from its Secret, or IRSA through the ServiceAccount', async () => {
    const name = 'route53 backends with a credentials Secret and IRSA';
    const objs = await render(name);
    const cm = byKind(objs, 'ConfigMap')[0] as Obj & { data: Record<string, string> };
    const config = YAML.parse(cm.data['config.yaml']!) as { backends: Array<Record<string, unknown>> };
    expect(config.backends).toEqual([
      {
        name: 'aws',
        type: 'route53',
        zones: ['example.com'],
        credentialsFile: '/etc/apexalias/secrets/aws/credentials',
      },
      {
        name: 'aws-private',
        type: 'route53',
        zones: ['internal.example.com'],
        privateZone: true,
        hostedZoneIds: { 'internal.example.com': 'Z0123456789ABCDEFGHIJ' },
      },
    ]);
    const pod = deploymentOf(objs).spec.template.spec;
    const mount = pod.containers[0]!.volumeMounts.find((m) => m.mountPath === '/etc/apexalias/secrets/aws');
    expect(mount?.readOnly).toBe(true);
    expect(pod.volumes.find((v) => v.name === mount!.name)?.secret?.secretName).toBe('apexalias-aws');
    expect(
      pod.containers[0]!.volumeMounts.some((m) => m.mountPath === '/etc/apexalias/secrets/aws-private'),
    ).toBe(false);
    const [sa] = byKind(objs, 'ServiceAccount') as Array<
      Obj & { metadata: { annotations?: Record<string, string> } }
    >;
    expect(sa!.metadata.annotations).toEqual({
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/apexalias-dns',
    });
    const r = await helm(['template', 'aa', CHART_DIR, '--values', '-'], {
      input: `config:
  backends:
    - { name: aws, type: route53, zones: [example.com], credentialsFile: credentials }`,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/credentialsFile "credentials" names a key of a Secret, so set existingSecret/);
    const bad = await helm(['template', 'aa', CHART_DIR, '--values', '-'], {
      input: `config:
  backends:
    - { name: aws, type: route53, zones: [example.com], secretAccessKey: c2VjcmV0 }`,
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/secretAccessKey|additional properties/i);
  });

  it('mounts the API key of a powerdns backend from its existingSecret and opens egress to its API port', async () => {
    const objs = await render('powerdns backend with existingSecret and networkPolicy');
    const cm = byKind(objs, 'ConfigMap')[0] as Obj & { data: Record<string, string> };
    const config = YAML.parse(cm.data['config.yaml']!) as { backends: Array<Record<string, unknown>> };
    expect(config.backends.map((b) => [b.existingSecret, b.apiKeyFile])).toEqual([
      [undefined, '/etc/apexalias/secrets/pdns/api-key'],
      [undefined, '/etc/apexalias/secrets/pdns-tls/key'],
    ]);
    const pod = deploymentOf(objs).spec.template.spec;
    for (const [backend, secret] of [
      ['pdns', 'apexalias-pdns'],
      ['pdns-tls', 'apexalias-pdns-tls'],
    ] as const) {
      const mount = pod.containers[0]!.volumeMounts.find(
        (m) => m.mountPath === `/etc/apexalias/secrets/${backend}`,
      );
      expect(mount?.readOnly, backend).toBe(true);
      expect(pod.volumes.find((v) => v.name === mount!.name)?.secret?.secretName).toBe(secret);
    }
    const [policy] = byKind(objs, 'NetworkPolicy') as Array<
      Obj & {
        spec: {
          egress: Array<{ ports: Array<{ port: number | string; protocol: string }>; to?: unknown[] }>;
        };
      }
    >;
    const api = policy!.spec.egress.find((e) => e.ports.some((p) => p.port === 8081));
    expect(api?.ports).toEqual([
      { port: 8081, protocol: 'TCP' },
      { port: 443, protocol: 'TCP' },
    ]);
    expect(api?.to).toEqual([{ ipBlock: { cidr: '192.0.2.0/24' } }]);
    expect(renderedText.get('powerdns backend with existingSecret and networkPolicy')).not.toMatch(
      /kind: Secret\b/,
    );
  });

  it('renders a hardened Deployment with leader election in the release namespace', async () => {
    for (const name of Object.keys(COMBINATIONS)) expectHardened(deploymentOf(await render(name)));
    const d = deploymentOf(await render('defaults'));
    expect(d.spec.replicas).toBe(2);
    const c = d.spec.template.spec.containers[0]!;
    expect(c.args).toEqual(
      expect.arrayContaining([
        '--config=/etc/apexalias/config/config.yaml',
        '--health-port=8081',
        '--metrics-port=8080',
        '--lease-namespace=$(POD_NAMESPACE)',
        '--identity=$(POD_NAME)',
      ]),
    );
    expect(c.args.some((a) => a.startsWith('--namespace='))).toBe(false);
    const fieldOf = (env: string): string | undefined =>
      c.env.find((e) => e.name === env)?.valueFrom?.fieldRef?.fieldPath;
    expect(fieldOf('POD_NAMESPACE')).toBe('metadata.namespace');
    expect(fieldOf('POD_NAME')).toBe('metadata.name');
    expect((d.spec.template.spec.containers[0] as unknown as { image: string }).image).toBe(
      'ghcr.io/apexalias/apexalias:0.1.0',
    );
    expect(byKind(await render('defaults'), 'PodDisruptionBudget')[0]).toMatchObject({
      spec: { minAvailable: 1 },
    });

    const scoped = deploymentOf(await render('watchNamespace set')).spec.template.spec.containers[0]!;
    expect(scoped.args).toContain('--namespace=team-a');
    const single = await render('one replica without leader election');
    expect(deploymentOf(single).spec.template.spec.containers[0]!.args).toContain('--no-leader-elect');
    expect(byKind(single, 'PodDisruptionBudget')).toEqual([]);
    expect(byKind(single, 'Role')).toEqual([]);
    // A relative zone-file directory lands on the writable emptyDir, not next to the read-only config.
    const files = YAML.parse(
      (byKind(single, 'ConfigMap')[0] as Obj & { data: Record<string, string> }).data['config.yaml']!,
    ) as { backends: Array<{ directory: string }> };
    expect(files.backends[0]!.directory).toBe('/var/lib/apexalias/zones');
    const singlePod = deploymentOf(single).spec.template.spec;
    expect(singlePod.containers[0]!.volumeMounts.find((m) => m.name === 'data')?.mountPath).toBe(
      '/var/lib/apexalias',
    );
    expect(singlePod.volumes.find((v) => v.name === 'data')?.emptyDir).toEqual({});
    const digest = deploymentOf(await render('rfc2136 backends with existingSecret')).spec.template.spec
      .containers[0] as unknown as { image: string };
    expect(digest.image).toBe(`ghcr.io/apexalias/apexalias@sha256:${'a'.repeat(64)}`);
  });

  it('grants least privilege: exactly the rules the controller needs, no wildcards, Leases only by name', async () => {
    for (const name of Object.keys(COMBINATIONS)) {
      for (const role of [
        ...byKind(await render(name), 'Role'),
        ...byKind(await render(name), 'ClusterRole'),
      ]) {
        for (const rule of (role as Obj & { rules: Rule[] }).rules) {
          for (const field of ['verbs', 'resources', 'apiGroups', 'resourceNames', 'nonResourceURLs']) {
            for (const v of rule[field] ?? [])
              expect(v, `${name}: ${role.metadata.name} ${field}`).not.toContain('*');
          }
          expect(rule.resources ?? [], `${name}: secrets`).not.toContain('secrets');
        }
      }
    }
    const objs = await render('defaults');
    const [cluster] = byKind(objs, 'ClusterRole') as Array<Obj & { rules: Rule[] }>;
    expect(cluster!.rules).toEqual([
      {
        apiGroups: ['dns.apexalias.io'],
        resources: ['apexaliases'],
        verbs: ['get', 'list', 'watch', 'patch', 'update'],
      },
      {
        apiGroups: ['dns.apexalias.io'],
        resources: ['apexaliases/status'],
        verbs: ['get', 'patch', 'update'],
      },
      { apiGroups: ['dns.apexalias.io'], resources: ['apexaliases/finalizers'], verbs: ['update'] },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    ]);
    const [lease] = byKind(objs, 'Role') as Array<Obj & { rules: Rule[] }>;
    expect(lease!.metadata.namespace).toBe(NS);
    expect(lease!.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['apexalias-leader'],
        verbs: ['get', 'update'],
      },
    ]);

    // watchNamespace: a Role in that namespace instead of the ClusterRole.
    const scoped = await render('watchNamespace set');
    expect(byKind(scoped, 'ClusterRole')).toEqual([]);
    expect(byKind(scoped, 'ClusterRoleBinding')).toEqual([]);
    const roles = byKind(scoped, 'Role').map((r) => `${r.metadata.namespace}/${r.metadata.name}`);
    expect(roles.sort()).toEqual([`${NS}/aa-apexalias-leader-election`, 'team-a/aa-apexalias']);
    const binding = byKind(scoped, 'RoleBinding').find((b) => b.metadata.namespace === 'team-a') as Obj & {
      subjects: unknown[];
    };
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'aa-apexalias', namespace: NS }]);
    const renamed = byKind(await render('rfc2136 backends with existingSecret'), 'Role')[0] as Obj & {
      rules: Rule[];
    };
    expect(renamed.rules[1]!.resourceNames).toEqual(['dns-leader']);
  });

  it('renders the monitoring objects only when switched on', async () => {
    const kinds = (objs: Obj[]): string[] => objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    const defaults = kinds(await render('defaults'));
    for (const k of [
      'Service/',
      'ServiceMonitor/',
      'PrometheusRule/',
      'NetworkPolicy/',
      'ConfigMap/aa-apexalias-dashboard',
    ])
      expect(
        defaults.some((d) => d.startsWith(k)),
        k,
      ).toBe(false);
    const on = await render('metrics, ServiceMonitor, PrometheusRule and dashboard on');
    expect(kinds(on)).toEqual(
      expect.arrayContaining([
        'Service/aa-apexalias-metrics',
        'ServiceMonitor/aa-apexalias',
        'PrometheusRule/aa-apexalias',
        'ConfigMap/aa-apexalias-dashboard',
      ]),
    );
    const dashboard = on.find((o) => o.metadata.name === 'aa-apexalias-dashboard') as Obj & {
      data: Record<string, string>;
    };
    expect(dashboard.metadata.labels?.grafana_dashboard).toBe('1');
    expect(dashboard.metadata.namespace).toBe('monitoring');
    expect(JSON.parse(dashboard.data['apexalias.json']!)).toMatchObject({ uid: 'apexalias' });
    const rule = byKind(on, 'PrometheusRule')[0] as Obj & { spec: { groups: Array<{ rules: unknown[] }> } };
    expect(rule.spec.groups[0]!.rules.length).toBeGreaterThan(0);
    const np = byKind(await render('networkPolicy on'), 'NetworkPolicy')[0] as Obj & {
      spec: { policyTypes: string[]; egress: Array<{ ports: Array<{ port: number | string }> }> };
    };
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.egress.flatMap((e) => e.ports.map((p) => p.port))).toEqual([53, 53, 443, 6443]);
  });

  it('renders the CRD from files/crds, kept on uninstall, unless switched off', async () => {
    const crdOf = (objs: Obj[]): Obj & { metadata: { annotations?: Record<string, string> } } =>
      byKind(objs, 'CustomResourceDefinition')[0] as Obj & {
        metadata: { annotations?: Record<string, string> };
      };
    const crd = crdOf(await render('defaults'));
    expect(crd.metadata.name).toBe('apexaliases.dns.apexalias.io');
    expect(crd.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect(crd.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
    // The same object as the generated crds/ file, apart from the chart's labels and annotation.
    const source = YAML.parse(
      await fs.readFile(path.join(REPO_ROOT, 'crds', 'dns.apexalias.io_apexaliases.yaml'), 'utf8'),
    ) as Obj;
    expect(crd.spec).toEqual(source.spec);
    expect(crd.metadata.labels).toMatchObject(source.metadata.labels ?? {});
    const noKeep = parseAll(await helmTemplate('crds: { keep: false }', { release: 'aa', namespace: NS }));
    expect(crdOf(noKeep).metadata.annotations?.['helm.sh/resource-policy']).toBeUndefined();
    const off = parseAll(await helmTemplate('crds: { enabled: false }', { release: 'aa', namespace: NS }));
    expect(byKind(off, 'CustomResourceDefinition')).toEqual([]);
    // Helm's crds/ folder (installed once, never upgraded) is not used.
    expect((await fs.readdir(CHART_DIR)).includes('crds')).toBe(false);
  });

  it('renders the pod settings, common labels and a sidecar', async () => {
    const objs = await render('pod settings, common labels and a sidecar');
    for (const o of objs)
      expect(o.metadata.labels, `${o.kind}/${o.metadata.name}`).toMatchObject({ team: 'dns' });
    const d = deploymentOf(objs) as Deployment & {
      spec: {
        revisionHistoryLimit: number;
        strategy: unknown;
        selector: { matchLabels: Record<string, string> };
        template: { metadata: { labels: Record<string, string> } };
      };
    };
    // Selectors never carry common labels: they cannot change after the first install.
    expect(d.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'apexalias',
      'app.kubernetes.io/instance': 'aa',
    });
    expect(d.spec.template.metadata.labels).toMatchObject({ team: 'dns', 'cost-center': '42' });
    expect(d.spec.revisionHistoryLimit).toBe(2);
    expect(d.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
    const pod = d.spec.template.spec as PodSpec & { dnsPolicy: string; dnsConfig: unknown };
    expect(pod.dnsPolicy).toBe('None');
    expect(pod.dnsConfig).toEqual({
      nameservers: ['192.0.2.53'],
      searches: ['svc.cluster.local'],
      options: [{ name: 'ndots', value: '1' }],
    });
    expect(pod.containers.map((c) => (c as Container & { name: string }).name)).toEqual([
      'controller',
      'sidecar',
    ]);
    expect((pod.containers[0] as Container & { envFrom: unknown }).envFrom).toEqual([
      { configMapRef: { name: 'apexalias-env' } },
    ]);
    const defaults = deploymentOf(await render('defaults')) as Deployment & {
      spec: { revisionHistoryLimit: number; strategy?: unknown; template: { spec: { dnsPolicy?: string } } };
    };
    expect(defaults.spec.revisionHistoryLimit).toBe(5);
    expect(defaults.spec.strategy).toBeUndefined();
    expect(defaults.spec.template.spec.dnsPolicy).toBeUndefined();
  });

  it('renders the ServiceMonitor options, the rules job selector and switched-off alerts', async () => {
    const objs = await render('ServiceMonitor and PrometheusRule with every option');
    const sm = byKind(objs, 'ServiceMonitor')[0] as Obj & {
      metadata: { annotations: Record<string, string> };
      spec: {
        namespaceSelector: { matchNames: string[] };
        targetLabels: string[];
        endpoints: Array<{ relabelings: unknown[]; metricRelabelings: unknown[] }>;
      };
    };
    expect(sm.metadata.namespace).toBe('monitoring');
    expect(sm.metadata.annotations).toEqual({ owner: 'dns-team' });
    // It still selects the Service in the release namespace.
    expect(sm.spec.namespaceSelector.matchNames).toEqual([NS]);
    expect(sm.spec.targetLabels).toEqual(['app.kubernetes.io/instance']);
    expect(sm.spec.endpoints[0]!.relabelings).toEqual([{ targetLabel: 'cluster', replacement: 'eu-1' }]);
    expect(sm.spec.endpoints[0]!.metricRelabelings).toEqual([
      { sourceLabels: ['__name__'], regex: 'nodejs_gc_.*', action: 'drop' },
    ]);

    type Rules = {
      groups: Array<{ rules: Array<{ alert?: string; expr: string; annotations?: Record<string, string> }> }>;
    };
    const file = YAML.parse(
      await fs.readFile(path.join(CHART_DIR, 'files', 'prometheus-rules.yaml'), 'utf8'),
    ) as Rules;
    const fileAlerts = file.groups.flatMap((g) => g.rules);
    const rule = byKind(objs, 'PrometheusRule')[0] as Obj & { spec: Rules };
    const alerts = rule.spec.groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).toEqual(
      fileAlerts
        .map((a) => a.alert)
        .filter((a) => a !== 'ApexAliasNameserverDrift' && a !== 'ApexAliasTargetNXDOMAIN'),
    );
    const up = alerts.filter((a) => a.expr.includes('up{'));
    expect(up.map((a) => a.expr)).toEqual([
      'absent(up{job="aa-apexalias-metrics"} == 1)',
      'up{job="aa-apexalias-metrics"} == 0',
    ]);
    expect(JSON.stringify(alerts)).not.toContain('.*apexalias.*');
    // Everything else is the file's, unchanged.
    for (const a of alerts.filter((x) => !x.expr.includes('up{')))
      expect(a).toEqual(fileAlerts.find((f) => f.alert === a.alert));
    // A name that is no alert is refused, with the names that are.
    const r = await helm(['template', 'aa', CHART_DIR, '--values', '-'], {
      input: 'metrics: { prometheusRule: { enabled: true, disabled: { ApexAliasZoneDrifts: true } } }',
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /"ApexAliasZoneDrifts" is not an alert of files\/prometheus-rules.yaml.*ApexAliasZoneDrift/,
    );
  });

  it('keeps the generated chart README and the config part of values.schema.json up to date', async () => {
    const r = await runCommand(
      process.execPath,
      [path.join(REPO_ROOT, 'scripts', 'gen-chart.ts'), '--check'],
      {
        cwd: REPO_ROOT,
        env: process.env,
      },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('charts/apexalias/README.md is up to date');
    expect(r.stdout).toContain('charts/apexalias/values.schema.json is up to date');
    // The generated config schema is the controller's: every backend field it knows is accepted
    // (rfc2136 nameservers was missing from the hand-kept schema), and nothing else.
    const schema = JSON.parse(await fs.readFile(path.join(CHART_DIR, 'values.schema.json'), 'utf8')) as {
      properties: { config: unknown };
    };
    expect(schema.properties.config).toEqual(chartConfigSchema());
  });

  it('Chart.yaml carries the metadata Artifact Hub and helm show read', async () => {
    const chart = YAML.parse(await fs.readFile(path.join(CHART_DIR, 'Chart.yaml'), 'utf8')) as {
      version: string;
      appVersion: string;
      kubeVersion: string;
      home: string;
      sources: string[];
      maintainers: Array<{ name: string }>;
      annotations: Record<string, string>;
    };
    const pkg = JSON.parse(await fs.readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(chart.appVersion).toBe(pkg.version);
    expect(chart.kubeVersion).toBe('>=1.25.0-0');
    expect(chart.home).toBe('https://github.com/apexalias/apexalias');
    expect(chart.sources).toContain('https://github.com/apexalias/apexalias');
    expect(chart.maintainers.length).toBeGreaterThan(0);
    expect(chart.annotations['artifacthub.io/license']).toBe('Apache-2.0');
    const images = YAML.parse(chart.annotations['artifacthub.io/images']!) as Array<{ image: string }>;
    expect(images.map((i) => i.image)).toEqual([`ghcr.io/apexalias/apexalias:${chart.appVersion}`]);
    const crds = YAML.parse(chart.annotations['artifacthub.io/crds']!) as Array<{
      name: string;
      version: string;
    }>;
    expect(crds).toEqual([
      expect.objectContaining({ name: 'apexaliases.dns.apexalias.io', version: 'v1alpha1' }),
    ]);
    const examples = YAML.parse(chart.annotations['artifacthub.io/crdsExamples']!) as unknown[];
    const example = validateApexAlias(examples[0]);
    expect(example.ok ? [] : example.problems).toEqual([]);
    const refused = await helm(['template', 'aa', CHART_DIR, '--kube-version', 'v1.24.0']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/kubeVersion: >=1.25.0-0/);
  });

  it('values.schema.json and the templates refuse bad values', async () => {
    const refuse = async (values: string, message: RegExp): Promise<void> => {
      const r = await helm(['template', 'aa', CHART_DIR, '--values', '-'], { input: values });
      expect(r.code, values).not.toBe(0);
      expect(r.stderr, values).toMatch(message);
    };
    await refuse('replicaCount: 9', /replicaCount/);
    await refuse('replicaCount: 0', /replicaCount/);
    await refuse('replicas: 2', /additional properties|additionalProperties|replicas/i);
    await refuse('logLevel: verbose', /logLevel/);
    await refuse('podAntiAffinity: sometimes', /podAntiAffinity/);
    // Inline secrets are not a value at all.
    await refuse(
      `config:
  backends:
    - { name: p, type: rfc2136, server: 192.0.2.1, zones: [example.com], existingSecret: s,
        tsig: { keyName: k, secret: c2VjcmV0 } }`,
      /secret/,
    );
    await refuse(
      `config:
  backends:
    - { name: p, type: rfc2136, server: 192.0.2.1, zones: [example.com], tsig: { keyName: k, secretFile: secret } }`,
      /set existingSecret/,
    );
    await refuse(
      `config:
  backends:
    - { name: p, type: powerdns, url: "http://192.0.2.1:8081", zones: [example.com], apiKeyFile: api-key }`,
      /set existingSecret/,
    );
    await refuse(
      `config:
  backends:
    - { name: p, type: powerdns, url: "http://192.0.2.1:8081", zones: [example.com], apiKeyFile: /k, apiKey: c2VjcmV0 }`,
      /apiKey/,
    );
    await refuse(
      `config:
  backends:
    - { name: p, type: powerdns, url: "192.0.2.1:8081", zones: [example.com], apiKeyFile: /k }`,
      /url/,
    );
    await refuse('replicaCount: 2\nleaderElection: { enabled: false }', /needs leaderElection/);
    // The generated config schema: a field of the wrong kind of backend, an unknown TSIG field.
    await refuse(
      `config:
  backends:
    - { name: z, type: zonefile, zones: ["*"], server: 192.0.2.1 }`,
      /server/,
    );
    await refuse(
      `config:
  backends:
    - { name: p, type: rfc2136, server: 192.0.2.1, zones: [example.com], existingSecret: s,
        tsig: { keyName: k, secretFile: secret, algorithm: md5 } }`,
      /algorithm/,
    );
    await refuse('config: { ownerId: Not-Lower }', /ownerId/);
    await refuse('crds: { enabled: "yes" }', /crds/);
    await refuse('config: { backends: [] }', /backends/);
  });

  it('documents every value in the chart README', async () => {
    const values = YAML.parse(await fs.readFile(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    const readme = await fs.readFile(path.join(CHART_DIR, 'README.md'), 'utf8');
    // Objects documented as a whole (free-form Kubernetes or Prometheus objects).
    const whole = new Set([
      'podSecurityContext',
      'securityContext',
      'resources',
      'livenessProbe',
      'readinessProbe',
      'dashboard.labels',
    ]);
    const keys: string[] = [];
    const walk = (obj: Record<string, unknown>, prefix: string): void => {
      for (const [k, v] of Object.entries(obj)) {
        const key = prefix + k;
        if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0 && !whole.has(key))
          walk(v as Record<string, unknown>, `${key}.`);
        else keys.push(key);
      }
    };
    walk(values, '');
    expect(keys.filter((k) => !readme.includes(`| \`${k}\``))).toEqual([]);
  });

  it('builds a non-root Node 24 image from production dependencies only', async () => {
    const dockerfile = await fs.readFile(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const lines = dockerfile
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    // The base is a build argument (node:24-slim unless told otherwise); the image that runs is
    // built FROM scratch (test/integration/image.test.ts builds and runs it).
    expect(lines[0]).toBe('ARG BASE=node:24-slim');
    const froms = lines.filter((l) => /^FROM\s/i.test(l));
    expect(froms).toEqual(['FROM ${BASE} AS deps', 'FROM ${BASE} AS rootfs', 'FROM scratch']);
    const npmCi = lines.find((l) => /^RUN\s.*\bnpm ci\b/.test(l));
    expect(npmCi).toMatch(/--omit=dev/);
    const final = lines.slice(lines.lastIndexOf(froms.at(-1)!));
    const users = final.filter((l) => /^USER\s/i.test(l));
    expect(users).toEqual(['USER 65532:65532']);
    for (const what of ['node_modules', 'bin', 'src', 'crds', 'package.json'])
      expect(
        final.some((l) => new RegExp(`^COPY\\s.*\\b${what}\\b`).test(l)),
        `COPY ${what}`,
      ).toBe(true);
    const entrypoint = final.find((l) => /^ENTRYPOINT\s/i.test(l));
    const argv = JSON.parse(entrypoint!.replace(/^ENTRYPOINT\s+/i, '')) as string[];
    // The base image's node, never node_modules/.bin/node; the controller is the default command.
    expect(argv).toEqual(['/usr/local/bin/node', '/app/bin/apexalias.js', 'controller']);
    // The version label's default is the package's version.
    const pkgVersion = (
      JSON.parse(await fs.readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
    ).version;
    expect(final).toContain(`ARG VERSION=${pkgVersion}`);

    // `--omit=dev` leaves the `node` devDependency out only while the lock file marks it dev.
    const lock = JSON.parse(await fs.readFile(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    expect(lock.packages['node_modules/node']?.dev).toBe(true);
    // And what the image runs imports nothing that --omit=dev leaves out.
    const pkg = JSON.parse(await fs.readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
    const missing = new Set<string>();
    for (const dir of ['src', 'bin']) {
      for (const file of await fs.readdir(path.join(REPO_ROOT, dir), { recursive: true })) {
        if (!/\.(ts|js)$/.test(file)) continue;
        const text = await fs.readFile(path.join(REPO_ROOT, dir, file), 'utf8');
        for (const m of text.matchAll(/^\s*import\s+(?!type\b)[^'"]*?['"]([^'"]+)['"]/gm)) {
          const spec = m[1]!;
          if (spec.startsWith('.') || spec.startsWith('node:')) continue;
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
          if (!allowed.has(name)) missing.add(`${dir}/${file}: ${spec}`);
        }
      }
    }
    expect([...missing]).toEqual([]);
    const ignore = await fs.readFile(path.join(REPO_ROOT, '.dockerignore'), 'utf8');
    expect(ignore.split('\n')).toContain('*');
    expect(await fs.readFile(path.join(REPO_ROOT, 'README.md'), 'utf8')).toContain(
      'docker build -t apexalias .',
    );
  });
});

describe('chart and deploy/ against a real kube-apiserver', () => {
  let kube: KubeCluster;
  const must = async (args: string[], input?: string): Promise<string> => {
    const r = await kube.kubectl(args, { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}`);
    return r.stdout;
  };
  const getJson = async <T>(args: string[]): Promise<T> =>
    JSON.parse(await must([...args, '-o', 'json'])) as T;

  beforeAll(async () => {
    // The CRDs are applied by the tests below (kubectl apply -f crds/) and by helm.
    kube = await startKube({ applyCrds: false });
  }, 120_000);

  afterAll(async () => {
    await kube?.stop();
  });

  it('kubectl apply -f crds/ installs the CRD', async () => {
    await must(['apply', '-f', path.join(REPO_ROOT, 'crds')]);
    await must(['wait', '--for=condition=Established', '--timeout=60s', '-f', path.join(REPO_ROOT, 'crds')]);
    expect(await must(['get', 'crd', 'apexaliases.dns.apexalias.io', '-o', 'name'])).toContain('apexaliases');
  });

  it('every value combination passes kubectl apply --dry-run=server, within the restricted Pod Security Standard', async () => {
    // The API server has no prometheus-operator. Minimal stand-in CRDs for ServiceMonitor and
    // PrometheusRule (any content accepted: x-kubernetes-preserve-unknown-fields) let the dry
    // run check that those kinds, their API group and their namespaced scope are right.
    const stub = (kind: string, plural: string): object => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.monitoring.coreos.com` },
      spec: {
        group: 'monitoring.coreos.com',
        scope: 'Namespaced',
        names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    });
    const stubs = YAML.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [stub('ServiceMonitor', 'servicemonitors'), stub('PrometheusRule', 'prometheusrules')],
    });
    await must(['apply', '-f', '-'], stubs);
    await must([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/servicemonitors.monitoring.coreos.com',
      'crd/prometheusrules.monitoring.coreos.com',
    ]);
    // Namespaces the renders put objects into; NS enforces (and warns about) "restricted".
    for (const ns of [NS, 'team-a', 'monitoring']) await must(['create', 'namespace', ns]);
    await must([
      'label',
      'namespace',
      NS,
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/warn=restricted',
    ]);

    for (const name of Object.keys(COMBINATIONS)) {
      await render(name);
      const r = await kube.kubectl(['apply', '--dry-run=server', '-f', '-'], {
        input: renderedText.get(name)!,
      });
      expect(r.code, `${name}:\n${r.stderr}`).toBe(0);
      expect(r.stderr, name).not.toMatch(/PodSecurity|would violate/);
      // Every rendered object was accepted (the summary names each one "(server dry run)").
      expect(r.stdout.match(/\(server dry run\)/g)?.length, `${name}:\n${r.stdout}`).toBe(
        rendered.get(name)!.length,
      );
    }
    // The Pod Security check above is not vacuous: a weakened container is reported.
    const weakened = await helmTemplate('securityContext: { allowPrivilegeEscalation: true }', {
      release: 'aa',
      namespace: NS,
    });
    const r = await kube.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: weakened });
    expect(r.stderr).toMatch(/would violate PodSecurity "restricted:latest": allowPrivilegeEscalation/);
  });

  it('helm install takes over a CRD applied with kubectl once it is handed over as the chart README says', async () => {
    const release = ['--namespace', 'chart-install'];
    // The CRD from `kubectl apply -f crds/` above has no Helm ownership: the install stops.
    const refused = await helm(['install', 'aa', CHART_DIR, '--create-namespace', ...release], {
      kubeconfig: kube.kubeconfig,
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/apexaliases\.dns\.apexalias\.io.*exists and cannot be imported/);
    // The commands of the chart README's "CRDs" section, with this release's name and namespace.
    for (const args of handOverCommands(await fs.readFile(path.join(CHART_DIR, 'README.md'), 'utf8'), {
      release: 'aa',
      namespace: 'chart-install',
    }))
      await must(args);

    const installed = await mustHelm(['install', 'aa', CHART_DIR, '--create-namespace', ...release], {
      kubeconfig: kube.kubeconfig,
    });
    expect(installed).toMatch(/STATUS: deployed/);
    expect(installed).toContain('kubectl -n chart-install rollout status deployment/aa-apexalias');
    const crd = await getJson<Obj & { metadata: { annotations: Record<string, string> } }>([
      'get',
      'crd',
      'apexaliases.dns.apexalias.io',
    ]);
    expect(crd.metadata.annotations['meta.helm.sh/release-name']).toBe('aa');
    expect(crd.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
    expect(crd.metadata.labels?.['helm.sh/chart']).toBe('apexalias-0.1.0');

    // No nodes and no controller-manager: the pods never run, but the objects are what they should be.
    const d = await getJson<Deployment>(['get', 'deployment', 'aa-apexalias', '-n', 'chart-install']);
    expectHardened(d);
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.template.spec.serviceAccountName).toBe('aa-apexalias');
    for (const [kind, ns] of [
      ['serviceaccount/aa-apexalias', 'chart-install'],
      ['configmap/aa-apexalias', 'chart-install'],
      ['role/aa-apexalias-leader-election', 'chart-install'],
      ['rolebinding/aa-apexalias-leader-election', 'chart-install'],
      ['poddisruptionbudget/aa-apexalias', 'chart-install'],
      ['clusterrole/aa-apexalias', ''],
      ['clusterrolebinding/aa-apexalias', ''],
    ] as const) {
      await must(['get', kind, ...(ns ? ['-n', ns] : [])]);
    }

    await mustHelm(
      ['upgrade', 'aa', CHART_DIR, ...release, '--set', 'replicaCount=3', '--set', 'logLevel=debug'],
      { kubeconfig: kube.kubeconfig },
    );
    const upgraded = await getJson<Deployment>(['get', 'deployment', 'aa-apexalias', '-n', 'chart-install']);
    expect(upgraded.spec.replicas).toBe(3);
    expect(upgraded.spec.template.spec.containers[0]!.args).toContain('--log-level=debug');
    const history = JSON.parse(
      await mustHelm(['history', 'aa', ...release, '-o', 'json'], { kubeconfig: kube.kubeconfig }),
    ) as Array<{ revision: number; status: string }>;
    expect(history.map((h) => [h.revision, h.status])).toEqual([
      [1, 'superseded'],
      [2, 'deployed'],
    ]);

    await mustHelm(['uninstall', 'aa', ...release], { kubeconfig: kube.kubeconfig });
    const gone = await kube.kubectl(['get', 'deployment', 'aa-apexalias', '-n', 'chart-install']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/NotFound|not found/);
    expect((await kube.kubectl(['get', 'clusterrole', 'aa-apexalias'])).code).not.toBe(0);
    // crds.keep: the CRD stays (deleting it would delete every ApexAlias with it).
    await must(['get', 'crd', 'apexaliases.dns.apexalias.io']);
    expect(await helm(['status', 'aa', ...release], { kubeconfig: kube.kubeconfig })).toMatchObject({
      code: 1,
    });
  });

  it('kubectl apply -k deploy/ installs the controller in apexalias-system', async () => {
    const r = await kube.kubectl(['apply', '-k', path.join(REPO_ROOT, 'deploy')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/PodSecurity|would violate/);
    expect(r.stdout).toContain('namespace/apexalias-system');
    expect(r.stdout).toContain('customresourcedefinition.apiextensions.k8s.io/apexaliases.dns.apexalias.io');
    const d = await getJson<Deployment>(['get', 'deployment', 'apexalias', '-n', 'apexalias-system']);
    expectHardened(d);
    expect(d.spec.replicas).toBe(2);
    expect(d.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('kubectl');
    const ns = await getJson<Obj>(['get', 'namespace', 'apexalias-system']);
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    await must(['get', 'role', 'apexalias-leader-election', '-n', 'apexalias-system']);
    await must(['get', 'clusterrolebinding', 'apexalias']);
    // Applying again changes nothing. (kubectl always re-sends a PodDisruptionBudget's selector,
    // whose patch strategy is "replace", and reports it "configured"; the object stays the same.)
    const again = await must(['apply', '-k', path.join(REPO_ROOT, 'deploy')]);
    const changed = again
      .split('\n')
      .filter((l) => /configured|created/.test(l) && !l.startsWith('poddisruptionbudget'));
    expect(changed).toEqual([]);
    const pdb = await getJson<Obj & { metadata: { generation: number } }>([
      'get',
      'poddisruptionbudget',
      'apexalias',
      '-n',
      'apexalias-system',
    ]);
    expect(pdb.metadata.generation).toBe(1);
  });

  it('the kustomize overlay in docs/install.md builds and passes a server-side dry run', async () => {
    const doc = await fs.readFile(path.join(REPO_ROOT, 'docs', 'install.md'), 'utf8');
    const block = (first: string): string => {
      const found = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)]
        .map((m) => m[1]!)
        .find((b) => b.startsWith(first));
      if (!found) throw new Error(`docs/install.md has no yaml block starting with "${first}"`);
      return found;
    };
    const overlay = await fs.mkdtemp(path.join(kube.dir, 'overlay-'));
    await fs.writeFile(
      path.join(overlay, 'kustomization.yaml'),
      block('# overlay/kustomization.yaml').replace(
        '../apexalias/deploy',
        // kustomize takes only relative paths for bases.
        path.relative(overlay, path.join(REPO_ROOT, 'deploy')),
      ),
    );
    const configText = block('# overlay/config.yaml');
    await fs.writeFile(path.join(overlay, 'config.yaml'), configText);
    const result = validateConfig(YAML.parse(configText));
    expect(result.ok ? [] : result.problems).toEqual([]);

    const built = await must(['kustomize', overlay]);
    const objs = parseAll(built);
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'apexalias') as Obj & {
      data: Record<string, string>;
    };
    expect(cm.data['config.yaml']).toBe(configText);
    const pod = deploymentOf(objs).spec.template.spec;
    const mount = pod.containers[0]!.volumeMounts.find(
      (m) => m.mountPath === '/etc/apexalias/secrets/primary',
    );
    expect(mount?.readOnly).toBe(true);
    expect(pod.volumes.find((v) => v.name === mount!.name)?.secret?.secretName).toBe('apexalias-tsig');
    const r = await kube.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: built });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/PodSecurity|would violate/);
  });
});

describe('helm upgrade upgrades the CRD', () => {
  let kube: KubeCluster;
  let oldChart: string;
  const CRD = 'apexaliases.dns.apexalias.io';
  const release = ['--namespace', 'crd-upgrade'];
  type Crd = {
    metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
    spec: {
      versions: Array<{
        additionalPrinterColumns: Array<{ name: string }>;
        schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } } };
      }>;
    };
  };
  const crdNow = async (): Promise<Crd> => {
    const r = await kube.kubectl(['get', 'crd', CRD, '-o', 'json']);
    if (r.code !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as Crd;
  };
  const columns = (crd: Crd): string[] => crd.spec.versions[0]!.additionalPrinterColumns.map((c) => c.name);
  const specFields = (crd: Crd): string[] =>
    Object.keys(crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties);

  beforeAll(async () => {
    kube = await startKube({ applyCrds: false });
    // An older chart: version 0.0.9, whose CRD has neither the Reason column nor spec.fallbackAddresses.
    oldChart = path.join(kube.dir, 'apexalias-old');
    await fs.cp(CHART_DIR, oldChart, { recursive: true });
    const crdFile = path.join(oldChart, 'files', 'crds', 'dns.apexalias.io_apexaliases.yaml');
    const crd = YAML.parse(await fs.readFile(crdFile, 'utf8')) as Crd;
    const v = crd.spec.versions[0]!;
    v.additionalPrinterColumns = v.additionalPrinterColumns.filter((c) => c.name !== 'Reason');
    const spec = v.schema.openAPIV3Schema.properties.spec as {
      properties: Record<string, unknown>;
      'x-kubernetes-validations'?: Array<{ rule: string }>;
    };
    delete spec.properties.fallbackAddresses;
    spec['x-kubernetes-validations'] = spec['x-kubernetes-validations']?.filter(
      (r) => !r.rule.includes('fallbackAddresses'),
    );
    await fs.writeFile(crdFile, YAML.stringify(crd));
    const chartYaml = path.join(oldChart, 'Chart.yaml');
    await fs.writeFile(
      chartYaml,
      (await fs.readFile(chartYaml, 'utf8')).replace(/^version: .*$/m, 'version: 0.0.9'),
    );
  }, 120_000);

  afterAll(async () => {
    await kube?.stop();
  });

  it('installs the older CRD, then upgrade brings the new field and printer column and keeps the ApexAliases', async () => {
    await mustHelm(['install', 'aa', oldChart, '--create-namespace', ...release, '--wait=false'], {
      kubeconfig: kube.kubeconfig,
    });
    const before = await crdNow();
    expect(columns(before)).not.toContain('Reason');
    expect(specFields(before)).not.toContain('fallbackAddresses');
    expect(before.metadata.labels?.['helm.sh/chart']).toBe('apexalias-0.0.9');
    await must(kube, ['wait', '--for=condition=Established', '--timeout=60s', `crd/${CRD}`]);
    await waitFor('ApexAliases served', async () =>
      (await kube.kubectl(['get', 'apexaliases', '-A'])).code === 0 ? true : undefined,
    );
    const alias = YAML.stringify({
      apiVersion: 'dns.apexalias.io/v1alpha1',
      kind: 'ApexAlias',
      metadata: { name: 'kept', namespace: 'default' },
      spec: { zone: 'example.com', target: 'lb.example.net' },
    });
    await must(kube, ['apply', '-f', '-'], alias);
    // The old schema does not know the field: the API server refuses it in strict validation.
    const early = await kube.kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], {
      input: YAML.stringify({
        ...(YAML.parse(alias) as object),
        spec: { zone: 'example.com', target: 'lb.example.net', fallbackAddresses: ['192.0.2.1'] },
      }),
    });
    expect(early.code).not.toBe(0);
    expect(early.stderr).toMatch(/unknown field "spec.fallbackAddresses"/);

    await mustHelm(['upgrade', 'aa', CHART_DIR, ...release], { kubeconfig: kube.kubeconfig });
    const after = await crdNow();
    expect(columns(after)).toContain('Reason');
    expect(specFields(after)).toContain('fallbackAddresses');
    expect(after.metadata.labels?.['helm.sh/chart']).toBe('apexalias-0.1.0');
    expect(after.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    await waitFor('the new field accepted', async () => {
      const r = await kube.kubectl(['apply', '--validate=strict', '-f', '-'], {
        input: YAML.stringify({
          ...(YAML.parse(alias) as object),
          spec: { zone: 'example.com', target: 'lb.example.net', fallbackAddresses: ['192.0.2.1'] },
        }),
      });
      return r.code === 0 ? true : undefined;
    });
    const kept = await kube.kubectl(['get', 'apexalias', 'kept', '-n', 'default', '-o', 'json']);
    expect(
      (JSON.parse(kept.stdout) as { spec: { fallbackAddresses: string[] } }).spec.fallbackAddresses,
    ).toEqual(['192.0.2.1']);
    // The new printer column is what `kubectl get -o wide` shows.
    expect(
      (await must(kube, ['get', 'apexalias', 'kept', '-n', 'default', '-o', 'wide'])).split('\n')[0],
    ).toMatch(/\bREASON\b/);
  });

  it('switching crds.enabled off, then uninstalling, leaves the CRD and the ApexAliases', async () => {
    await mustHelm(['upgrade', 'aa', CHART_DIR, ...release, '--set', 'crds.enabled=false'], {
      kubeconfig: kube.kubeconfig,
    });
    await must(kube, ['get', 'crd', CRD]);
    await mustHelm(['uninstall', 'aa', ...release], { kubeconfig: kube.kubeconfig });
    await must(kube, ['get', 'crd', CRD]);
    await must(kube, ['get', 'apexalias', 'kept', '-n', 'default']);
  });
});

async function must(kube: KubeCluster, args: string[], input?: string): Promise<string> {
  const r = await kube.kubectl(args, { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}`);
  return r.stdout;
}
