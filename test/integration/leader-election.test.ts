/**
 * Leader election against a real kube-apiserver: acquisition, standby, release, expiry after a
 * crash, a partitioned leader stepping down before anyone takes over, and 409 Conflicts on create
 * and on a stale resourceVersion. Every elector's callbacks feed one tracker that fails the test if
 * two replicas ever lead the same Lease at once. Timing assertions are only ordering and generous
 * bounds: the lease durations are short, but the machine may be busy.
 */
import fs from 'node:fs/promises';
import { Writable } from 'node:stream';

import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import type { V1Lease } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { LeaderElector } from '../../src/controller/leader.ts';
import type { LeaderElectionOptions } from '../../src/controller/leader.ts';
import { ValidationError } from '../../src/errors.ts';
import { createLogger } from '../../src/observe/logger.ts';
import type { KubeCluster } from '../harness/kube.ts';
import { startKube } from '../harness/kube.ts';
import type { TcpProxy } from '../harness/kube-tcp-proxy.ts';
import { startTcpProxy } from '../harness/kube-tcp-proxy.ts';
import { waitFor } from '../harness/poll.ts';

const NAMESPACE = 'default';
/** The short timings of the brief: lease 3 s, renew deadline 2 s, retry 0.5 s. */
const FAST = { leaseDurationSeconds: 3, renewDeadlineSeconds: 2, retryPeriodSeconds: 0.5 };
/** A long lease with quick retries: anything faster than 15 s cannot be expiry. */
const LONG = { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 0.5 };
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

type Timing = Pick<
  LeaderElectionOptions,
  'leaseDurationSeconds' | 'renewDeadlineSeconds' | 'retryPeriodSeconds'
>;

interface LeadershipEvent {
  at: number;
  lease: string;
  id: string;
  kind: 'started' | 'stopped';
}

interface Candidate {
  readonly id: string;
  readonly elector: LeaderElector;
  /** The JSON log lines of this elector. */
  readonly logs: Record<string, unknown>[];
  readonly newLeaders: string[];
}

let cluster: KubeCluster;
let leases: CoordinationV1Api;
const events: LeadershipEvent[] = [];
const violations: string[] = [];
const leading = new Map<string, Set<string>>();
let candidates: Candidate[] = [];
const proxies: TcpProxy[] = [];

function leadersOf(lease: string): Set<string> {
  let set = leading.get(lease);
  if (!set) leading.set(lease, (set = new Set()));
  return set;
}

function candidate(lease: string, id: string, timing: Timing, kubeConfig?: KubeConfig): Candidate {
  const logs: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      callback();
    },
  });
  const newLeaders: string[] = [];
  const elector = new LeaderElector({
    kubeConfig: kubeConfig ?? cluster.kubeConfig(),
    namespace: NAMESPACE,
    name: lease,
    identity: id,
    ...timing,
    logger: createLogger({ level: 'debug', format: 'json', stream }),
    onStartedLeading: () => {
      const others = leadersOf(lease);
      if (others.size > 0)
        violations.push(`${id} started leading ${lease} while ${[...others].join(',')} led`);
      others.add(id);
      events.push({ at: performance.now(), lease, id, kind: 'started' });
    },
    onStoppedLeading: () => {
      if (!leadersOf(lease).delete(id)) violations.push(`${id} stopped leading ${lease} without leading`);
      events.push({ at: performance.now(), lease, id, kind: 'stopped' });
    },
    onNewLeader: (holder) => newLeaders.push(holder),
  });
  const c = { id, elector, logs, newLeaders };
  candidates.push(c);
  return c;
}

function eventsOf(lease: string): string[] {
  return events.filter((e) => e.lease === lease).map((e) => `${e.id} ${e.kind}`);
}

function eventAt(lease: string, id: string, kind: LeadershipEvent['kind']): number {
  const e = events.find((x) => x.lease === lease && x.id === id && x.kind === kind);
  if (!e) throw new Error(`no "${id} ${kind}" event for ${lease}`);
  return e.at;
}

function conflicts(c: Candidate): Record<string, unknown>[] {
  return c.logs.filter((l) => l.code === 409);
}

