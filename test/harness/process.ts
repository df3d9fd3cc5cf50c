import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Options for {@link startProcess}. */
export interface StartProcessOptions {
  cwd?: string;
  /** Added to (not replacing) the current environment. */
  env?: Record<string, string>;
  /**
   * Polled every 25 ms with the output so far until it resolves true. A throw counts as "not
   * yet". Default: ready as soon as the process has spawned.
   */
  ready?: (output: string) => Promise<boolean>;
  /** How long `ready` may take before the start fails. Default 15 s. */
  timeoutMs?: number;
  /** Shown in errors; defaults to the command's base name. */
  name?: string;
  /** Fail the start at once when the output matches (e.g. "address in use"), instead of timing out. */
  failOn?: RegExp;
  /** Sees all of stdout and stderr as it arrives, beyond the 64 KiB that `output()` keeps. */
  onOutput?: (chunk: Buffer) => void;
}

/** A child process started by the harness. */
export interface ManagedProcess {
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 3 s. Resolves once the process has exited. Safe to call twice. */
  stop(): Promise<void>;
  /** The last 64 KiB of stdout and stderr, interleaved as they arrived. */
  output(): string;
  /** True once the process has exited. */
  exited(): boolean;
}

const RING_BYTES = 64 * 1024;
const KILL_AFTER_MS = 3_000;

const live = new Map<number, ChildProcess>();
let cleanupInstalled = false;

function killAllNow(): void {
  for (const [pid, child] of live) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  live.clear();
}

/**
 * Kills every server this process started when the process exits, even after a crash or an
 * interrupt, so a failing test cannot leave named or knotd behind. A SIGKILL of the test worker
 * itself cannot be caught; then the servers outlive it.
 */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllNow();
      // Keep the default behaviour (exit) unless somebody else also handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Spawns `cmd args`, captures its output, and resolves once `ready()` returns true. Rejects with
 * the process's last output when it exits first or `ready` stays false for `timeoutMs`; the
 * process is stopped in both cases.
 */
export async function startProcess(
  cmd: string,
  args: string[],
  options: StartProcessOptions = {},
): Promise<ManagedProcess> {
  installCleanup();
  const name = options.name ?? path.basename(cmd);
  const timeoutMs = options.timeoutMs ?? 15_000;
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let ring = Buffer.alloc(0);
  const append = (chunk: Buffer): void => {
    options.onOutput?.(chunk);
    ring = Buffer.concat([ring, chunk]);
    if (ring.length > RING_BYTES) ring = ring.subarray(ring.length - RING_BYTES);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  let spawnError: Error | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      spawnError = err;
      resolve();
    });
    child.once('close', () => resolve());
  });
  const hasExited = (): boolean =>
    spawnError !== undefined || child.exitCode !== null || child.signalCode !== null;

  await new Promise<void>((resolve) => {
    child.once('spawn', () => resolve());
    child.once('error', () => resolve());
  });
  if (spawnError !== undefined || child.pid === undefined) {
    throw new Error(`${name}: could not start ${cmd}: ${spawnError?.message ?? 'no pid'}`);
  }
  const pid = child.pid;
  live.set(pid, child);

  let stopping: Promise<void> | undefined;
  const handle: ManagedProcess = {
    pid,
    output: () => ring.toString('utf8'),
    exited: hasExited,
    stop: () => {
      stopping ??= (async () => {
        if (!hasExited()) {
          child.kill('SIGTERM');
          const killTimer = setTimeout(() => {
            if (!hasExited()) child.kill('SIGKILL');
          }, KILL_AFTER_MS);
          await exitedPromise;
          clearTimeout(killTimer);
        }
        live.delete(pid);
      })();
      return stopping;
    },
  };

  const ready = options.ready ?? (async () => true);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (hasExited()) {
      await handle.stop();
      const how = child.signalCode ? `signal ${child.signalCode}` : `exit code ${child.exitCode}`;
      throw new Error(`${name} exited during startup (${how}). Last output:\n${handle.output()}`);
    }
    if (options.failOn?.test(handle.output())) {
      await handle.stop();
      throw new Error(
        `${name} failed to start (${String(options.failOn)}). Last output:\n${handle.output()}`,
      );
    }
    let ok: boolean;
    try {
      ok = await ready(handle.output());
    } catch {
      ok = false;
    }
    if (ok && !hasExited()) return handle;
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`${name} was not ready after ${timeoutMs} ms. Last output:\n${handle.output()}`);
    }
    await sleep(25);
  }
}

const EXTRA_BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * The absolute path of `name`, searched in PATH and the sbin folders (named and knotd live in
 * /usr/sbin, which a non-root PATH often lacks). Throws an Error naming the Debian package when
 * it is missing: tests never skip a real component, they fail.
 */
export function requireBinary(name: string, debPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_BIN_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // Not here.
    }
  }
  throw new Error(
    `Required binary "${name}" was not found (searched PATH and ${EXTRA_BIN_DIRS.join(', ')}). ` +
      `Install the Debian package "${debPackage}": ` +
      `apt-get install -y --no-install-recommends ${debPackage}. ` +
      '`npm test` installs it through scripts/install-test-deps.sh. ' +
      'Tests never skip a missing component.',
  );
}

/** Result of {@link runCommand}. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a short-lived command to completion (dig, nsupdate, knotc) and returns its exit code and
 * output; never rejects for a non-zero exit. `input` is written to stdin. `onSpawn` gets the
 * child's PID as soon as it runs (a benchmark samples its CPU and memory in /proc).
 */
export function runCommand(
  cmd: string,
  args: string[],
  options: {
    input?: string;
    timeoutMs?: number;
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    onSpawn?: (pid: number) => void;
  } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    if (options.onSpawn) child.once('spawn', () => options.onSpawn!(child.pid!));
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {
      // The command may exit before reading stdin.
    });
    child.stdin.end(options.input ?? '');
  });
}
