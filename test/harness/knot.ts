import fs from 'node:fs/promises';
import path from 'node:path';

import { answersSoa, queryUdp } from './dnsquery.ts';
import { freePort } from './ports.ts';
import { requireBinary, runCommand, startProcess } from './process.ts';
import type { StartServerOptions, TestDnsServer } from './server-common.ts';
import {
  ADDRESS_IN_USE,
  commonServerFields,
  makeServerDir,
  withPortRetry,
  zoneFileText,
} from './server-common.ts';
import type { TsigKey } from './tsig.ts';
import { createTsigKey } from './tsig.ts';

/** Options for {@link startKnot}. */
export type StartKnotOptions = StartServerOptions;

/** A running Knot DNS `knotd`. */
export interface KnotServer extends TestDnsServer {
  /** The control socket, for `knotc -s <socket> ...`. */
  readonly controlSocket: string;
  /**
   * UPDATE messages received since start: `mod-stats.server-operation[update]` from
   * `knotc stats` (the harness enables mod-stats globally). Counts refused updates too.
   */
  updateCount(): Promise<number>;
  /** Runs `knotc -s <socket> <args>` and returns its stdout; rejects on a non-zero exit. */
  knotc(...args: string[]): Promise<string>;
}

function q(value: string): string {
  return JSON.stringify(value);
}

/*
 * Knot's configuration parser reads a subset of YAML: block style only. The flow style
 * (`server: { rundir: ... }`) of the shared recipe is rejected with "value not supported".
 */
function knotConf(dir: string, port: number, options: StartKnotOptions, keys: TsigKey[]): string {
  const out: string[] = [];
  out.push('server:', `    rundir: ${q(dir)}`, `    listen: 127.0.0.1@${port}`);
  if (process.getuid?.() === 0) out.push('    user: root:root');
  out.push('', 'log:', '  - target: stderr', '    any: info', '');
  // Without an existing storage folder for the database, updates fail with SERVFAIL.
  out.push('database:', `    storage: ${q(path.join(dir, 'db'))}`, '');
  if (keys.length > 0) {
    out.push('key:');
    for (const k of keys)
      out.push(`  - id: ${k.name}`, `    algorithm: ${k.algorithm}`, `    secret: ${k.secret}`);
    out.push('');
  }
  const remotes: string[] = [];
  const notifyIds: string[] = [];
  options.alsoNotify?.forEach((t, i) => {
    remotes.push(`  - id: notify_${i}`, `    address: ${t.host}@${t.port}`);
    notifyIds.push(`notify_${i}`);
  });
  if (options.secondaryOf) {
    remotes.push('  - id: primary', `    address: ${options.secondaryOf.host}@${options.secondaryOf.port}`);
  }
  if (remotes.length > 0) out.push('remote:', ...remotes, '');

  const updateAcl = options.allowUpdate !== 'none' && keys.length > 0;
  out.push('acl:', '  - id: transfer_local', '    address: 127.0.0.1', '    action: transfer');
  out.push('  - id: notify_local', '    address: 127.0.0.1', '    action: notify');
  if (updateAcl) {
    out.push('  - id: ctl_update', `    key: [${keys.map((k) => k.name).join(', ')}]`, '    action: update');
  }
  out.push('');
  out.push(
    'mod-stats:',
    '  - id: default',
    '    request-protocol: on',
    '    server-operation: on',
    '    response-code: on',
    '',
  );
  out.push(
    'template:',
    '  - id: default',
    `    storage: ${q(path.join(dir, 'zones'))}`,
    '    file: "%s.zone"',
    '    global-module: mod-stats/default',
    '    zonefile-sync: -1',
    '    zonefile-load: difference-no-serial',
    '    journal-content: all',
    '',
  );
  const zoneLines: string[] = [];
  for (const zone of options.zones) {
    const acls = ['transfer_local', ...(updateAcl ? ['ctl_update'] : [])];
    zoneLines.push(`  - domain: ${zone.name}`, `    acl: [${acls.join(', ')}]`);
    if (notifyIds.length > 0) zoneLines.push(`    notify: [${notifyIds.join(', ')}]`);
  }
  for (const zone of options.secondaryOf?.zones ?? []) {
    // Knot 3.2 calls the primary "master" (renamed "primary" in 3.3).
    zoneLines.push(`  - domain: ${zone}`, '    master: primary', '    acl: [notify_local, transfer_local]');
  }
  if (zoneLines.length > 0) out.push('zone:', ...zoneLines, '');
  return `${out.join('\n')}\n`;
}

/**
 * Starts Knot DNS (`knotd`, foreground) on a free loopback port in its own temp dir, primary for
 * `zones`, with mod-stats enabled, and resolves once every zone answers SOA and the control socket
 * exists. Stop it with `stop()`.
 */
export async function startKnot(options: StartKnotOptions): Promise<KnotServer> {
  const knotd = requireBinary('knotd', 'knot');
  const knotcBin = requireBinary('knotc', 'knot');
  requireBinary('nsupdate', 'bind9-dnsutils');
  requireBinary('dig', 'bind9-dnsutils');
  const keys = options.keys ?? [createTsigKey('ctl-key')];
  const fixedPort = options.port;

  return withPortRetry(async () => {
    const dir = await makeServerDir('knot');
    const port = fixedPort ?? (await freePort());
    await fs.mkdir(path.join(dir, 'db'));
    await fs.mkdir(path.join(dir, 'zones'));
    for (const zone of options.zones) {
      await fs.writeFile(path.join(dir, 'zones', `${zone.name}.zone`), zoneFileText(zone));
    }
    const confPath = path.join(dir, 'knot.conf');
    await fs.writeFile(confPath, knotConf(dir, port, options, keys));
    const controlSocket = path.join(dir, 'knot.sock');
    const endpoint = { host: '127.0.0.1', port };
    const waitZones = [...options.zones.map((z) => z.name), ...(options.secondaryOf?.zones ?? [])];

    let proc;
    try {
      proc = await startProcess(knotd, ['-c', confPath], {
        cwd: dir,
        name: `knotd (port ${port})`,
        timeoutMs: options.timeoutMs ?? 15_000,
        failOn: ADDRESS_IN_USE,
        ready: async () => {
          await fs.access(controlSocket);
          for (const zone of waitZones) if (!(await answersSoa(endpoint, zone))) return false;
          if (waitZones.length === 0) await queryUdp(endpoint, '.', 'SOA', 500);
          return true;
        },
      });
    } catch (err) {
      await fs.rm(dir, { recursive: true, force: true });
      throw err;
    }

    const knotc = async (...args: string[]): Promise<string> => {
      const res = await runCommand(knotcBin, ['-s', controlSocket, ...args], { timeoutMs: 30_000 });
      if (res.code !== 0)
        throw new Error(`knotc ${args.join(' ')} failed (${res.code}): ${res.stderr}${res.stdout}`);
      return res.stdout;
    };
    const server: KnotServer = {
      ...commonServerFields(proc, { port, dir, keys, keepDir: options.keepDir }),
      controlSocket,
      updateCount: async () => {
        // Counters that are still zero are not printed at all, so absence means 0.
        const out = await knotc('stats', 'mod-stats.server-operation');
        const match = /server-operation\[update\]\s*=\s*(\d+)/.exec(out);
        return match?.[1] !== undefined ? Number(match[1]) : 0;
      },
      knotc,
    };
    return server;
  }, fixedPort);
}
