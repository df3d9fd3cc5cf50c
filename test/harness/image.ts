/**
 * The container image for tests: podman (rootful, runc with cgroupfs, as recipes/tools.md
 * "Container images" found works in this sandbox), a local stand-in for `node:24-slim`, and a
 * build of the repository's Dockerfile on top of it.
 *
 * No registry serves base images here, so {@link ensureNodeBaseImage} makes the stand-in: a Debian
 * bookworm rootfs from mmdebstrap with Node 24 (the `bin/node` of the npm registry's `node`
 * package, as `npm ci` installed it in node_modules/) in /usr/local/bin and npm in
 * /usr/local/lib/node_modules, the layout of node:24-slim. The rootfs is cached as a tarball
 * outside git (~/.cache/apexalias/images, keyed by the Debian suite, Node, npm and architecture),
 * as tools/build.sh caches the Go tools, and imported into podman's store when missing there.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { CommandResult } from './process.ts';
import { requireBinary, runCommand } from './process.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The Debian suite of node:24-slim. */
export const DEBIAN_SUITE = 'bookworm';
/** The npm put into the stand-in base (node:24-slim ships npm 11). */
export const BASE_NPM_VERSION = '11.19.1';

/** Where the base rootfs tarballs and podman's configuration live: `APEXALIAS_IMAGE_CACHE` or ~/.cache/apexalias/images. */
export function imageCacheDir(): string {
  return process.env.APEXALIAS_IMAGE_CACHE || path.join(os.homedir(), '.cache', 'apexalias', 'images');
}

/** The binaries podman needs here; a missing one fails the test with the Debian package to install. */
function requirePodmanTools(): { podman: string; mmdebstrap: string } {
  const podman = requireBinary('podman', 'podman');
  requireBinary('runc', 'runc');
  requireBinary('newuidmap', 'uidmap');
  const mmdebstrap = requireBinary('mmdebstrap', 'mmdebstrap');
  return { podman, mmdebstrap };
}

let containersConf: string | undefined;

/**
 * containers.conf for this sandbox: it refuses the rlimits podman sets by default
 * (recipes/tools.md), so there are none.
 */
async function podmanConf(): Promise<string> {
  if (containersConf) return containersConf;
  const dir = imageCacheDir();
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, 'containers.conf');
  const text = '[containers]\ndefault_ulimits = []\n';
  if (!existsSync(file) || (await fs.readFile(file, 'utf8')) !== text) {
    const tmp = `${file}.${process.pid}`;
    await fs.writeFile(tmp, text);
    await fs.rename(tmp, file);
  }
  containersConf = file;
  return file;
}

/** The global podman options every call gets: runc with cgroupfs (crun's set-up is refused here). */
const PODMAN_GLOBAL = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs'];

/** The argv and environment of a podman call, for {@link podman} and for long-running `run`s. */
export async function podmanCommand(
  args: string[],
): Promise<{ cmd: string; args: string[]; env: Record<string, string> }> {
  const { podman: bin } = requirePodmanTools();
  return { cmd: bin, args: [...PODMAN_GLOBAL, ...args], env: { CONTAINERS_CONF: await podmanConf() } };
}

