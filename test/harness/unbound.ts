import fs from 'node:fs/promises';
import path from 'node:path';

import type { DigOptions, DigResult } from './dig.ts';
import { dig } from './dig.ts';
import { queryUdp } from './dnsquery.ts';
import { freePort } from './ports.ts';
import { requireBinary, runCommand, startProcess } from './process.ts';
import { ADDRESS_IN_USE, makeServerDir, withPortRetry } from './server-common.ts';

/** Options for {@link startUnbound}. */
export interface StartUnboundOptions {
  /** Zones Unbound sends to an authoritative server on loopback instead of the root (stub-zone). */
  stubs: Array<{ zone: string; host: string; port: number }>;
  /**
   * Trust anchors, each a DNSKEY or DS record in presentation format
   * (`zone. 3600 IN DNSKEY 257 3 13 <key>`). None: Unbound validates nothing (every answer is
   * insecure), which is also what a resolver that does not validate looks like.
   */
  trustAnchors?: string[];
  /** Attach Extended DNS Errors (RFC 8914) to answers (`ede: yes`). Default false, as in Unbound. */
  ede?: boolean;
  /** Leave the validator module out: Unbound then recurses without validating. Default true. */
  validate?: boolean;
  /** The DNS port. Default: a free one. */
  port?: number;
  /** Startup timeout. Default 15 s. */
  timeoutMs?: number;
}

/** A running Unbound recursive resolver. */
export interface UnboundServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly pid: number;
  /** The configuration file it runs with. */
  readonly config: string;
  /** Asks it with real `dig` (recursion desired, so it resolves and validates). */
  dig(name: string, type: string, options?: DigOptions): Promise<DigResult>;
  /** Its last 64 KiB of log output (validation failures are logged at `val-log-level: 2`). */
  output(): string;
  /** Stops it and removes its dir. Safe to call twice. */
  stop(): Promise<void>;
}

function unboundConf(dir: string, port: number, options: StartUnboundOptions): string {
  const q = (s: string): string => JSON.stringify(s);
  const lines = [
    'server:',
    `  interface: 127.0.0.1@${port}`,
    `  port: ${port}`,
    '  do-daemonize: no',
    '  username: ""',
    '  chroot: ""',
    `  directory: ${q(dir)}`,
    `  pidfile: ${q(path.join(dir, 'unbound.pid'))}`,
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 1',
    '  val-log-level: 2',
    '  do-ip6: no',
    // The stubs live on 127.0.0.1, which Unbound refuses to query by default.
    '  do-not-query-localhost: no',
    // Without it, Unbound answers NXDOMAIN for all of .test (RFC 6761 default local zone).
    '  local-zone: "test." nodefault',
    '  access-control: 127.0.0.0/8 allow',
    `  module-config: ${q(options.validate === false ? 'iterator' : 'validator iterator')}`,
    `  ede: ${options.ede ? 'yes' : 'no'}`,
    ...(options.trustAnchors ?? []).map((anchor) => `  trust-anchor: ${q(anchor)}`),
    'remote-control:',
    '  control-enable: no',
  ];
  for (const stub of options.stubs) {
    lines.push('stub-zone:', `  name: ${q(stub.zone)}`, `  stub-addr: ${stub.host}@${stub.port}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Starts Unbound (`unbound -d`) on a free loopback port in its own temp dir, with the recipe's
 * settings (docs: /work/shared/recipes/real-servers.md), and resolves once it answers. The
 * configuration is checked with `unbound-checkconf` first, so a mistake fails with its message.
 */
export async function startUnbound(options: StartUnboundOptions): Promise<UnboundServer> {
  const unbound = requireBinary('unbound', 'unbound');
  const checkconf = requireBinary('unbound-checkconf', 'unbound');
  requireBinary('dig', 'bind9-dnsutils');
  const fixedPort = options.port;
  return withPortRetry(async () => {
    const dir = await makeServerDir('unbound');
    const port = fixedPort ?? (await freePort());
    const config = path.join(dir, 'unbound.conf');
    await fs.writeFile(config, unboundConf(dir, port, options));
    const checked = await runCommand(checkconf, [config]);
    if (checked.code !== 0) {
      await fs.rm(dir, { recursive: true, force: true });
      throw new Error(`unbound-checkconf refused ${config}:\n${checked.stdout}${checked.stderr}`);
    }
    const endpoint = { host: '127.0.0.1', port };
    let proc;
    try {
      proc = await startProcess(unbound, ['-d', '-c', config], {
        cwd: dir,
        name: `unbound (port ${port})`,
        timeoutMs: options.timeoutMs ?? 15_000,
        failOn: ADDRESS_IN_USE,
        // "invalid." is one of Unbound's own local zones: any answer proves it is serving.
        ready: async () => (await queryUdp(endpoint, 'ready.invalid', 'A', 500)) !== undefined,
      });
    } catch (err) {
      await fs.rm(dir, { recursive: true, force: true });
      throw err;
    }
    const started = proc;
    return {
      host: '127.0.0.1',
      port,
      pid: started.pid,
      config,
      dig: (name, type, digOptions = {}) =>
        dig(endpoint, name, type, { ...digOptions, extraArgs: ['+rec', ...(digOptions.extraArgs ?? [])] }),
      output: started.output,
      stop: async () => {
        await started.stop();
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  }, fixedPort);
}
