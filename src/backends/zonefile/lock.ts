import { randomUUID } from 'node:crypto';
import { BackendError } from '../errors.ts';
import { errorCode } from './fs.ts';
import type { ZoneFileFs } from './fs.ts';

/** How the lock waits and decides that a holder is gone. */
export interface LockOptions {
  fs: ZoneFileFs;
  /** The longest wait for another holder before giving up. */
  timeoutMs: number;
  /**
   * A lock file whose content cannot be read as a holder counts as being written for this
   * long (the holder creates it empty with O_EXCL and fills it right after), then as stale.
   */
  unreadableGraceMs: number;
  pid: number;
  hostname: string;
  /** Whether a process with this PID exists on this host. */
  isAlive: (pid: number) => boolean;
  /** Epoch milliseconds. */
  clock: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** Who holds a lock, as written in the lock file. */
export interface LockHolder {
  pid: number;
  host?: string;
  token?: string;
  since?: string;
}

/** Releases a lock; resolves once the lock file is gone. Never throws. */
export type ReleaseLock = () => Promise<void>;

/**
 * Tokens of the locks this process holds. A lock file with this process's PID but a token not
 * in here was left by an earlier process that had the same PID (PID 1 in a restarted container).
 */
const heldTokens = new Set<string>();

/** The default liveness probe: signal 0 checks existence without sending anything. */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return errorCode(error) !== 'ESRCH';
  }
}

/** The holder described by a lock file: the JSON apexalias writes, or a bare PID. */
export function parseHolder(content: string): LockHolder | undefined {
  const text = content.trim();
  if (/^\d+$/.test(text)) return { pid: Number(text) };
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid !== 'number' || !Number.isInteger(value.pid) || value.pid <= 0) return undefined;
    return {
      pid: value.pid,
      ...(typeof value.host === 'string' ? { host: value.host } : {}),
      ...(typeof value.token === 'string' ? { token: value.token } : {}),
      ...(typeof value.since === 'string' ? { since: value.since } : {}),
    };
  } catch {
    return undefined;
  }
}

function describe(holder: LockHolder | undefined): string {
  if (!holder) return 'a holder that left no readable PID';
  return `PID ${holder.pid}${holder.host ? ` on ${holder.host}` : ''}${holder.since ? ` since ${holder.since}` : ''}`;
}

async function readOrUndefined(fs: ZoneFileFs, path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

async function isStale(path: string, content: string, opts: LockOptions): Promise<boolean> {
  const holder = parseHolder(content);
  if (!holder) {
    try {
      const { mtimeMs } = await opts.fs.stat(path);
      return opts.clock() - mtimeMs > opts.unreadableGraceMs;
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw error;
    }
  }
  // A PID means nothing on another host (a shared volume): wait for it, then time out loudly.
  if (holder.host !== undefined && holder.host !== opts.hostname) return false;
  if (holder.pid === opts.pid) {
    if (holder.token !== undefined && heldTokens.has(holder.token)) return false;
    // Not a lock this process holds now. It may be one it has just released, read before the
    // release: a holder unlinks its file before it forgets the token, so only a file that still
    // holds the same content is a leftover. Breaking on the old read would move aside the lock
    // of whoever took it next, and let a third taker in beside them.
    return (await readOrUndefined(opts.fs, path)) === content;
  }
  return !opts.isAlive(holder.pid);
}

/**
 * Moves a stale lock out of the way. Renaming (not unlinking) makes sure that of several waiters
 * that found the same stale lock only one removes it; the content check catches the case where
 * the stale lock was replaced by a live one between our read and our rename, and puts that back.
 */
async function breakLock(path: string, observed: string, opts: LockOptions): Promise<void> {
  const aside = `${path}.stale-${opts.pid}-${randomUUID().slice(0, 8)}`;
  try {
    await opts.fs.rename(path, aside);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw error;
  }
  const moved = await readOrUndefined(opts.fs, aside);
  if (moved !== observed) {
    // `link` fails with EEXIST when yet another process took the lock meanwhile; nothing is
    // left to restore then.
    await opts.fs.link(aside, path).catch(() => undefined);
  }
  await opts.fs.unlink(aside).catch(() => undefined);
}

/**
 * Takes the exclusive lock `path` (a file created with O_CREAT|O_EXCL holding the holder's PID,
 * host and a token), waiting with backoff up to `timeoutMs`. A lock whose holder is dead on this
 * host is recovered.
 * @throws BackendError `SERVER` (detail `LOCKED`) when the wait runs out; I/O errors as they are.
 */
export async function acquireLock(path: string, opts: LockOptions): Promise<ReleaseLock> {
  const token = randomUUID();
  const content = `${JSON.stringify({
    pid: opts.pid,
    host: opts.hostname,
    token,
    since: new Date(opts.clock()).toISOString(),
  })}\n`;
  const deadline = opts.clock() + opts.timeoutMs;
  let delay = 2;
  for (;;) {
    try {
      // The token is registered first so that a waiter in this process never judges it stale.
      heldTokens.add(token);
      await opts.fs.writeFile(path, content, { encoding: 'utf8', flag: 'wx', mode: 0o644 });
      break;
    } catch (error) {
      heldTokens.delete(token);
      if (errorCode(error) !== 'EEXIST') throw error;
    }
    const existing = await readOrUndefined(opts.fs, path);
    if (existing === undefined) continue;
    if (await isStale(path, existing, opts)) {
      await breakLock(path, existing, opts);
      continue;
    }
    const left = deadline - opts.clock();
    if (left <= 0) {
      throw new BackendError(
        'SERVER',
        'LOCKED',
        `timed out after ${opts.timeoutMs} ms waiting for the lock ${path}, held by ` +
          `${describe(parseHolder(existing))}; remove the file if that process is gone`,
      );
    }
    await opts.sleep(Math.min(delay, left));
    delay = Math.min(delay * 2, 50);
  }

  return async () => {
    try {
      if ((await readOrUndefined(opts.fs, path)) === content) await opts.fs.unlink(path);
    } catch {
      // The next taker recovers a lock left behind: its holder (this process) no longer claims it.
    }
    heldTokens.delete(token);
  };
}
