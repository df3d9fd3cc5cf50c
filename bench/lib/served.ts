/**
 * Watching names become served by BIND. Two ways:
 *
 * - {@link watchServed} asks for each name's A record over UDP (bounded batches). Fine for a
 *   thousand names; its own queries load BIND and the cores as the names grow.
 * - {@link ServedWatcher} never asks per name in a loop. It reads every zone's SOA serial from
 *   BIND's statistics channel (one HTTP request, no DNS query) and reads again only what changed:
 *   the whole zone by AXFR for the one-zone shape, the apex A of each zone whose serial moved
 *   (pipelined on one TCP connection) for the many-zones shape. It waits 5× as long as its last
 *   read took between reads (at least `minGapMs`, 500 ms by default), so it stays a small share of the machine
 *   whatever the size, and counts every DNS message it sent.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import type { BindServer } from '../../test/harness/bind.ts';
import { zoneSerials } from './bind-stats.ts';
import { axfr, pipelinedQueries, queryA } from './dns.ts';

/** A name to watch, and the address it must answer with (any A record when left out). */
export interface ExpectedName {
  name: string;
  address?: string;
}

/**
 * Polls BIND until every name answers (with its expected address); returns when each was first
 * seen (performance.now(), by index into `expected`). `probe` bounds the names asked per pass
 * (then a 25 ms pause), so that watching a running contender does not load the 2 shared cores
 * with thousands of queries a second. With `timeoutMs` 0 it makes one pass.
 */
export async function watchServed(
  bind: BindServer,
  expected: readonly ExpectedName[],
  timeoutMs: number,
  probe = Infinity,
): Promise<Map<number, number>> {
  const seen = new Map<number, number>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = expected
      .map((_, i) => i)
      .filter((i) => !seen.has(i))
      .slice(0, probe);
    for (let k = 0; k < pending.length; k += 200) {
      const batch = pending.slice(k, k + 200);
      const answers = await Promise.all(
        batch.map((i) => queryA({ host: '127.0.0.1', port: bind.port }, expected[i]!.name)),
      );
      const now = performance.now();
      batch.forEach((i, j) => {
        const want = expected[i]!.address;
        if (want === undefined ? answers[j]!.length > 0 : answers[j]!.includes(want)) seen.set(i, now);
      });
    }
    if (seen.size === expected.length || Date.now() > deadline) return seen;
    await sleep(probe === Infinity ? 10 : 25);
  }
}

/** How many names were served at a moment, in seconds since the watch began. */
export interface ServedPoint {
  seconds: number;
  served: number;
}

/** What a {@link ServedWatcher} watches. */
export type ServedShape =
  /** Names in one zone: `names` maps each FQDN (lower case, no trailing dot) to its address. */
  | { kind: 'one-zone'; zone: string; names: ReadonlyMap<string, string> }
  /** One name per zone, at the apex: `apexes` maps each zone to the address of its apex. */
  | { kind: 'zones'; apexes: ReadonlyMap<string, string> };

/** Watches BIND until every expected name is served or {@link ServedWatcher.stop} is called. */
export class ServedWatcher {
  /** Served counts over time: the first read, then every read that changed the count. */
  readonly points: ServedPoint[] = [];
  /** DNS messages the watcher sent (AXFRs or apex queries): take them out of BIND's QUERY count. */
  queriesSent = 0;
  /** The AXFRs among them: take them out of BIND's AXFR count. */
  axfrSent = 0;
  /** Reads of the statistics channel (HTTP). */
  serialReads = 0;
  /** Seconds from the start until everything was served, or null. */
  allServedSeconds: number | null = null;
  /** Seconds the watcher spent reading (its own load on BIND and on the bench's core). */
  busySeconds = 0;

  readonly #bind: BindServer;
  readonly #shape: ServedShape;
  readonly #total: number;
  readonly #started: number;
  readonly #minGapMs: number;
  readonly #servedZones = new Set<string>();
  readonly #lastSerial = new Map<string, number>();
  #served = 0;
  #stopped = false;
  readonly #loop: Promise<void>;

