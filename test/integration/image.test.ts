/**
 * The container image, built from the Dockerfile with real podman and run the way the chart runs
 * the pod: read-only root filesystem (without the tmpfs podman would add), uid/gid 65532, every
 * capability dropped, no privilege escalation, and the configuration, TSIG secret and kubeconfig
 * mounted read-only. `--network host` lets it reach the loopback test servers: a real
 * kube-apiserver, BIND and the upstream that answers for the targets.
 *
 * The base is a local stand-in for node:24-slim (test/harness/image.ts), since no registry serves
 * base images here.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';

import { TestAuthServer } from '../harness/authserver.ts';
import type { BindServer } from '../harness/bind.ts';
import { waitFor } from '../harness/controller.ts';
import {
  aliasCondition,
  applyAlias,
  startKubeAndBind,
  writeControllerConfig,
} from '../harness/controller-env.ts';
import type { BuiltImage } from '../harness/image.ts';
import { buildImage, mustPodman, podman, podmanCommand } from '../harness/image.ts';
import type { KubeCluster } from '../harness/kube.ts';
import { freePort } from '../harness/ports.ts';
import type { ManagedProcess } from '../harness/process.ts';
import { startProcess } from '../harness/process.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
const ZONE = 'image.test';
const MIB = 1024 * 1024;
/** A regression bound, not a target: the image measured 170 MB when this was written. */
const MAX_IMAGE_BYTES = 200 * MIB;

const pkg = JSON.parse(await fs.readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
};
const revision = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();

/** The pod's restrictions (charts/apexalias values podSecurityContext and securityContext). */
const RESTRICTED = [
  '--read-only',
  // podman mounts tmpfs on /tmp, /var/tmp and /run of a read-only container unless told not to;
  // Kubernetes' readOnlyRootFilesystem has no such thing.
  '--read-only-tmpfs=false',
  '--user',
  '65532:65532',
  '--cap-drop',
  'ALL',
  '--security-opt',
  'no-new-privileges',
  '--network',
  'host',
];
const CLI_ENTRYPOINT = ['--entrypoint', '["/usr/local/bin/node","/app/bin/apexalias.js"]'];

interface ImageInspect {
  Size: number;
  Config: {
    User?: string;
    Entrypoint?: string[];
    Labels?: Record<string, string>;
    Env?: string[];
  };
}

let image: BuiltImage;
/** Every path in the image's filesystem (no leading slash), directories with a trailing slash. */
let paths: string[];

