import { describe, expect, it } from 'vitest';
import { ApexAliasError } from '../../../src/errors.ts';
import {
  ItemExponentialRateLimiter,
  MaxOfRateLimiter,
  TokenBucketRateLimiter,
} from '../../../src/controller/ratelimit.ts';
import { TerminalError, WorkQueue } from '../../../src/controller/workqueue.ts';
import type { QueueObserver, ReconcileResult } from '../../../src/controller/workqueue.ts';
import { FakeClock } from '../../harness/fake-clock.ts';

/** Lets pending promise callbacks run; not a wall-clock wait. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(
  opts: { concurrency?: number; observer?: QueueObserver; baseMs?: number; maxMs?: number } = {},
): {
  clock: FakeClock;
  queue: WorkQueue;
} {
  const clock = new FakeClock();
  const queue = new WorkQueue({
    clock,
    concurrency: opts.concurrency,
    observer: opts.observer,
    // Without jitter, so that the tests can name each delay.
    rateLimiter: new MaxOfRateLimiter(
      new ItemExponentialRateLimiter({ baseMs: opts.baseMs, maxMs: opts.maxMs, jitter: 0 }),
      new TokenBucketRateLimiter({ now: () => clock.now() }),
    ),
  });
  return { clock, queue };
}

/** Advances the clock to each timer in turn up to `ms` from now, letting handlers finish in between. */
async function advance(clock: FakeClock, queue: WorkQueue, ms: number, stepMs = 1): Promise<void> {
  await queue.idle();
  for (let left = ms; left > 0; left -= stepMs) {
    clock.advance(Math.min(stepMs, left));
    await queue.idle();
  }
}

/** Tracks how many handlers run at once, overall and per key. */
class Concurrency {
  now = 0;
  max = 0;
  readonly #perKey = new Map<string, number>();
  maxPerKey = 0;

