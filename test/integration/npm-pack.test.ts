/**
 * The npm package as a user gets it: `npm pack` of the repository, installed from the tarball into
 * an empty folder with npm (production dependencies from the registry, nothing from this
 * checkout), then `npx apexalias` run there on Node 24. `sync` writes a zone file for an alias whose
 * target a real authoritative server (TestAuthServer) answers.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TestAuthServer } from '../harness/authserver.ts';
import { runCommand } from '../harness/process.ts';
import type { CommandResult } from '../harness/process.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
const pkg = JSON.parse(await fs.readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};

/**
 * The environment of a user's shell: Node 24 (the repository's `node` devDependency, standing in
 * for an installed Node 24) first on PATH, and none of the npm_* variables that `npm test` passes
 * down, so that the package's npm sees no trace of this checkout.
 */
function userEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  env.PATH = `${path.join(REPO_ROOT, 'node_modules', 'node', 'bin')}${path.delimiter}${process.env.PATH ?? ''}`;
  env.HOME = home;
  // The user's npm settings (registry, CA) still apply: they are the machine's, not the checkout's.
  if (process.env.npm_config_cafile && !env.NODE_EXTRA_CA_CERTS)
    env.NODE_EXTRA_CA_CERTS = process.env.npm_config_cafile;
  return env;
}

interface PackResult {
  filename: string;
  files: Array<{ path: string }>;
}

let work: string;
let tarball: string;
let packed: string[];
let app: string;
let env: NodeJS.ProcessEnv;

async function must(cmd: string, args: string[], cwd: string, timeoutMs = 300_000): Promise<CommandResult> {
  const r = await runCommand(cmd, args, { cwd, env, timeoutMs });
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'apexalias-pack-'));
  // npm's cache and config of the user running the tests (the registry may need its CA).
  env = userEnv(os.homedir());
  const pack = await must('npm', ['pack', '--json', '--pack-destination', work], REPO_ROOT);
  const [result] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as PackResult[];
  tarball = path.join(work, result!.filename);
  packed = result!.files.map((f) => f.path).sort();

  app = path.join(work, 'app');
  await fs.mkdir(app);
  await fs.writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'user-app', private: true }));
  await must('npm', ['install', '--no-audit', '--no-fund', tarball], app);
}, 600_000);

afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('packs the compiled CLI, the CRD and the docs, and no sources, tests or repository tooling', () => {
    expect(packed).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'CHANGELOG.md',
        'build-info.json',
        'bin/apexalias.js',
        'dist/cli/main.js',
        'dist/controller/run.js',
        'crds/dns.apexalias.io_apexaliases.yaml',
      ]),
    );
    const outside = packed.filter(
      (f) =>
        !/^(dist\/.+\.js|crds\/[^/]+\.yaml|bin\/apexalias\.js|package\.json|README\.md|CHANGELOG\.md|build-info\.json)$/.test(
          f,
        ),
    );
    expect(outside).toEqual([]);
    expect(packed.filter((f) => f.endsWith('.ts'))).toEqual([]);
  });

  it('ships a CHANGELOG with a section for this version', async () => {
    const changelog = await fs.readFile(path.join(REPO_ROOT, 'CHANGELOG.md'), 'utf8');
    expect(changelog).toMatch(/^## \[Unreleased\]$/m);
    expect(changelog).toMatch(new RegExp(`^## \\[${pkg.version.replace(/\./g, '\\.')}\\] - `, 'm'));
    expect(changelog).toContain(
      `[${pkg.version}]: https://github.com/apexalias/apexalias/releases/tag/v${pkg.version}`,
    );
  });

  it('leaves no dist/ behind in the checkout', async () => {
    await expect(fs.stat(path.join(REPO_ROOT, 'dist'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('installs from the tarball with its production dependencies only', async () => {
    const installed = JSON.parse(
      await fs.readFile(path.join(app, 'node_modules', 'apexalias', 'package.json'), 'utf8'),
    ) as { version: string };
    expect(installed.version).toBe(pkg.version);
    for (const dep of Object.keys(pkg.dependencies))
      await expect(fs.stat(path.join(app, 'node_modules', dep, 'package.json'))).resolves.toBeTruthy();
    for (const dev of ['vitest', 'typescript', 'eslint'])
      await expect(fs.stat(path.join(app, 'node_modules', dev))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('`npx apexalias --version` runs on Node 24', async () => {
    const r = await must('npx', ['--no-install', 'apexalias', '--version'], app);
    expect(r.stdout).toContain(pkg.version);
    // The commit recorded when the package was packed, not "unknown".
    const head = (await must('git', ['rev-parse', 'HEAD'], REPO_ROOT)).stdout.trim();
    expect(r.stdout).toContain(`commit: ${head} (build)`);
    const node = await must('node', ['--version'], app);
    expect(node.stdout).toMatch(/^v24\./);
  });

  it('`npx apexalias sync` writes the zone file for an alias whose target a real server answers', async () => {
    const upstream = await TestAuthServer.start();
    try {
      upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.80'], 120);
      upstream.setAddresses('lb.demo.test', 'AAAA', ['2001:db8::80'], 120);
      const manifest = path.join(app, 'alias.yaml');
      await fs.copyFile(path.join(REPO_ROOT, 'examples', 'quickstart.yaml'), manifest);
      const r = await must(
        'npx',
        [
          '--no-install',
          'apexalias',
          'sync',
          '-f',
          manifest,
          '--zone-dir',
          path.join(app, 'zones'),
          '--resolver',
          `127.0.0.1:${upstream.endpoint.port}`,
          '--log-format',
          'text',
        ],
        app,
      );
      expect(r.code).toBe(0);
      const zone = await fs.readFile(path.join(app, 'zones', 'example.com.zone'), 'utf8');
      expect(zone).toMatch(/^@\s+120 IN A\s+192\.0\.2\.80$/m);
      expect(zone).toMatch(/^@\s+120 IN AAAA\s+2001:db8::80$/m);
      expect(zone).toMatch(
        /^_apexalias\s+120 IN TXT\s+"heritage=apexalias,owner=apexalias,resource=default\/example-com"$/m,
      );
      // The target was really asked; and the installed package has no sources it could have run.
      expect(upstream.queries({ name: 'lb.demo.test' })).toBeGreaterThan(0);
      await expect(fs.stat(path.join(app, 'node_modules', 'apexalias', 'src'))).rejects.toMatchObject({
        code: 'ENOENT',
      });
    } finally {
      await upstream.stop();
    }
  });
});
