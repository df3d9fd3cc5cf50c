import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/** A controller process started from bin/apexalias.js, with its JSON log lines collected. */
export interface ControllerProcess {
  readonly child: ChildProcess;
  readonly identity: string;
  logs(): Array<Record<string, unknown>>;
  /** The port of /healthz, /readyz and /metrics, once the controller logged it. */
  port(): Promise<number>;
  /** SIGTERM and wait; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash, with no chance to release the Lease. */
  kill(): Promise<void>;
}

/**
 * Starts `apexalias controller` with the given global and command arguments; `nodeArgs` go to
 * Node itself, before the script (e.g. `--cpu-prof`).
 */
export function startController(args: {
  config: string;
  kubeconfig: string;
  identity: string;
  extra?: string[];
  nodeArgs?: string[];
}): ControllerProcess {
  const child = spawn(
    process.execPath,
    [
      ...(args.nodeArgs ?? []),
      'bin/apexalias.js',
      '--config',
      args.config,
      '--log-format',
      'json',
      '--log-level',
      'debug',
      'controller',
      '--kubeconfig',
      args.kubeconfig,
      '--identity',
      args.identity,
      '--health-port',
      '0',
      '--metrics-port',
      '0',
      '--bind-address',
      '127.0.0.1',
      ...(args.extra ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: Array<Record<string, unknown>> = [];
  let buffer = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ message: line, raw: true });
      }
    }
  });
  child.stdout!.resume();
  const exited = once(child, 'exit');
  return {
    child,
    identity: args.identity,
    logs: () => lines,
    async port() {
      for (let i = 0; i < 300; i++) {
        const line = lines.find((l) => l.message === 'serving probes and metrics');
        if (line) return Number(line.health);
        if (child.exitCode !== null) throw new Error(`controller exited: ${JSON.stringify(lines.slice(-5))}`);
        await sleep(100);
      }
      throw new Error('controller did not start its probe server');
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export { waitFor } from './poll.ts';
