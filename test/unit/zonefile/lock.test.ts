import { execFile, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { readdir, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ZoneFileBackend } from '../../../src/backends/zonefile/backend.ts';
import type { ZoneFileBackendOptions } from '../../../src/backends/zonefile/backend.ts';
import { nodeFs } from '../../../src/backends/zonefile/fs.ts';
import type { ZoneFileFs } from '../../../src/backends/zonefile/fs.ts';
import { parseHolder } from '../../../src/backends/zonefile/lock.ts';
import { parseZoneFile } from '../../../src/backends/zonefile/parse.ts';
import type { ApplyResult } from '../../../src/backends/types.ts';
import { claim, NOW, rrset, tempDir, ZONE } from './helpers.ts';

const run = promisify(execFile);

let dir: string;
let cleanup: () => Promise<void>;
let path: string;
let lockPath: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  path = join(dir, `${ZONE}.zone`);
  lockPath = `${path}.lock`;
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill();
  await cleanup();
});

function backend(opts: Partial<ZoneFileBackendOptions> = {}): ZoneFileBackend {
  return new ZoneFileBackend({ name: 'files', directory: dir, zones: [ZONE], now: () => NOW, ...opts });
}

function expectLanded(result: ApplyResult): void {
  expect(result.chunks.map((c) => c.error?.message)).toEqual([undefined]);
}

/** The PID of a process that has exited. */
function deadPid(): number {
  const pid = spawnSync('true').pid;
  expect(pid).toBeGreaterThan(0);
  return pid;
}

/** A process that stays alive until the test ends. */
function livePid(): number {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  expect(child.pid).toBeGreaterThan(0);
  return child.pid as number;
}

async function addresses(): Promise<string[]> {
  const records = parseZoneFile(await readFile(path, 'utf8'), ZONE);
  return records.filter((r) => r.type === 'A' && r.name !== `ns1.${ZONE}`).map((r) => `${r.name} ${r.rdata}`);
}

async function serial(): Promise<number> {
  const records = parseZoneFile(await readFile(path, 'utf8'), ZONE);
  return Number(records.find((r) => r.type === 'SOA')?.rdata.split(' ')[2]);
}