beforeAll(async () => {
  image = await buildImage({ VERSION: pkg.version, REVISION: revision });
  const id = (await mustPodman(['create', image.ref])).trim();
  try {
    const { cmd, args, env } = await podmanCommand(['export', id]);
    const listing = execFileSync('sh', ['-c', '"$0" "$@" | tar -t', cmd, ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 256 * MIB,
      encoding: 'utf8',
    });
    paths = listing
      .split('\n')
      .filter(Boolean)
      .map((p) => p.replace(/^\.?\//, ''));
  } finally {
    await podman(['rm', '--force', id]);
  }
}, 900_000);

afterAll(async () => {
  await image?.remove();
});

async function inspect(): Promise<ImageInspect> {
  return (JSON.parse(await mustPodman(['image', 'inspect', image.ref])) as ImageInspect[])[0]!;
}

describe('the image', () => {
  it('carries the OCI labels, runs as 65532:65532 and starts the controller', async () => {
    const { Config } = await inspect();
    expect(Config.Labels).toMatchObject({
      'org.opencontainers.image.source': 'https://github.com/apexalias/apexalias',
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.revision': revision,
      'org.opencontainers.image.licenses': 'Apache-2.0',
    });
    expect(Config.User).toBe('65532:65532');
    expect(Config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/bin/apexalias.js', 'controller']);
    expect(Config.Env).toContain('NODE_ENV=production');
  });

  it('holds node, its libraries and the app with its production dependencies only: no shell, no npm', async () => {
    const files = new Set(paths);
    expect(files.has('usr/local/bin/node')).toBe(true);
    for (const absent of [
      'bin/sh',
      'bin/bash',
      'usr/bin/env',
      'usr/local/bin/npm',
      'usr/local/lib/node_modules/',
    ])
      expect(files.has(absent), absent).toBe(false);
    expect(paths.filter((p) => /(^|\/)(sh|bash|dash|busybox|apt|dpkg)$/.test(p))).toEqual([]);
    expect([...files].filter((p) => p.startsWith('etc/') && !p.endsWith('/')).sort()).toEqual([
      'etc/group',
      'etc/nsswitch.conf',
      'etc/passwd',
      'etc/ssl/certs/ca-certificates.crt',
    ]);

    // The app: exactly what the Dockerfile copies, nothing of the tests, benchmarks or docs.
    const top = new Set(paths.filter((p) => p.startsWith('app/')).map((p) => p.split('/')[1]!));
    top.delete('');
    expect([...top].sort()).toEqual([
      'bin',
      'build-info.json',
      'crds',
      'node_modules',
      'package.json',
      'src',
    ]);
    const source = (await fs.readdir(path.join(REPO_ROOT, 'src'), { recursive: true }))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `app/src/${f}`)
      .sort();
    expect(paths.filter((p) => p.startsWith('app/src/') && p.endsWith('.ts')).sort()).toEqual(source);

    // node_modules: the lock file's production packages, no more and no fewer.
    const lock = JSON.parse(await fs.readFile(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; optional?: boolean }>;
    };
    const production = Object.entries(lock.packages)
      .filter(([p, meta]) => p.startsWith('node_modules/') && !meta.dev)
      .map(([p]) => `app/${p}/package.json`)
      .sort();
    const installed = paths
      .filter((p) => /^app\/node_modules\/(.+\/node_modules\/)?(@[^/]+\/)?[^/@]+\/package\.json$/.test(p))
      .sort();
    expect(installed).toEqual(production);
    expect(installed.some((p) => p.includes('/node_modules/node/'))).toBe(false);
    expect(installed.some((p) => p.includes('/vitest/'))).toBe(false);
    // Source maps and type declarations are pruned: the runtime never reads them.
    expect(paths.filter((p) => /\.(map|d\.[cm]?ts)$/.test(p) && p.startsWith('app/node_modules/'))).toEqual(
      [],
    );
  });

  it(`is smaller than ${MAX_IMAGE_BYTES / MIB} MB`, async () => {
    const { Size } = await inspect();
    console.log(`image ${image.ref}: ${(Size / MIB).toFixed(1)} MiB (${Size} bytes)`);
    expect(Size).toBeGreaterThan(50 * MIB);
    expect(Size).toBeLessThan(MAX_IMAGE_BYTES);
  });

  it('`apexalias --version` and `controller --help` work under the pod restrictions', async () => {
    const version = await podman(['run', '--rm', ...RESTRICTED, ...CLI_ENTRYPOINT, image.ref, '--version']);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toContain(pkg.version);
    expect(version.stdout).toContain(`commit: ${revision} (build)`);
    const help = await podman(['run', '--rm', ...RESTRICTED, image.ref, '--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('Usage: apexalias controller');
    expect(help.stdout).toContain('--kubeconfig');
    // The root filesystem really is read-only for the controller's user.
    const write = await podman([
      'run',
      '--rm',
      ...RESTRICTED,
      ...CLI_ENTRYPOINT.slice(0, 1),
      '/usr/local/bin/node',
      image.ref,
      '-e',
      "require('fs').writeFileSync('/app/x', 'x')",
    ]);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/EROFS|read-only file system/i);
  });
});

/** sha256 of every file under `dir`, by relative path. */
async function digests(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await fs.readdir(dir, { recursive: true })).sort()) {
    const full = path.join(dir, f);
    if ((await fs.stat(full)).isFile())
      out[f] = createHash('sha256')
        .update(await fs.readFile(full))
        .digest('hex');
  }
  return out;
}

/** A directory the container's user can enter; removed by the suite's afterAll. */
async function mountDir(root: string, name: string): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  await fs.chmod(dir, 0o755);
  return dir;
}

