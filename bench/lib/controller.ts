/**
 * `apexalias controller` as a contender: one process (no leader election, log level info) that
 * watches one namespace, optionally under the V8 CPU profiler or ready to write a heap snapshot.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { startController } from '../../test/harness/controller.ts';
import type { ControllerProcess } from '../../test/harness/controller.ts';

/** How the bench starts the controller. */
export interface BenchControllerOptions {
  config: string;
  kubeconfig: string;
  namespace: string;
  identity: string;
  /** Write a V8 CPU profile (`node --cpu-prof`) into this folder when the controller exits. */
  cpuProfDir?: string;
  /** Let SIGUSR2 write a heap snapshot (`node --heapsnapshot-signal`) into this folder. */
  heapSnapshotDir?: string;
}

/** Starts the controller; the flags it runs with are {@link controllerFlags}. */
export async function startBenchController(o: BenchControllerOptions): Promise<ControllerProcess> {
  const nodeArgs: string[] = [];
  if (o.cpuProfDir) {
    await mkdir(o.cpuProfDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`);
  }
  if (o.heapSnapshotDir) {
    await mkdir(o.heapSnapshotDir, { recursive: true });
    nodeArgs.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${o.heapSnapshotDir}`);
  }
  return startController({
    config: o.config,
    kubeconfig: o.kubeconfig,
    identity: o.identity,
    nodeArgs,
    extra: controllerFlags(o.namespace),
  });
}

/** The controller flags of every bench: one replica, one namespace, log level info. */
export function controllerFlags(namespace: string): string[] {
  return ['--no-leader-elect', '--namespace', namespace, '--log-level', 'info'];
}

/** Warnings and errors the controller logged. */
export function controllerLogSummary(c: ControllerProcess): {
  warnings: number;
  errors: number;
  firstProblems: string[];
} {
  const logs = c.logs();
  const problems = logs.filter((l) => l.level === 'warn' || l.level === 'error');
  return {
    warnings: logs.filter((l) => l.level === 'warn').length,
    errors: logs.filter((l) => l.level === 'error').length,
    firstProblems: problems.slice(0, 5).map((l) => JSON.stringify(l).slice(0, 400)),
  };
}

/**
 * Sends SIGUSR2 (the controller must run with `heapSnapshotDir`) and waits until the snapshot is
 * written: V8 writes it on the main thread, so once the file exists and /healthz answers again,
 * the file is complete. Returns its path.
 */
export async function takeHeapSnapshot(
  c: ControllerProcess,
  dir: string,
  timeoutMs = 600_000,
): Promise<string> {
  const before = new Set(await readdir(dir));
  const port = await c.port();
  c.child.kill('SIGUSR2');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const file = (await readdir(dir)).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (file) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if ((await stat(path.join(dir, file))).size > 0) return path.join(dir, file);
      } catch {
        // Still writing: the event loop is blocked.
      }
    }
    if (Date.now() > deadline) throw new Error(`no heap snapshot appeared in ${dir} within ${timeoutMs} ms`);
    if (c.child.exitCode !== null) throw new Error('the controller exited while writing a heap snapshot');
    await sleep(250);
  }
}
