/**
 * A real Kubernetes control plane for tests: etcd 3.6 and kube-apiserver, built from the Go module
 * proxy by tools/build.sh, started on free loopback ports in a temp dir with a generated PKI, and
 * stopped by PID. There is no kube-controller-manager, so namespaces never finish deleting (do not
 * delete them), no ServiceAccount appears on its own, and nothing is garbage-collected.
 */
import fs from 'node:fs/promises';
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';

import { KubeConfig } from '@kubernetes/client-node';
import YAML from 'yaml';

import type { KubePki } from './kube-pki.ts';
import { kubePki } from './kube-pki.ts';
import { freePort } from './ports.ts';
import type { CommandResult, ManagedProcess } from './process.ts';
import { requireBinary, runCommand, startProcess } from './process.ts';
import { ADDRESS_IN_USE, makeServerDir, withPortRetry } from './server-common.ts';

/** A running etcd + kube-apiserver pair. */
export interface KubeCluster {
  /** `https://127.0.0.1:PORT`. */
  readonly server: string;
  /** Path of an admin kubeconfig (client certificate in `system:masters`). */
  readonly kubeconfig: string;
  /** The cluster's temp dir (etcd data, kubeconfigs, kubectl cache). Removed by `stop()`. */
  readonly dir: string;
  /** How long `startKube` took, PKI and CRDs included, in milliseconds. */
  readonly startupMs: number;
  /**
   * Runs the system kubectl against the cluster (admin unless `kubeconfig` is given). Never
   * rejects for a non-zero exit. `input` is written to stdin (use `-f -`).
   */
  kubectl(args: string[], opts?: { input?: string; kubeconfig?: string }): Promise<CommandResult>;
  /** A client-node KubeConfig for the admin identity. */
  kubeConfig(): KubeConfig;
  /**
   * A kubeconfig for a ServiceAccount's token (`kubectl create token`), for RBAC tests. Creates
   * the namespace and the ServiceAccount when they do not exist yet; returns the file's path.
   */
  serviceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  /** Stops kube-apiserver and starts it again on the same port with the same etcd. */
  restartApiServer(): Promise<void>;
  /** kube-apiserver's last 64 KiB of log output. */
  apiServerOutput(): string;
  /** Stops kube-apiserver, then etcd (SIGTERM, SIGKILL after 3 s), and removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

/** Options for {@link startKube}. */
export interface StartKubeOptions {
  /** `kubectl apply -f crds/` and wait until every CRD is Established and served. Default true. */
  applyCrds?: boolean;
  /** Keep `dir` after `stop()` (for debugging). Default false. */
  keepDir?: boolean;
}

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
const CRD_DIR = path.join(REPO_ROOT, 'crds');
const START_TIMEOUT_MS = 60_000;

/** Where tools/build.sh puts etcd and kube-apiserver: `APEXALIAS_TOOLS_BIN` or ~/.cache/apexalias/bin. */
export function kubeBinDir(): string {
  return process.env.APEXALIAS_TOOLS_BIN || path.join(os.homedir(), '.cache', 'apexalias', 'bin');
}

/**
 * The path of a binary built by tools/build.sh. Throws when it is missing: like every real
 * component, a missing control plane fails the test instead of skipping it.
 */
export function requireKubeBinary(name: 'etcd' | 'kube-apiserver'): string {
  const file = path.join(kubeBinDir(), name);
  try {
    accessSync(file, fsConstants.X_OK);
    return file;
  } catch {
    throw new Error(
      `Required binary "${name}" was not found at ${file}. Build it with \`bash tools/build.sh\` ` +
        '(from the Go module proxy into APEXALIAS_TOOLS_BIN or ~/.cache/apexalias/bin; ' +
        'cold: etcd ~1 min, kube-apiserver 7-14 min and ~3 GB RAM; cached afterwards). ' +
        'Tests never skip a missing component.',
    );
  }
}

interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

async function tlsMaterial(pki: KubePki): Promise<TlsMaterial> {
  const [ca, cert, key] = await Promise.all([
    fs.readFile(pki.caCert),
    fs.readFile(pki.adminCert),
    fs.readFile(pki.adminKey),
  ]);
  return { ca, cert, key };
}

/** A GET as the admin identity; resolves with the status and body, rejects on a network error. */
function adminGet(url: string, tls: TlsMaterial): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...tls, timeout: 2_000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

function kubeconfigText(server: string, ca: Buffer, user: Record<string, string>): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'apexalias-test', cluster: { server, 'certificate-authority-data': ca.toString('base64') } },
    ],
    users: [{ name: 'user', user }],
    contexts: [{ name: 'test', context: { cluster: 'apexalias-test', user: 'user', namespace: 'default' } }],
    'current-context': 'test',
  });
}