describe('zone file lock', () => {
  it('serialises parallel applies in one process: both land, one after the other', async () => {
    const events: string[] = [];
    const tracingFs: ZoneFileFs = {
      ...nodeFs,
      writeFile: async (p, data, options) => {
        await nodeFs.writeFile(p, data, options);
        if (p === lockPath) events.push('lock');
      },
      unlink: async (p) => {
        if (p === lockPath) events.push('unlock');
        return nodeFs.unlink(p);
      },
      rename: async (from, to) => {
        if (to === path) events.push('write');
        return nodeFs.rename(from, to);
      },
    };
    const first = backend({ fs: tracingFs });
    const second = backend({ fs: tracingFs });
    const results = await Promise.all([
      first.apply(ZONE, [claim('a.example.com', { A: rrset(60, '192.0.2.1') })]),
      second.apply(ZONE, [claim('b.example.com', { A: rrset(60, '192.0.2.2') })]),
    ]);
    results.forEach(expectLanded);
    expect(events).toEqual(['lock', 'write', 'unlock', 'lock', 'write', 'unlock']);
    expect(await addresses()).toEqual(['a.example.com 192.0.2.1', 'b.example.com 192.0.2.2']);
    expect(await serial()).toBe(2025112501);
    await expect(readdir(dir)).resolves.toEqual([`${ZONE}.zone`]);
  });

  it('serialises many parallel applies without losing one', async () => {
    const count = 12;
    const results = await Promise.all(
      Array.from({ length: count }, (_, k) =>
        backend().apply(ZONE, [claim(`h${k}.example.com`, { A: rrset(60, `192.0.2.${k + 1}`) })]),
      ),
    );
    results.forEach(expectLanded);
    expect(await addresses()).toHaveLength(count);
    expect(await serial()).toBe(2025112500 + count - 1);
  });

  it('serialises applies from separate processes', async () => {
    const child = join(import.meta.dirname, 'apply-child.ts');
    const startAt = String(Date.now() + 500);
    const outputs = await Promise.all(
      [1, 2, 3].map((k) =>
        run(process.execPath, [child, dir, `p${k}.example.com`, `192.0.2.${k}`, startAt], {
          timeout: 30_000,
        }),
      ),
    );
    expect(outputs.map((o) => o.stdout)).toEqual(['[null]', '[null]', '[null]']);
    expect(await addresses()).toEqual([
      'p1.example.com 192.0.2.1',
      'p2.example.com 192.0.2.2',
      'p3.example.com 192.0.2.3',
    ]);
    expect(await serial()).toBe(2025112502);
    await expect(readdir(dir)).resolves.toEqual([`${ZONE}.zone`]);
  });

  it('recovers a lock whose holder PID is dead', async () => {
    const pid = deadPid();
    await writeFile(
      lockPath,
      JSON.stringify({ pid, host: hostname(), token: 'old', since: '2025-01-01T00:00:00Z' }),
    );
    expectLanded(await backend().apply(ZONE, [claim('www.example.com', { A: rrset(60, '192.0.2.1') })]));
    expect(await addresses()).toEqual(['www.example.com 192.0.2.1']);
    await expect(readdir(dir)).resolves.toEqual([`${ZONE}.zone`]);
  });

  it('recovers a lock that holds a bare dead PID, as a person or script would write it', async () => {
    await writeFile(lockPath, `${deadPid()}\n`);
    expectLanded(await backend().apply(ZONE, [claim('www.example.com', { A: rrset(60, '192.0.2.1') })]));
    await expect(readdir(dir)).resolves.toEqual([`${ZONE}.zone`]);
  });

  it('recovers a lock left by an earlier process with the same PID (a restarted container)', async () => {
    await writeFile(
      lockPath,
      JSON.stringify({ pid: process.pid, host: hostname(), token: 'from-before-the-restart' }),
    );
    expectLanded(await backend().apply(ZONE, [claim('www.example.com', { A: rrset(60, '192.0.2.1') })]));
    await expect(readdir(dir)).resolves.toEqual([`${ZONE}.zone`]);
  });

  it('recovers an empty lock file only once it is old', async () => {
    await writeFile(lockPath, '');
    const result = await backend({ lockTimeoutMs: 100 }).apply(ZONE, [
      claim('www.example.com', { A: rrset(60, '192.0.2.1') }),
    ]);
    expect(result.chunks[0]?.error).toMatchObject({ kind: 'SERVER', detail: 'LOCKED' });
    const old = new Date(Date.now() - 60_000);
    await utimes(lockPath, old, old);
    expectLanded(await backend().apply(ZONE, [claim('www.example.com', { A: rrset(60, '192.0.2.1') })]));
  });

  it('waits for a live holder and times out without writing', async () => {
    const pid = livePid();
    await writeFile(lockPath, JSON.stringify({ pid, host: hostname(), token: 't' }));
    const started = Date.now();
    const result = await backend({ lockTimeoutMs: 200 }).apply(ZONE, [
      claim('www.example.com', { A: rrset(60, '192.0.2.1') }),
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    const error = result.chunks[0]?.error;
    expect(error).toMatchObject({ kind: 'SERVER', detail: 'LOCKED', retryable: true });
    expect(error?.message).toContain(lockPath);
    expect(error?.message).toContain(`PID ${pid}`);
    // The live holder's lock is left alone, and no zone file appeared.
    expect(parseHolder(await readFile(lockPath, 'utf8'))?.pid).toBe(pid);
    await expect(readdir(dir)).resolves.toEqual([`${ZONE}.zone.lock`]);
  });

  it('goes ahead as soon as a live holder releases the lock', async () => {
    await writeFile(lockPath, JSON.stringify({ pid: livePid(), host: hostname(), token: 't' }));
    setTimeout(() => void unlink(lockPath), 150);
    expectLanded(await backend().apply(ZONE, [claim('www.example.com', { A: rrset(60, '192.0.2.1') })]));
    expect(await addresses()).toEqual(['www.example.com 192.0.2.1']);
  });

  it('never breaks a lock held on another host, where a PID cannot be checked', async () => {
    await writeFile(lockPath, JSON.stringify({ pid: deadPid(), host: 'some-other-host', token: 't' }));
    const result = await backend({ lockTimeoutMs: 100, isProcessAlive: () => false }).apply(ZONE, [
      claim('www.example.com', { A: rrset(60, '192.0.2.1') }),
    ]);
    expect(result.chunks[0]?.error).toMatchObject({ kind: 'SERVER', detail: 'LOCKED' });
    expect(result.chunks[0]?.error?.message).toContain('on some-other-host');
    expect((await stat(lockPath)).isFile()).toBe(true);
  });

  it('reads the holder from JSON or a bare PID', () => {
    expect(parseHolder('{"pid":12,"host":"h","token":"t","since":"s"}')).toEqual({
      pid: 12,
      host: 'h',
      token: 't',
      since: 's',
    });
    expect(parseHolder(' 42\n')).toEqual({ pid: 42 });
    expect(parseHolder('')).toBeUndefined();
    expect(parseHolder('{"pid":"x"}')).toBeUndefined();
    expect(parseHolder('garbage')).toBeUndefined();
  });
});

describe('zone file lock: a lock released while a waiter looks at it', () => {
  it('a waiter that read a just-released lock does not break the next holder’s lock (two holders at once)', async () => {
    const { acquireLock } = await import('../../../src/backends/zonefile/lock.ts');
    let now = 0;
    const base = {
      timeoutMs: 50,
      unreadableGraceMs: 5_000,
      pid: process.pid,
      hostname: hostname(),
      isAlive: () => true,
      clock: () => now,
      sleep: async (ms: number) => {
        now += ms;
      },
    };
    const releaseA = await acquireLock(lockPath, { ...base, fs: nodeFs });
    let contentC: string | undefined;
    let acquiredD = false;
    let firstRead = true;
    // B reads A's lock; A releases and C takes the lock before B decides anything about it.
    const slowFs: ZoneFileFs = {
      ...nodeFs,
      readFile: async (p, enc) => {
        const text = await nodeFs.readFile(p, enc);
        if (p === lockPath && firstRead) {
          firstRead = false;
          await releaseA();
          await acquireLock(lockPath, { ...base, fs: nodeFs });
          contentC = await nodeFs.readFile(lockPath, 'utf8');
        }
        return text;
      },
      // Were B to move the lock aside, D could take the empty path before B puts it back.
      rename: async (from, to) => {
        await nodeFs.rename(from, to);
        if (from === lockPath) {
          await acquireLock(lockPath, { ...base, fs: nodeFs, timeoutMs: 0 });
          acquiredD = true;
        }
      },
    };
    await expect(acquireLock(lockPath, { ...base, fs: slowFs })).rejects.toThrow(/timed out/);
    expect(acquiredD).toBe(false);
    expect(await readFile(lockPath, 'utf8')).toBe(contentC);
  });
});