describe('the controller in the image, against kube-apiserver and BIND', () => {
  let kube: KubeCluster;
  let bind: BindServer;
  let upstream: TestAuthServer;
  let root: string;
  let mounts: { config: string; secret: string; kubeconfig: string };
  let before: Record<string, Record<string, string>>;
  let container: ManagedProcess;
  const name = `apexalias-image-test-${process.pid}`;
  let healthPort: number;

  beforeAll(async () => {
    ({ kube, bind, upstream } = await startKubeAndBind(ZONE));
    upstream.setAddresses('lb.image.test', 'A', ['192.0.2.10'], 30);
    upstream.setAddresses('lb.image.test', 'AAAA', ['2001:db8::10'], 30);

    root = await fs.mkdtemp(path.join(os.tmpdir(), 'apexalias-image-run-'));
    await fs.chmod(root, 0o755);
    mounts = {
      config: await mountDir(root, 'config'),
      secret: await mountDir(root, 'secret'),
      kubeconfig: await mountDir(root, 'kubeconfig'),
    };
    // The helper writes config.yaml and the secret side by side; the chart mounts them apart.
    const scratch = await mountDir(root, 'scratch');
    const written = await writeControllerConfig(scratch, {
      ownerId: 'image',
      upstream,
      server: bind,
      zones: [ZONE],
      // BIND is the zone's only authoritative server (its NS, ns1, is not served by anyone).
      nameservers: [bind],
      refresh: { minSeconds: 1, maxSeconds: 3600, jitter: 0.1 },
    });
    const config = YAML.parse(await fs.readFile(written, 'utf8')) as {
      backends: Array<{ tsig: { secretFile: string } }>;
    };
    config.backends[0]!.tsig.secretFile = '/etc/apexalias/secrets/bind/secret';
    await fs.writeFile(path.join(mounts.config, 'config.yaml'), YAML.stringify(config), { mode: 0o444 });
    // As the chart mounts a Secret: mode 0440, readable through the pod's fsGroup 65532.
    const secret = path.join(mounts.secret, 'secret');
    await fs.copyFile(path.join(scratch, 'secret'), secret);
    await fs.chown(secret, 0, 65532);
    await fs.chmod(secret, 0o440);
    await fs.rm(scratch, { recursive: true });
    const kubeconfig = path.join(mounts.kubeconfig, 'kubeconfig');
    await fs.copyFile(kube.kubeconfig, kubeconfig);
    await fs.chmod(kubeconfig, 0o444);
    before = {
      config: await digests(mounts.config),
      secret: await digests(mounts.secret),
      kubeconfig: await digests(mounts.kubeconfig),
    };

    healthPort = await freePort();
    const metricsPort = await freePort();
    const { cmd, args, env } = await podmanCommand([
      'run',
      '--rm',
      '--name',
      name,
      ...RESTRICTED,
      '--volume',
      `${mounts.config}:/etc/apexalias/config:ro`,
      '--volume',
      `${mounts.secret}:/etc/apexalias/secrets/bind:ro`,
      '--volume',
      `${mounts.kubeconfig}:/etc/apexalias/kubeconfig:ro`,
      '--env',
      'POD_NAME=apexalias-image-0',
      image.ref,
      // The chart's arguments (templates/deployment.yaml), with the test's ports and kubeconfig.
      '--config=/etc/apexalias/config/config.yaml',
      '--log-format=json',
      '--log-level=debug',
      '--kubeconfig=/etc/apexalias/kubeconfig/kubeconfig',
      '--bind-address=127.0.0.1',
      `--health-port=${healthPort}`,
      `--metrics-port=${metricsPort}`,
      '--lease-namespace=default',
      '--identity=apexalias-image-0',
    ]);
    container = await startProcess(cmd, args, {
      env,
      name: 'podman run (controller)',
      timeoutMs: 60_000,
      ready: async () => (await fetch(`http://127.0.0.1:${healthPort}/healthz`)).ok,
    });
  }, 300_000);

  afterAll(async () => {
    // SIGTERM to podman is passed on to the controller, which releases its Lease and exits.
    await container?.stop();
    await podman(['rm', '--force', '--ignore', name]);
    await Promise.all([kube?.stop(), bind?.stop(), upstream?.stop()]);
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('reconciles an ApexAlias into BIND and sets Ready', async () => {
    await applyAlias(kube, 'apex', { zone: ZONE, target: 'lb.image.test' });
    await waitFor(
      `A record at the apex (controller output:\n${container.output().slice(-2000)})`,
      async () => ((await bind.dig(ZONE, 'A')).answers.join() === '192.0.2.10' ? true : undefined),
      60_000,
    );
    expect((await bind.dig(ZONE, 'AAAA')).answers).toEqual(['2001:db8::10']);
    const ready = await waitFor('Ready=True', async () => {
      const c = await aliasCondition(kube, 'apex', 'Ready');
      return c?.status === 'True' ? c : undefined;
    }).catch(async (err: Error) => {
      const status = await kube.kubectl(['get', 'apexalias', 'apex', '-o', 'yaml']);
      throw new Error(`${err.message}\n${status.stdout}\n${container.output().slice(-4000)}`);
    });
    expect(ready.reason).toBe('Ready');
    // It led: the Lease names the pod.
    const lease = await kube.kubectl(['get', 'lease', 'apexalias-leader', '-n', 'default', '-o', 'json']);
    expect((JSON.parse(lease.stdout) as { spec: { holderIdentity: string } }).spec.holderIdentity).toBe(
      'apexalias-image-0',
    );
  });

  it('answers /healthz, /readyz and /metrics', async () => {
    const health = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
    expect(health.status).toBe(200);
    const ready = await waitFor('/readyz 200', async () => {
      const r = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
      return r.status === 200 ? r : undefined;
    });
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    expect(metrics).toMatch(/^apexalias_leader 1$/m);
    expect(metrics).toContain(`apexalias_build_info{version="${pkg.version}"`);
  });

  it('writes nothing outside its mounts, and nothing into them', async () => {
    const info = (
      JSON.parse(await mustPodman(['container', 'inspect', name])) as Array<{
        HostConfig: { ReadonlyRootfs: boolean; CapDrop?: string[]; CapAdd?: string[] };
        Config: { User: string };
        Mounts: Array<{ Destination: string; RW: boolean; Type: string }>;
      }>
    )[0]!;
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.Config.User).toBe('65532:65532');
    // No tmpfs and no writable volume: every mount is one of the three read-only ones.
    expect(info.Mounts.map((m) => [m.Destination, m.RW]).sort()).toEqual([
      ['/etc/apexalias/config', false],
      ['/etc/apexalias/kubeconfig', false],
      ['/etc/apexalias/secrets/bind', false],
    ]);
    // The container's own layer holds nothing but the mount points the runtime made for the
    // three volumes (and their parents).
    const points = info.Mounts.map((m) => m.Destination);
    const changes = (await mustPodman(['diff', name])).trim().split('\n').filter(Boolean);
    expect(changes.length).toBeGreaterThan(0);
    expect(
      changes.filter((line) => {
        const [, p] = line.split(' ');
        return !points.some((m) => m === p || m.startsWith(`${p}/`));
      }),
    ).toEqual([]);
    expect({
      config: await digests(mounts.config),
      secret: await digests(mounts.secret),
      kubeconfig: await digests(mounts.kubeconfig),
    }).toEqual(before);
    expect(container.exited()).toBe(false);
  });
});

describe('apexalias sync in the image', () => {
  it('writes its zone file only into the mounted zone directory', async () => {
    const upstream = await TestAuthServer.start();
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'apexalias-image-sync-'));
    try {
      upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.44'], 60);
      await fs.chmod(root, 0o755);
      const manifests = await mountDir(root, 'manifests');
      const zones = await mountDir(root, 'zones');
      await fs.chown(zones, 65532, 65532);
      await fs.copyFile(
        path.join(REPO_ROOT, 'examples', 'quickstart.yaml'),
        path.join(manifests, 'alias.yaml'),
      );
      await fs.chmod(path.join(manifests, 'alias.yaml'), 0o444);
      const r = await podman([
        'run',
        '--rm',
        ...RESTRICTED,
        '--volume',
        `${manifests}:/manifests:ro`,
        '--volume',
        `${zones}:/var/lib/apexalias/zones`,
        ...CLI_ENTRYPOINT,
        image.ref,
        'sync',
        '-f',
        '/manifests/alias.yaml',
        '--zone-dir',
        '/var/lib/apexalias/zones',
        '--resolver',
        `127.0.0.1:${upstream.endpoint.port}`,
        '--log-format',
        'text',
      ]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(await fs.readdir(zones)).toEqual(['example.com.zone']);
      expect(await fs.readFile(path.join(zones, 'example.com.zone'), 'utf8')).toMatch(
        /^@\s+60 IN A\s+192\.0\.2\.44$/m,
      );
      expect(await fs.readdir(manifests)).toEqual(['alias.yaml']);
    } finally {
      await upstream.stop();
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
