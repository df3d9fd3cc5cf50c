/**
 * `npx apexalias sync --watch` without a terminal: npm runs the bin under `sh -c`, and sh passes
 * no signal on. A SIGTERM to npm (a CI job cancelled, a service manager stopping it) used to leave
 * apexalias running as an orphan; now it stops as on its own SIGTERM.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestAuthServer } from '../harness/authserver.ts';

/** Processes below `root` (by PID), from /proc. */
async function descendants(root: number): Promise<{ pid: number; argv: string[] }[]> {
  const parents = new Map<number, number>();
  const argvs = new Map<number, string[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: the fields start after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
      argvs.set(Number(entry), (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0'));
    } catch {
      // The process ended while it was read.
    }
  }
  const out: { pid: number; argv: string[] }[] = [];
  const walk = (pid: number): void => {
    for (const [child, parent] of parents) {
      if (parent !== pid) continue;
      out.push({ pid: child, argv: argvs.get(child) ?? [] });
      walk(child);
    }
  };
  walk(root);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npx apexalias sync --watch, signalled without a terminal', () => {
  let upstream: TestAuthServer;
  let dir: string;
  beforeAll(async () => {
    upstream = await TestAuthServer.start();
    upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 300);
    dir = await mkdtemp(join(tmpdir(), 'apexalias-signals-'));
  });
  afterAll(async () => {
    await upstream?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a SIGTERM to npm stops apexalias too: no orphaned process is left behind', async () => {
    await writeFile(
      join(dir, 'alias.yaml'),
      JSON.stringify({
        apiVersion: 'dns.apexalias.io/v1alpha1',
        kind: 'ApexAlias',
        metadata: { name: 'w' },
        spec: { zone: 'example.com', target: 'lb.demo.test', addressFamilies: ['IPv4'] },
      }),
    );
    const zoneDir = join(dir, 'zones');
    // detached: a session of its own, so no terminal and no process-group signal reaches it.
    const npm = spawn(
      'npx',
      [
        '--yes',
        'apexalias',
        '--resolver',
        `127.0.0.1:${upstream.endpoint.port}`,
        'sync',
        '-f',
        join(dir, 'alias.yaml'),
        '--zone-dir',
        zoneDir,
        '--watch',
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    npm.stdout.on('data', (d) => (output += String(d)));
    npm.stderr.on('data', (d) => (output += String(d)));
    // The pipes close only when every process holding them, apexalias included, has exited.
    const closed = new Promise<void>((resolve) => npm.stderr.once('close', () => resolve()));
    let cli: number | undefined;
    try {
      let written = false;
      for (let i = 0; i < 150 && !(written && cli); i++) {
        await sleep(200);
        cli ??= (await descendants(npm.pid!)).find(
          (p) => p.argv.includes('--watch') && p.argv[0]?.endsWith('node'),
        )?.pid;
        written = (await readFile(join(zoneDir, 'example.com.zone'), 'utf8').catch(() => '')).includes(
          '192.0.2.1',
        );
      }
      expect(written, output).toBe(true);
      expect(cli, `apexalias under npm: ${output}`).toBeDefined();
      // The apexalias process is not npm's own child: sh stands between them.
      expect((await descendants(npm.pid!)).some((p) => p.argv[0] === 'sh' || p.argv[0] === '/bin/sh')).toBe(
        true,
      );

      npm.kill('SIGTERM');
      let gone = false;
      for (let i = 0; i < 50 && !gone; i++) {
        await sleep(100);
        gone = !alive(cli!);
      }
      expect(gone, `apexalias (PID ${cli}) still runs after npm was stopped:\n${output}`).toBe(true);
      await closed;
      expect(output).toMatch(/"message":"stopping".*"signal":"SIGTERM"/);
    } finally {
      if (cli !== undefined && alive(cli)) process.kill(cli, 'SIGKILL');
      if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
    }
  });
});
