/**
 * CPU time and memory of a process from /proc (Linux): what a contender cost, measured from
 * outside it, the same way for the Node controller and for the Go external-dns.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux the bench runs on. */
const CLOCK_TICKS = 100;

/** One reading of a process. */
export interface ProcSample {
  /** user + system CPU seconds since the process started. */
  cpuSeconds: number;
  /** Resident set size now, bytes (VmRSS). */
  rssBytes: number;
  /** Peak resident set size so far, bytes (VmHWM). */
  peakRssBytes: number;
}

/** Reads /proc/<pid>; undefined once the process is gone. */
export async function procSample(pid: number): Promise<ProcSample | undefined> {
  try {
    const [stat, status] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile(`/proc/${pid}/status`, 'utf8'),
    ]);
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const kb = (key: string): number =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return {
      cpuSeconds: (utime + stime) / CLOCK_TICKS,
      rssBytes: kb('VmRSS') * 1024,
      peakRssBytes: kb('VmHWM') * 1024,
    };
  } catch {
    return undefined;
  }
}

/** A sample with the time it was taken, in seconds since the sampler started. */
export interface TimedProcSample extends ProcSample {
  seconds: number;
}

/**
 * Samples a process every `everyMs` until it exits or {@link ProcSampler.stop} is called. For a
 * process that exits on its own, the last sample is at most `everyMs` before its exit: that
 * much CPU time may be missed.
 */
export class ProcSampler {
  readonly samples: TimedProcSample[] = [];
  readonly #pid: number;
  readonly #started: number;
  #stopped = false;
  readonly #loop: Promise<void>;

  constructor(pid: number, opts: { everyMs?: number; startedAt?: number } = {}) {
    const started = opts.startedAt ?? performance.now();
    this.#pid = pid;
    this.#started = started;
    const everyMs = opts.everyMs ?? 200;
    this.#loop = (async () => {
      while (!this.#stopped) {
        const s = await procSample(pid);
        if (!s) return;
        this.samples.push({ ...s, seconds: (performance.now() - started) / 1000 });
        await sleep(everyMs);
      }
    })();
  }

  /** A sample taken now (the last one once the process is gone), see {@link last}. */
  async now(): Promise<ProcSample | undefined> {
    const s = await procSample(this.#pid);
    if (s) this.samples.push({ ...s, seconds: (performance.now() - this.#started) / 1000 });
    return this.last();
  }

  /**
   * The last sample, with the highest CPU time and peak RSS of all samples: a process that is
   * exiting (a zombie) still shows its CPU time but no memory any more.
   */
  last(): ProcSample | undefined {
    const last = this.samples.at(-1);
    if (!last) return undefined;
    return {
      cpuSeconds: Math.max(...this.samples.map((s) => s.cpuSeconds)),
      rssBytes: last.rssBytes,
      peakRssBytes: Math.max(...this.samples.map((s) => s.peakRssBytes)),
    };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }
}