  enter(key: string): void {
    this.now++;
    this.max = Math.max(this.max, this.now);
    const k = (this.#perKey.get(key) ?? 0) + 1;
    this.#perKey.set(key, k);
    this.maxPerKey = Math.max(this.maxPerKey, k);
  }

  leave(key: string): void {
    this.now--;
    this.#perKey.set(key, (this.#perKey.get(key) ?? 1) - 1);
  }
}

describe('WorkQueue: de-duplication and dirty keys', () => {
  it('processes a key added three times before start once', async () => {
    const adds: string[] = [];
    const { queue } = setup({ observer: { onAdd: (k) => adds.push(k) } });
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/a');
    expect(queue.depth).toBe(1);
    const calls: string[] = [];
    queue.start(async (key) => {
      calls.push(key);
    });
    await queue.idle();
    expect(calls).toEqual(['ns/a']);
    expect(adds).toEqual(['ns/a']);
  });

  it('re-runs a key added while in flight exactly once more, never concurrently', async () => {
    const { queue } = setup({ concurrency: 4 });
    const running = new Concurrency();
    const gates: PromiseWithResolvers<void>[] = [];
    queue.start(async (key) => {
      running.enter(key);
      const gate = Promise.withResolvers<void>();
      gates.push(gate);
      await gate.promise;
      running.leave(key);
    });
    queue.add('ns/a');
    await flush();
    expect(gates).toHaveLength(1);
    // Three adds while in flight mark it dirty; it is not waiting, and no second worker takes it.
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/a');
    await flush();
    expect(queue.depth).toBe(0);
    expect(queue.inFlight).toBe(1);
    expect(gates).toHaveLength(1);
    gates[0]?.resolve();
    await flush();
    expect(gates).toHaveLength(2);
    gates[1]?.resolve();
    await queue.idle();
    expect(gates).toHaveLength(2);
    expect(running.maxPerKey).toBe(1);
  });

  it('never runs more than `concurrency` handlers, and starts ready keys in FIFO order', async () => {
    const { queue } = setup({ concurrency: 3 });
    const running = new Concurrency();
    const started: string[] = [];
    const gates: PromiseWithResolvers<void>[] = [];
    const keys = Array.from({ length: 10 }, (_, i) => `ns/k${i}`);
    for (const key of keys) queue.add(key);
    queue.start(async (key) => {
      started.push(key);
      running.enter(key);
      const gate = Promise.withResolvers<void>();
      gates.push(gate);
      await gate.promise;
      running.leave(key);
    });
    await flush();
    expect(queue.inFlight).toBe(3);
    expect(queue.depth).toBe(7);
    // Release one handler at a time; each release lets exactly one more key start.
    for (let released = 0; released < 10; released++) {
      gates[released]?.resolve();
      await flush();
      expect(queue.inFlight).toBeLessThanOrEqual(3);
    }
    await queue.idle();
    expect(running.max).toBe(3);
    expect(started).toEqual(keys);
  });

  it('treats a handler that throws synchronously like a rejection', async () => {
    const { clock, queue } = setup({ baseMs: 5 });
    let calls = 0;
    // Not async: the throw happens inside the call, before any promise exists.
    queue.start(() => {
      calls++;
      if (calls === 1) throw new Error('boom');
      return Promise.resolve();
    });
    queue.add('ns/a');
    await queue.idle();
    expect(queue.retries('ns/a')).toBe(1);
    expect(queue.pendingDelayed).toBe(1);
    await advance(clock, queue, 5);
    expect(calls).toBe(2);
    expect(queue.retries('ns/a')).toBe(0);
  });

  it('cannot be started twice', () => {
    const { queue } = setup();
    queue.start(async () => {});
    expect(() => queue.start(async () => {})).toThrow(ApexAliasError);
  });
});

describe('WorkQueue: delayed adds', () => {
  it('keeps the earliest deadline and fires at that fake time, once', async () => {
    const { clock, queue } = setup();
    const calls: number[] = [];
    queue.start(async () => {
      calls.push(clock.now());
    });
    queue.addAfter('ns/a', 100);
    queue.addAfter('ns/a', 50);
    queue.addAfter('ns/a', 200);
    expect(queue.pendingDelayed).toBe(1);
    await advance(clock, queue, 49);
    expect(calls).toEqual([]);
    await advance(clock, queue, 300);
    expect(calls).toEqual([50]);
    expect(queue.pendingDelayed).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('adds now for a delay ≤ 0', async () => {
    const { clock, queue } = setup();
    const calls: number[] = [];
    queue.start(async () => {
      calls.push(clock.now());
    });
    queue.addAfter('ns/a', 0);
    queue.addAfter('ns/b', -5);
    await queue.idle();
    expect(calls).toEqual([0, 0]);
    expect(clock.setTimeoutCalls).toBe(0);
  });

  it('serves 10,000 delayed keys with one timer at a time, in deadline order', async () => {
    const { clock, queue } = setup({ concurrency: 4 });
    const order: string[] = [];
    queue.start(async (key) => {
      order.push(key);
    });
    // Deadlines 1..10000 ms in a scrambled order (7919 is prime, so i·7919 mod 10000 is a permutation).
    const n = 10_000;
    for (let i = 0; i < n; i++) {
      const d = ((i * 7919) % n) + 1;
      queue.addAfter(`ns/k${d}`, d);
    }
    expect(queue.pendingDelayed).toBe(n);
    expect(clock.pending).toBe(1);
    expect(clock.maxPending).toBe(1);
    clock.advance(n);
    await queue.idle();
    expect(order).toHaveLength(n);
    expect(order.slice(0, 3)).toEqual(['ns/k1', 'ns/k2', 'ns/k3']);
    expect(order).toEqual(Array.from({ length: n }, (_, i) => `ns/k${i + 1}`));
    expect(clock.maxPending).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it('re-arms the single timer only for an earlier deadline', () => {
    const { clock, queue } = setup();
    for (let i = 1; i <= 100; i++) queue.addAfter(`ns/k${i}`, 1000 + i);
    expect(clock.setTimeoutCalls).toBe(1);
    queue.addAfter('ns/early', 10);
    expect(clock.setTimeoutCalls).toBe(2);
    expect(clock.pending).toBe(1);
  });

  it('releases keys with the same deadline in the order they were added', async () => {
    const { clock, queue } = setup({ concurrency: 1 });
    const order: string[] = [];
    queue.start(async (key) => {
      order.push(key);
    });
    for (const key of ['ns/c', 'ns/a', 'ns/b']) queue.addAfter(key, 10);
    await advance(clock, queue, 10);
    expect(order).toEqual(['ns/c', 'ns/a', 'ns/b']);
  });

  it('idle(horizon) waits for delayed keys due within the horizon', async () => {
    const { clock, queue } = setup();
    queue.start(async () => {});
    queue.addAfter('ns/a', 50);
    await queue.idle(); // nothing due now
    let idle = false;
    void queue.idle(100).then(() => (idle = true));
    await flush();
    expect(idle).toBe(false);
    clock.advance(50);
    await flush();
    expect(idle).toBe(true);
  });
});

describe('WorkQueue: retries', () => {
  it('backs off 5, 10, 20, 40 ms, capped, and a success forgets the failures', async () => {
    const { clock, queue } = setup({ baseMs: 5, maxMs: 40 });
    const calls: number[] = [];
    let failUntil = 6;
    queue.start(async () => {
      calls.push(clock.now());
      if (calls.length <= failUntil) throw new Error('SERVFAIL');
    });
    queue.add('ns/a');
    await advance(clock, queue, 200);
    // Failures at 0, 5, 15, 35, 75, 115 (gaps 5, 10, 20, 40, 40); the 7th call succeeds.
    expect(calls).toEqual([0, 5, 15, 35, 75, 115, 155]);
    expect(queue.retries('ns/a')).toBe(0);
    expect(queue.pendingDelayed).toBe(0);
    // After the success the next failure starts from 5 ms again.
    failUntil = 8;
    queue.add('ns/a');
    await advance(clock, queue, 20);
    expect(calls.slice(7)).toEqual([200, 205]);
  });

  it('uses the controller default: 5, 10, 20 ms for one failing key, each up to 20% later (jitter)', async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ clock });
    const calls: number[] = [];
    queue.start(async () => {
      calls.push(clock.now());
      throw new Error('timeout');
    });
    queue.add('ns/a');
    await advance(clock, queue, 50);
    const gaps = calls.slice(1, 4).map((t, i) => t - calls[i]!);
    expect(gaps).toHaveLength(3);
    [5, 10, 20].forEach((base, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(base);
      expect(gaps[i]).toBeLessThanOrEqual(Math.ceil(base * 1.2));
    });
    await queue.shutDown();
  });

  it('reports every retryable failure to onRetry', async () => {
    const retried: string[] = [];
    const { clock, queue } = setup({ baseMs: 5, observer: { onRetry: (k) => retried.push(k) } });
    let calls = 0;
    queue.start(async () => {
      if (++calls <= 2) throw new Error('REFUSED');
    });
    queue.add('ns/a');
    await advance(clock, queue, 50);
    expect(calls).toBe(3);
    expect(retried).toEqual(['ns/a', 'ns/a']);
  });

  it('does not retry a TerminalError, even wrapped as a cause, and forgets earlier failures', async () => {
    const retried: string[] = [];
    const { clock, queue } = setup({ baseMs: 5, observer: { onRetry: (k) => retried.push(k) } });
    const calls: string[] = [];
    queue.start(async (key) => {
      calls.push(key);
      if (key === 'ns/flaky' && calls.length === 1) throw new Error('SERVFAIL');
      if (key === 'ns/flaky') throw new TerminalError('spec.target is not a host name');
      throw new Error('reconcile failed', { cause: new TerminalError('invalid spec') });
    });
    queue.add('ns/flaky');
    await advance(clock, queue, 5);
    expect(calls).toEqual(['ns/flaky', 'ns/flaky']);
    expect(retried).toEqual(['ns/flaky']);
    queue.add('ns/wrapped');
    await advance(clock, queue, 2000);
    expect(calls).toEqual(['ns/flaky', 'ns/flaky', 'ns/wrapped']);
    expect(retried).toEqual(['ns/flaky']);
    expect(queue.retries('ns/flaky')).toBe(0);
    expect(queue.pendingDelayed).toBe(0);
    expect(new TerminalError('x').code).toBe('ERR_TERMINAL');
  });

  it('after the token bucket burst, spaces retries by 1/qps', async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({
      clock,
      concurrency: 5,
      rateLimiter: new TokenBucketRateLimiter({ now: () => clock.now(), qps: 10, burst: 2 }),
    });
    const calls = new Map<string, number[]>();
    queue.start(async (key) => {
      const times = calls.get(key) ?? [];
      times.push(clock.now());
      calls.set(key, times);
      if (times.length === 1) throw new Error('backend unreachable');
    });
    const keys = ['ns/a', 'ns/b', 'ns/c', 'ns/d', 'ns/e'];
    for (const key of keys) queue.add(key);
    await advance(clock, queue, 400, 50);
    // Two retries fit in the burst; then one every 100 ms.
    expect(keys.map((k) => calls.get(k)?.[1])).toEqual([0, 0, 100, 200, 300]);
  });

  it('requeues after requeueAfterMs, forgetting failures', async () => {
    const { clock, queue } = setup({ baseMs: 5 });
    const calls: number[] = [];
    queue.start(async (): Promise<ReconcileResult> => {
      calls.push(clock.now());
      if (calls.length === 1) throw new Error('SERVFAIL');
      return { requeueAfterMs: 30_000 };
    });
    queue.add('ns/a');
    await advance(clock, queue, 70_000, 5);
    expect(calls).toEqual([0, 5, 30_005, 60_005]);
    expect(queue.retries('ns/a')).toBe(0);
    expect(queue.pendingDelayed).toBe(1);
  });

  it('requeueAfterMs 0 re-adds at once', async () => {
    const { queue } = setup();
    let calls = 0;
    queue.start(async () => (++calls < 3 ? { requeueAfterMs: 0 } : undefined));
    queue.add('ns/a');
    await queue.idle();
    expect(calls).toBe(3);
  });
});

describe('WorkQueue: shutDown', () => {
  it('waits for in-flight handlers, drops waiting and later adds, clears timers', async () => {
    const { clock, queue } = setup({ concurrency: 2 });
    const started: string[] = [];
    const gates = new Map<string, PromiseWithResolvers<void>>();
    queue.start(async (key) => {
      started.push(key);
      const gate = Promise.withResolvers<void>();
      gates.set(key, gate);
      await gate.promise;
      if (key === 'ns/b') throw new Error('fails while shutting down');
    });
    queue.add('ns/a');
    queue.add('ns/b');
    queue.add('ns/c');
    queue.addAfter('ns/d', 1000);
    await flush();
    expect([queue.inFlight, queue.depth, queue.pendingDelayed, clock.pending]).toEqual([2, 1, 1, 1]);

    let done = false;
    const shutDown = queue.shutDown().then(() => (done = true));
    expect(queue.shutDown()).toBe(queue.shutDown());
    expect([queue.depth, queue.pendingDelayed, clock.pending]).toEqual([0, 0, 0]);
    queue.add('ns/e');
    queue.addAfter('ns/f', 10);
    queue.addRateLimited('ns/g');
    expect([queue.depth, queue.pendingDelayed, clock.pending]).toEqual([0, 0, 0]);

    gates.get('ns/a')?.resolve();
    await flush();
    expect(done).toBe(false);
    gates.get('ns/b')?.resolve();
    await shutDown;
    expect(done).toBe(true);
    clock.advance(5000);
    await flush();
    expect(started).toEqual(['ns/a', 'ns/b']);
    expect([queue.inFlight, queue.pendingDelayed, clock.pending]).toEqual([0, 0, 0]);
  });

  it('resolves at once when nothing is in flight', async () => {
    const { queue } = setup();
    await queue.shutDown();
    expect(queue.inFlight).toBe(0);
  });
});

describe('WorkQueue: observer', () => {
  it('reports adds, wait and work times, and depth', async () => {
    const events: string[] = [];
    const { clock, queue } = setup({
      observer: {
        onAdd: (k) => events.push(`add ${k}`),
        onGet: (k, waited) => events.push(`get ${k} ${waited}`),
        onDone: (k, work) => events.push(`done ${k} ${work}`),
        onDepth: (d) => events.push(`depth ${d}`),
      },
    });
    queue.add('ns/a');
    clock.advance(7);
    const gate = Promise.withResolvers<void>();
    queue.start(async () => {
      await gate.promise;
    });
    await flush();
    clock.advance(3);
    gate.resolve();
    await queue.idle();
    expect(events).toEqual(['add ns/a', 'depth 1', 'depth 0', 'get ns/a 7', 'done ns/a 3']);
  });

  it('keeps working when a hook throws', async () => {
    const { queue } = setup({
      observer: {
        onAdd: () => {
          throw new Error('metrics broke');
        },
      },
    });
    let calls = 0;
    queue.start(async () => {
      calls++;
    });
    queue.add('ns/a');
    await queue.idle();
    expect(calls).toBe(1);
  });
});

describe('WorkQueue in batches', () => {
  it('hands up to maxKeys ready keys to one call, and runs at most `concurrency` calls at once', async () => {
    const { queue } = setup({ concurrency: 2 });
    const calls: string[][] = [];
    const gates: Array<PromiseWithResolvers<void>> = [];
    queue.startBatches(
      async (keys) => {
        calls.push(keys);
        const gate = Promise.withResolvers<void>();
        gates.push(gate);
        await gate.promise;
        return new Map();
      },
      { maxKeys: 3 },
    );
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) queue.add(k);
    await flush();
    expect(calls).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e', 'f'],
    ]);
    gates[0]!.resolve();
    await flush();
    expect(calls[2]).toEqual(['g']);
    gates.forEach((g) => g.resolve());
    await queue.idle();
    expect(calls).toHaveLength(3);
  });

  it('applies each key its own result: a failed key backs off, the others requeue after their delay', async () => {
    const { clock, queue } = setup({ baseMs: 100 });
    const seen: string[][] = [];
    queue.startBatches(
      async (keys) => {
        seen.push(keys);
        return new Map<string, ReconcileResult | Error>([
          ['ok', { requeueAfterMs: 1000 }],
          ['bad', new Error('backend refused')],
        ]);
      },
      { maxKeys: 10 },
    );
    queue.add('ok');
    queue.add('bad');
    await queue.idle();
    expect(queue.retries('bad')).toBe(1);
    expect(queue.retries('ok')).toBe(0);
    await advance(clock, queue, 100);
    expect(seen.at(-1)).toEqual(['bad']);
    await advance(clock, queue, 900);
    expect(seen.at(-1)).toEqual(['ok']);
  });

  it('a key added again while its batch runs is processed once more, never in two batches at once', async () => {
    const { queue } = setup();
    const running = new Concurrency();
    const calls: string[][] = [];
    const firstGate = Promise.withResolvers<void>();
    queue.startBatches(
      async (keys) => {
        calls.push(keys);
        keys.forEach((k) => running.enter(k));
        if (calls.length === 1) await firstGate.promise;
        keys.forEach((k) => running.leave(k));
        return new Map();
      },
      { maxKeys: 5 },
    );
    queue.add('a');
    await flush();
    queue.add('a');
    queue.add('b');
    await flush();
    expect(calls).toEqual([['a'], ['b']]);
    firstGate.resolve();
    await queue.idle();
    expect(calls).toEqual([['a'], ['b'], ['a']]);
    expect(running.maxPerKey).toBe(1);
  });

  it('with a window, keys that come due within it share one call', async () => {
    const { clock, queue } = setup();
    const calls: string[][] = [];
    queue.startBatches(
      async (keys) => {
        calls.push(keys);
        return new Map();
      },
      { maxKeys: 10, windowMs: 50 },
    );
    queue.addAfter('a', 10);
    queue.addAfter('b', 40);
    queue.addAfter('c', 200);
    await advance(clock, queue, 300);
    expect(calls).toEqual([['a', 'b'], ['c']]);
  });
});
