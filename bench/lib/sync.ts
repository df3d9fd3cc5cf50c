/** `apexalias sync` as a contender: one standalone pass over manifest files, as a user runs it. */
import path from 'node:path';

import { runCommand } from '../../test/harness/process.ts';
import { REPO_ROOT } from './cli.ts';

/** The summary `sync -o json` prints. */
export interface SyncSummary {
  records: number;
  lookups: number;
  writes: number;
  changed: number;
  failed: number;
}

/**
 * Runs `apexalias --config <config> [--log-level L] sync -f <manifests> -o json` from the
 * repository root and returns its wall time (process start-up included) and summary; throws
 * when it exits non-zero. `env` is added to the bench's environment; `onSpawn` gets the PID.
 * Not test/harness/cli.ts's runSync: that one logs at debug, buffers at most 1 MiB of output
 * (a report of 100,000 aliases is larger) and gives no PID to sample.
 */
export async function syncOnce(
  config: string,
  manifests: string,
  opts: {
    logLevel?: string;
    env?: Record<string, string>;
    onSpawn?: (pid: number) => void;
    timeoutMs?: number;
  } = {},
): Promise<{ seconds: number; summary: SyncSummary }> {
  const args = [
    path.join(REPO_ROOT, 'bin/apexalias.js'),
    '--config',
    config,
    ...(opts.logLevel ? ['--log-level', opts.logLevel] : []),
    'sync',
    '-f',
    manifests,
    '-o',
    'json',
  ];
  const started = performance.now();
  const r = await runCommand(process.execPath, args, {
    cwd: REPO_ROOT,
    timeoutMs: opts.timeoutMs ?? 600_000,
    env: opts.env ? { ...process.env, ...opts.env } : undefined,
    onSpawn: opts.onSpawn,
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.code !== 0) throw new Error(`apexalias sync exited ${r.code}:\n${r.stderr.slice(-4000)}`);
  return { seconds, summary: (JSON.parse(r.stdout) as { summary: SyncSummary }).summary };
}