/** Runs podman to completion; never rejects for a non-zero exit. */
export async function podman(
  args: string[],
  opts: { input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<CommandResult> {
  const c = await podmanCommand(args);
  return runCommand(c.cmd, c.args, {
    input: opts.input,
    cwd: opts.cwd,
    timeoutMs: opts.timeoutMs ?? 120_000,
    env: { ...process.env, ...c.env },
  });
}

/** Like {@link podman}, but rejects with podman's stderr on a non-zero exit; resolves with stdout. */
export async function mustPodman(
  args: string[],
  opts: { input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<string> {
  const r = await podman(args, opts);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}`);
  return r.stdout;
}

/** The Node 24 binary that `npm ci` installed from the `node` package, and its version. */
async function repoNode(): Promise<{ bin: string; version: string }> {
  const pkg = path.join(REPO_ROOT, 'node_modules', 'node', 'package.json');
  const bin = path.join(REPO_ROOT, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(pkg) || !existsSync(bin))
    throw new Error('node_modules/node is missing: run `npm ci` (the `node` devDependency brings Node 24).');
  const { version } = JSON.parse(await fs.readFile(pkg, 'utf8')) as { version: string };
  if (!version.startsWith('24.')) throw new Error(`node_modules/node is Node ${version}, not Node 24`);
  return { bin, version };
}

/** The podman architecture name of this machine (what the base's Node binary is built for). */
function arch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

/** A shell hook of mmdebstrap; `$1` is the root of the new filesystem. */
const NPM_HOOK = (tarball: string): string =>
  [
    'set -eu',
    'mkdir -p "$1/usr/local/lib/node_modules"',
    `tar -xzf '${tarball}' --no-same-owner -C "$1/usr/local/lib/node_modules"`,
    'mv "$1/usr/local/lib/node_modules/package" "$1/usr/local/lib/node_modules/npm"',
    'ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"',
    'ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"',
  ].join(' && ');

/**
 * The local stand-in for node:24-slim, imported into podman when missing (and built into the
 * cache first when the tarball is missing: about a minute, network for Debian's and npm's
 * packages). Resolves with its image reference.
 */
export async function ensureNodeBaseImage(): Promise<string> {
  const { mmdebstrap } = requirePodmanTools();
  const node = await repoNode();
  const key = `${DEBIAN_SUITE}-node${node.version}-npm${BASE_NPM_VERSION}-${arch()}`;
  const ref = `localhost/apexalias-node-base:${key}`;
  if ((await podman(['image', 'exists', ref])).code === 0) return ref;

  const dir = imageCacheDir();
  await fs.mkdir(dir, { recursive: true });
  const tarball = path.join(dir, `node-base-${key}.tar`);
  if (!existsSync(tarball)) {
    const work = await fs.mkdtemp(path.join(dir, 'build-'));
    try {
      const npm = await runCommand('npm', ['pack', `npm@${BASE_NPM_VERSION}`, '--pack-destination', work], {
        cwd: work,
        env: process.env,
        timeoutMs: 120_000,
      });
      if (npm.code !== 0) throw new Error(`npm pack npm@${BASE_NPM_VERSION} failed:\n${npm.stderr}`);
      const npmTarball = path.join(work, `npm-${BASE_NPM_VERSION}.tgz`);
      const out = path.join(work, 'rootfs.tar');
      const r = await runCommand(
        mmdebstrap,
        [
          '--variant=minbase',
          '--include=ca-certificates',
          `--customize-hook=copy-in ${node.bin} /usr/local/bin`,
          `--customize-hook=${NPM_HOOK(npmTarball)}`,
          '--customize-hook=chroot "$1" node --version',
          '--customize-hook=chroot "$1" npm --version',
          DEBIAN_SUITE,
          out,
        ],
        { env: process.env, timeoutMs: 600_000 },
      );
      if (r.code !== 0) throw new Error(`mmdebstrap failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
      await fs.rename(out, tarball);
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  }
  await mustPodman(
    [
      'import',
      '--change',
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--change',
      'CMD ["node"]',
      tarball,
      ref,
    ],
    { timeoutMs: 300_000 },
  );
  return ref;
}

/**
 * An npmrc for the image build's `npm ci` (the Dockerfile's `npmrc` build secret): the registry
 * and CA file this machine's npm uses, so that the build works behind a TLS-intercepting proxy
 * too. The CA certificates are inlined (`ca[]=`), since the file is not inside the build.
 */
export async function hostNpmrc(file: string): Promise<void> {
  const get = async (key: string): Promise<string> => {
    const r = await runCommand('npm', ['config', 'get', key], { env: process.env, timeoutMs: 30_000 });
    return r.code === 0 ? r.stdout.trim() : '';
  };
  const lines = [`registry=${(await get('registry')) || 'https://registry.npmjs.org/'}`];
  const cafile = (await get('cafile')) || process.env.NODE_EXTRA_CA_CERTS || '';
  if (cafile && cafile !== 'null' && existsSync(cafile)) {
    const pem = await fs.readFile(cafile, 'utf8');
    for (const cert of pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [])
      lines.push(`ca[]="${cert.replace(/\r?\n/g, '\\n')}"`);
  }
  await fs.writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
}

/** What {@link buildImage} built. */
export interface BuiltImage {
  /** The tag, `localhost/apexalias:test-…`. */
  ref: string;
  /** The base it was built on. */
  base: string;
  /** podman build's output. */
  log: string;
  /** Removes the tag (and the image, when nothing else uses it). */
  remove(): Promise<void>;
}

/**
 * `podman build` of the repository's Dockerfile on {@link ensureNodeBaseImage}, with the given
 * build args, never pulling. Intermediate layers are not kept, so repeated runs do not pile up.
 */
export async function buildImage(buildArgs: Record<string, string> = {}): Promise<BuiltImage> {
  const base = await ensureNodeBaseImage();
  const ref = `localhost/apexalias:test-${process.pid}-${Date.now()}`;
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'apexalias-image-'));
  try {
    const npmrc = path.join(work, 'npmrc');
    await hostNpmrc(npmrc);
    const args = [
      'build',
      '--pull=never',
      '--layers=false',
      '--force-rm',
      '--secret',
      `id=npmrc,src=${npmrc}`,
    ];
    for (const [k, v] of Object.entries({ BASE: base, ...buildArgs })) args.push('--build-arg', `${k}=${v}`);
    args.push('--tag', ref, REPO_ROOT);
    const r = await podman(args, { timeoutMs: 600_000 });
    if (r.code !== 0)
      throw new Error(`podman build failed (exit ${r.code}):\n${(r.stdout + r.stderr).slice(-6000)}`);
    return {
      ref,
      base,
      log: r.stdout + r.stderr,
      remove: async () => {
        await podman(['rmi', '--force', ref]);
      },
    };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