/** When `predicate` first held, polled every 20 ms. */
async function heldAt(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<number> {
  await waitFor(what, predicate, { timeoutMs, everyMs: 20 });
  return performance.now();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function readLease(name: string): Promise<V1Lease> {
  return leases.readNamespacedLease({ name, namespace: NAMESPACE });
}

beforeAll(async () => {
  cluster = await startKube({ applyCrds: false });
  console.log(`kube cluster started in ${cluster.startupMs} ms`);
  leases = cluster.kubeConfig().makeApiClient(CoordinationV1Api);
}, 120_000);

afterEach(async () => {
  await Promise.all(candidates.map((c) => c.elector.stop()));
  candidates = [];
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
  expect(violations, 'two replicas led one Lease at the same time').toEqual([]);
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('LeaderElector against a real kube-apiserver', () => {
  it('refuses timings under which a new leader could start before the old one stops', () => {
    const base = {
      kubeConfig: new KubeConfig(),
      namespace: NAMESPACE,
      name: 'x',
      identity: 'a',
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
    };
    expect(() => new LeaderElector({ ...base, ...FAST, renewDeadlineSeconds: 3 })).toThrow(ValidationError);
    expect(() => new LeaderElector({ ...base, ...FAST, retryPeriodSeconds: 2 })).toThrow(
      /retryPeriodSeconds/,
    );
    expect(() => new LeaderElector({ ...base, ...FAST, leaseDurationSeconds: 2.5 })).toThrow(/whole number/);
    expect(() => new LeaderElector({ ...base, ...FAST, identity: '' })).toThrow(/identity/);
  });

  it('one replica acquires, another stays standby, and a release hands over well within the lease duration', async () => {
    const lease = 'handover';
    const a = candidate(lease, 'replica-a', LONG);
    const b = candidate(lease, 'replica-b', LONG);
    a.elector.start();
    await heldAt('replica-a to lead', () => a.elector.isLeader);
    b.elector.start();
    await sleep(2_000);
    expect(b.elector.isLeader).toBe(false);
    expect(b.newLeaders).toEqual(['replica-a']);
    expect(a.newLeaders).toEqual(['replica-a']);

    const held = await readLease(lease);
    expect(held.spec?.holderIdentity).toBe('replica-a');
    expect(held.spec?.leaseDurationSeconds).toBe(15);
    expect(held.spec?.leaseTransitions).toBe(0);
    // client-node hands MicroTime back as the server's string; six fractional digits on the wire.
    expect(String(held.spec?.acquireTime)).toMatch(MICRO_TIME);
    expect(String(held.spec?.renewTime)).toMatch(MICRO_TIME);
    await sleep(1_000);
    const renewed = await readLease(lease);
    expect(String(renewed.spec?.renewTime)).not.toBe(String(held.spec?.renewTime));
    expect(String(renewed.spec?.acquireTime)).toBe(String(held.spec?.acquireTime));

    const stoppedAt = performance.now();
    await a.elector.stop();
    expect(a.elector.isLeader).toBe(false);
    const released = await readLease(lease);
    if (released.spec?.holderIdentity === '') {
      expect(released.spec.leaseDurationSeconds).toBe(1);
    } else {
      expect(released.spec?.holderIdentity).toBe('replica-b');
    }

    const acquiredAt = await heldAt('replica-b to lead', () => b.elector.isLeader);
    console.log(`handover after release: ${Math.round(acquiredAt - stoppedAt)} ms (lease duration 15 s)`);
    expect(acquiredAt - stoppedAt).toBeLessThan(7_500);
    expect(eventsOf(lease)).toEqual(['replica-a started', 'replica-a stopped', 'replica-b started']);
    const taken = await readLease(lease);
    expect(taken.spec?.holderIdentity).toBe('replica-b');
    expect(taken.spec?.leaseTransitions).toBe(1);
    expect(b.newLeaders).toEqual(['replica-a', 'replica-b']);
  });

  it('a leader that dies without releasing is replaced only after the lease duration', async () => {
    const lease = 'crash';
    const a = candidate(lease, 'replica-a', FAST);
    const b = candidate(lease, 'replica-b', FAST);
    a.elector.start();
    await heldAt('replica-a to lead', () => a.elector.isLeader);
    b.elector.start();
    await sleep(1_500);
    expect(b.elector.isLeader).toBe(false);

    const crashedAt = performance.now();
    await a.elector.stop({ release: false });
    expect((await readLease(lease)).spec?.holderIdentity).toBe('replica-a');
    const acquiredAt = await heldAt('replica-b to lead', () => b.elector.isLeader);
    console.log(`takeover after a crash: ${Math.round(acquiredAt - crashedAt)} ms (lease duration 3 s)`);
    // The last renewal is at most one retry period old when the leader dies.
    expect(acquiredAt - crashedAt).toBeGreaterThanOrEqual(2_000);
    expect(eventsOf(lease)).toEqual(['replica-a started', 'replica-a stopped', 'replica-b started']);
    const taken = await readLease(lease);
    expect(taken.spec?.holderIdentity).toBe('replica-b');
    expect(taken.spec?.leaseTransitions).toBe(1);
  });

  it('a partitioned leader stops leading before another replica takes over', async () => {
    const lease = 'partition';
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(cluster.server).port) });
    proxies.push(proxy);
    const viaProxy = new KubeConfig();
    viaProxy.loadFromString(
      (await fs.readFile(cluster.kubeconfig, 'utf8')).replace(
        cluster.server,
        `https://127.0.0.1:${proxy.port}`,
      ),
    );
    const a = candidate(lease, 'replica-a', FAST, viaProxy);
    const b = candidate(lease, 'replica-b', FAST);
    a.elector.start();
    await heldAt('replica-a to lead', () => a.elector.isLeader);
    b.elector.start();
    await sleep(1_500);
    expect(b.elector.isLeader).toBe(false);

    const cutAt = performance.now();
    proxy.cut();
    await heldAt('replica-b to lead', () => b.elector.isLeader);
    const stoppedAt = eventAt(lease, 'replica-a', 'stopped');
    const startedAt = eventAt(lease, 'replica-b', 'started');
    console.log(
      `partition: replica-a stopped ${Math.round(stoppedAt - cutAt)} ms after the cut, ` +
        `replica-b started ${Math.round(startedAt - cutAt)} ms after it`,
    );
    expect(stoppedAt).toBeLessThan(startedAt);
    expect(a.logs.some((l) => String(l.reason).includes('renew deadline'))).toBe(true);

    // Reconnected, the old leader finds a valid Lease held by another and stays standby.
    proxy.restore();
    await heldAt('replica-a to see replica-b', () => a.newLeaders.includes('replica-b'));
    expect(a.elector.isLeader).toBe(false);
    expect(eventsOf(lease)).toEqual(['replica-a started', 'replica-a stopped', 'replica-b started']);
  });

  it('replicas racing for a fresh Lease: exactly one wins, the losers get 409 Conflict', async () => {
    let conflictsSeen = 0;
    for (let round = 0; round < 10 && conflictsSeen === 0; round++) {
      const lease = `race-${round}`;
      const racers = ['replica-a', 'replica-b', 'replica-c'].map((id) => candidate(lease, id, LONG));
      for (const r of racers) r.elector.start();
      await heldAt(`a winner of ${lease}`, () => racers.some((r) => r.elector.isLeader));
      await sleep(1_500);
      const winners = racers.filter((r) => r.elector.isLeader);
      expect(winners.map((w) => w.id)).toHaveLength(1);
      const winner = winners[0] as Candidate;
      expect((await readLease(lease)).spec?.holderIdentity).toBe(winner.id);
      for (const r of racers) expect(r.newLeaders).toEqual([winner.id]);
      conflictsSeen = racers.reduce((n, r) => n + conflicts(r).length, 0);
      expect(conflicts(winner)).toEqual([]);
      await Promise.all(racers.map((r) => r.elector.stop()));
    }
    expect(conflictsSeen, 'no round produced a 409 on create').toBeGreaterThan(0);
  });

  it('a leader whose resourceVersion went stale gets 409, re-reads, and keeps the Lease', async () => {
    const lease = 'stale-rv';
    const a = candidate(lease, 'replica-a', LONG);
    a.elector.start();
    await heldAt('replica-a to lead', () => a.elector.isLeader);
    // Someone else writes the Lease (metadata only): the leader's next renewal carries an old resourceVersion.
    const annotated = await cluster.kubectl(['annotate', 'lease', lease, 'apexalias.io/touched=yes']);
    expect(annotated.code, annotated.stderr).toBe(0);
    await heldAt('a 409 on renewal', () => conflicts(a).length > 0, 10_000);
    await sleep(1_500);
    expect(a.elector.isLeader).toBe(true);
    expect(eventsOf(lease)).toEqual(['replica-a started']);
    const held = await readLease(lease);
    expect(held.spec?.holderIdentity).toBe('replica-a');
    expect(held.spec?.leaseTransitions).toBe(0);
    expect(held.metadata?.annotations?.['apexalias.io/touched']).toBe('yes');
  });
});