async function startEtcd(dir: string): Promise<{ process: ManagedProcess; url: string }> {
  const bin = requireKubeBinary('etcd');
  return withPortRetry(async () => {
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const proc = await startProcess(
      bin,
      [
        '--name=t',
        `--data-dir=${path.join(dir, 'etcd')}`,
        // Test data is thrown away; fsync would only make every write wait for the disk.
        '--unsafe-no-fsync',
        `--listen-client-urls=${url}`,
        `--advertise-client-urls=${url}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=t=${peer}`,
        '--log-level=warn',
      ],
      {
        name: 'etcd',
        timeoutMs: START_TIMEOUT_MS,
        failOn: ADDRESS_IN_USE,
        ready: async () => {
          const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
          return res.ok && ((await res.json()) as { health?: string }).health === 'true';
        },
      },
    );
    return { process: proc, url };
  });
}

function startApiServer(
  port: number,
  etcdUrl: string,
  pki: KubePki,
  tls: TlsMaterial,
): Promise<ManagedProcess> {
  const server = `https://127.0.0.1:${port}`;
  return startProcess(
    requireKubeBinary('kube-apiserver'),
    [
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      // A loopback advertise address is refused by the default endpoint reconciler.
      '--endpoint-reconciler-type=none',
      `--etcd-servers=${etcdUrl}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--authorization-mode=Node,RBAC',
      '--service-cluster-ip-range=10.96.0.0/16',
      '--profiling=false',
    ],
    {
      name: 'kube-apiserver',
      timeoutMs: START_TIMEOUT_MS,
      failOn: ADDRESS_IN_USE,
      // /readyz covers the post-start hooks (RBAC bootstrap roles among them); the default
      // namespace is created by a controller right after, and tests rely on it.
      ready: async () =>
        (await adminGet(`${server}/readyz`, tls)).status === 200 &&
        (await adminGet(`${server}/api/v1/namespaces/default`, tls)).status === 200,
    },
  );
}

/**
 * Starts etcd and kube-apiserver on free loopback ports and, unless `applyCrds: false`, installs
 * the project's CRDs. Fails with a clear message when a binary is missing (see tools/build.sh).
 */
export async function startKube(opts: StartKubeOptions = {}): Promise<KubeCluster> {
  const started = performance.now();
  requireKubeBinary('etcd');
  requireKubeBinary('kube-apiserver');
  // The machine's kubectl when it has one; otherwise the one tools/build.sh builds from the same
  // Kubernetes module as the API server.
  const cachedKubectl = path.join(kubeBinDir(), 'kubectl');
  const kubectlBin = existsSync(cachedKubectl)
    ? cachedKubectl
    : requireBinary('kubectl', 'kubectl (or run tools/build.sh)');
  const pki = await kubePki();
  const tls = await tlsMaterial(pki);
  const dir = await makeServerDir('kube');

  let etcd: ManagedProcess | undefined;
  let api: ManagedProcess | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await api?.stop();
      await etcd?.stop();
      if (!opts.keepDir) await fs.rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    const etcdStarted = await startEtcd(dir);
    etcd = etcdStarted.process;
    let port = 0;
    api = await withPortRetry(async () => {
      port = await freePort();
      return startApiServer(port, etcdStarted.url, pki, tls);
    });
    const server = `https://127.0.0.1:${port}`;
    const kubeconfig = path.join(dir, 'admin.kubeconfig');
    await fs.writeFile(
      kubeconfig,
      kubeconfigText(server, tls.ca, {
        'client-certificate-data': tls.cert.toString('base64'),
        'client-key-data': tls.key.toString('base64'),
      }),
      { mode: 0o600 },
    );

    const kubectl = (
      args: string[],
      o: { input?: string; kubeconfig?: string } = {},
    ): Promise<CommandResult> =>
      runCommand(
        kubectlBin,
        [
          `--kubeconfig=${o.kubeconfig ?? kubeconfig}`,
          `--cache-dir=${path.join(dir, 'kubectl-cache')}`,
          ...args,
        ],
        { input: o.input, timeoutMs: 60_000 },
      );
    const mustKubectl = async (args: string[], input?: string): Promise<string> => {
      const r = await kubectl(args, { input });
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}`);
      return r.stdout;
    };

    if (opts.applyCrds ?? true) {
      await mustKubectl(['apply', '-f', CRD_DIR]);
      await mustKubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', CRD_DIR]);
      await waitForCrdsServed(server, tls);
    }

    const cluster: KubeCluster = {
      server,
      kubeconfig,
      dir,
      startupMs: Math.round(performance.now() - started),
      kubectl,
      kubeConfig: () => {
        const kc = new KubeConfig();
        kc.loadFromFile(kubeconfig);
        return kc;
      },
      serviceAccountKubeconfig: async (namespace, name) => {
        await mustKubectl(
          ['apply', '-f', '-'],
          YAML.stringify({
            apiVersion: 'v1',
            kind: 'List',
            items: [
              { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
              { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
            ],
          }),
        );
        const token = (
          await mustKubectl(['create', 'token', name, '-n', namespace, '--duration=24h'])
        ).trim();
        const file = path.join(dir, `sa-${namespace}-${name}.kubeconfig`);
        await fs.writeFile(file, kubeconfigText(server, tls.ca, { token }), { mode: 0o600 });
        return file;
      },
      restartApiServer: async () => {
        if (!etcd || !api) throw new Error('restartApiServer: the cluster is stopped');
        await api.stop();
        api = await startApiServer(port, etcdStarted.url, pki, tls);
      },
      apiServerOutput: () => api?.output() ?? '',
      stop,
    };
    return cluster;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Waits until every CRD in crds/ is served (its group version lists the resource). */
async function waitForCrdsServed(server: string, tls: TlsMaterial): Promise<void> {
  const wanted: string[] = [];
  for (const file of await fs.readdir(CRD_DIR)) {
    if (!/\.ya?ml$/.test(file)) continue;
    for (const doc of YAML.parseAllDocuments(await fs.readFile(path.join(CRD_DIR, file), 'utf8'))) {
      const crd = doc.toJS() as {
        kind?: string;
        spec?: { group: string; names: { plural: string }; versions: { name: string; served: boolean }[] };
      } | null;
      if (crd?.kind !== 'CustomResourceDefinition' || !crd.spec) continue;
      for (const v of crd.spec.versions) {
        if (v.served) wanted.push(`${crd.spec.group}/${v.name}/${crd.spec.names.plural}`);
      }
    }
  }
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (const entry of wanted) {
    const [group, version, plural] = entry.split('/') as [string, string, string];
    for (;;) {
      const res = await adminGet(`${server}/apis/${group}/${version}`, tls).catch(() => undefined);
      if (res?.status === 200) {
        const list = JSON.parse(res.body) as { resources?: { name: string }[] };
        if (list.resources?.some((r) => r.name === plural)) break;
      }
      if (Date.now() > deadline)
        throw new Error(`CRD resource ${entry} was not served after ${START_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
