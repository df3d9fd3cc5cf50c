/**
 * What BIND itself counted, from its JSON statistics channel (BIND 9.18, json-stats-version 1.7):
 * UPDATE and QUERY messages, the update outcomes, AXFRs, and every zone's SOA serial.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import type { BindServer } from '../../test/harness/bind.ts';

/** BIND's message counters at one moment (or the difference of two moments). */
export interface BindCounters {
  /** `opcodes.UPDATE`: UPDATE messages received, whatever became of them. */
  updates: number;
  updatesDone: number;
  updatesFailed: number;
  updatesRejected: number;
  /** `qtypes.AXFR`. */
  axfr: number;
  /** `opcodes.QUERY`: lookups, SOA probes and AXFRs alike. */
  queries: number;
}

function statsUrl(bind: BindServer, what: 'server' | 'zones'): string {
  if (bind.statsPort === undefined) throw new Error('BIND was started without its statistics channel');
  return `http://127.0.0.1:${bind.statsPort}/json/v1/${what}`;
}

/** Reads BIND's counters now. */
export async function bindCounters(bind: BindServer): Promise<BindCounters> {
  const res = await fetch(statsUrl(bind, 'server'));
  if (!res.ok) throw new Error(`BIND statistics channel answered HTTP ${res.status}`);
  const j = (await res.json()) as {
    opcodes?: Record<string, number>;
    nsstats?: Record<string, number>;
    qtypes?: Record<string, number>;
  };
  // nsstats omits counters that are still zero.
  const ns = j.nsstats ?? {};
  return {
    updates: j.opcodes?.UPDATE ?? 0,
    updatesDone: ns.UpdateDone ?? 0,
    updatesFailed: ns.UpdateFail ?? 0,
    updatesRejected: ns.UpdateRej ?? 0,
    axfr: j.qtypes?.AXFR ?? 0,
    queries: j.opcodes?.QUERY ?? 0,
  };
}

/** `after - before`, counter by counter. */
export function counterDelta(before: BindCounters, after: BindCounters): BindCounters {
  return {
    updates: after.updates - before.updates,
    updatesDone: after.updatesDone - before.updatesDone,
    updatesFailed: after.updatesFailed - before.updatesFailed,
    updatesRejected: after.updatesRejected - before.updatesRejected,
    axfr: after.axfr - before.axfr,
    queries: after.queries - before.queries,
  };
}

/**
 * The SOA serial of every zone of the default view, by zone name: one HTTP request however
 * many zones BIND serves, and no DNS query (so it never shows in the QUERY counter).
 */
export async function zoneSerials(bind: BindServer): Promise<Map<string, number>> {
  const res = await fetch(statsUrl(bind, 'zones'));
  if (!res.ok) throw new Error(`BIND statistics channel answered HTTP ${res.status}`);
  const j = (await res.json()) as {
    views?: Record<string, { zones?: Array<{ name: string; serial: number }> }>;
  };
  return new Map((j.views?._default?.zones ?? []).map((z) => [z.name, z.serial]));
}

/** A measured piece of work: its wall time and the BIND counters it moved. */
export interface Measure extends BindCounters {
  seconds: number;
  /** When the bench first saw BIND's UPDATE counter move (polled every 50 ms), or null. */
  firstUpdateSeconds: number | null;
  /** RRs in the UPDATE sections (apexalias: incl. prerequisites; external-dns: "Adding RR" lines). */
  records?: number;
  /** Names answering with the expected A record right after the run. */
  served?: number;
  detail?: Record<string, unknown>;
}

/**
 * Runs `work` and measures its wall time and the BIND counters it moved. `work` may return its
 * own end time (performance.now()) when the end is observed rather than awaited.
 */
export async function measured<T>(
  bind: BindServer,
  work: (started: number) => Promise<{ value: T; endedAt?: number }>,
): Promise<{ measure: Measure; value: T }> {
  const before = await bindCounters(bind);
  let firstUpdate: number | null = null;
  let stop = false;
  const started = performance.now();
  const poller = (async () => {
    while (!stop && firstUpdate === null) {
      try {
        const now = await bindCounters(bind);
        // A sample that comes back after the work ended says nothing about when it began writing.
        if (!stop && now.updates > before.updates) firstUpdate = performance.now() - started;
      } catch {
        // A missed sample only coarsens the estimate.
      }
      await sleep(50);
    }
  })();
  const { value, endedAt } = await work(started);
  const ended = endedAt ?? performance.now();
  stop = true;
  await poller;
  const after = await bindCounters(bind);
  return {
    value,
    measure: {
      seconds: (ended - started) / 1000,
      firstUpdateSeconds: firstUpdate === null ? null : firstUpdate / 1000,
      ...counterDelta(before, after),
    },
  };
}