  /**
   * Starts watching now; `startedAt` (performance.now()) is time zero of {@link points}.
   * `baseline`: the serials read (with {@link zoneSerials}) before the contender started, when
   * nothing was served yet; a zone is then read only once its serial differs. Without it, the
   * first read reads everything.
   */
  constructor(
    bind: BindServer,
    shape: ServedShape,
    opts: { startedAt?: number; minGapMs?: number; baseline?: ReadonlyMap<string, number> } = {},
  ) {
    this.#bind = bind;
    this.#shape = shape;
    this.#total = shape.kind === 'one-zone' ? shape.names.size : shape.apexes.size;
    this.#started = opts.startedAt ?? performance.now();
    this.#minGapMs = opts.minGapMs ?? 500;
    if (opts.baseline) {
      for (const [zone, serial] of opts.baseline) this.#lastSerial.set(zone, serial);
      this.points.push({ seconds: 0, served: 0 });
    }
    this.#loop = this.#run();
  }

  /** Names served at the last read. */
  get served(): number {
    return this.#served;
  }

  /** Names to be served. */
  get total(): number {
    return this.#total;
  }

  /** Resolves once everything is served (or the watcher stopped); rejects on a read error. */
  done(): Promise<void> {
    return this.#loop;
  }

  /** Stops after the read in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopped && this.#served < this.#total) {
      const began = performance.now();
      const serials = await zoneSerials(this.#bind);
      this.serialReads++;
      const served =
        this.#shape.kind === 'one-zone' ? await this.#readZone(serials) : await this.#readApexes(serials);
      const now = performance.now();
      this.busySeconds += (now - began) / 1000;
      if (served !== undefined && (this.points.length === 0 || served !== this.#served)) {
        this.#served = served;
        this.points.push({ seconds: (now - this.#started) / 1000, served });
        if (served === this.#total) this.allServedSeconds = (now - this.#started) / 1000;
      }
      if (this.#served < this.#total && !this.#stopped)
        await sleep(Math.max(this.#minGapMs, 5 * (performance.now() - began)));
    }
  }

  /** One zone: AXFR when its serial moved since the last transfer. */
  async #readZone(serials: Map<string, number>): Promise<number | undefined> {
    const shape = this.#shape as Extract<ServedShape, { kind: 'one-zone' }>;
    const serial = serials.get(shape.zone);
    if (serial === undefined) throw new Error(`BIND does not serve ${shape.zone}`);
    if (serial === this.#lastSerial.get(shape.zone)) return undefined;
    const records = await axfr({ host: '127.0.0.1', port: this.#bind.port }, shape.zone);
    this.queriesSent++;
    this.axfrSent++;
    this.#lastSerial.set(shape.zone, serial);
    let served = 0;
    for (const r of records) {
      if (r.type !== 'A') continue;
      if (shape.names.get(r.name.toLowerCase()) === String(r.data)) served++;
    }
    return served;
  }

  /** Many zones: ask the apex A of each zone not yet served whose serial moved. */
  async #readApexes(serials: Map<string, number>): Promise<number | undefined> {
    const shape = this.#shape as Extract<ServedShape, { kind: 'zones' }>;
    const changed: string[] = [];
    for (const zone of shape.apexes.keys()) {
      if (this.#servedZones.has(zone)) continue;
      const serial = serials.get(zone);
      if (serial === undefined) throw new Error(`BIND does not serve ${zone}`);
      if (serial !== this.#lastSerial.get(zone)) {
        changed.push(zone);
        this.#lastSerial.set(zone, serial);
      }
    }
    if (changed.length === 0 && this.points.length > 0) return undefined;
    const replies = await pipelinedQueries(
      { host: '127.0.0.1', port: this.#bind.port },
      changed.map((zone) => ({ name: zone, type: 'A' as const })),
    );
    this.queriesSent += changed.length;
    changed.forEach((zone, i) => {
      const want = shape.apexes.get(zone);
      if ((replies[i]!.answers ?? []).some((a) => a.type === 'A' && String(a.data) === want))
        this.#servedZones.add(zone);
    });
    return this.#servedZones.size;
  }
}
