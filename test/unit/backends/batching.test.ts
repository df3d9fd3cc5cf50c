import { describe, expect, it } from 'vitest';
import { BatchingBackend } from '../../../src/backends/batching.ts';
import { BackendError } from '../../../src/backends/errors.ts';
import type { ApplyResult, DnsBackend } from '../../../src/backends/types.ts';
import type { CurrentRecords, NameChange } from '../../../src/plan/types.ts';
import { claimChange } from '../../harness/changes.ts';

/** A recording DnsBackend: this unit test is about coalescing, not about any server. */
class Recorder implements DnsBackend {
  readonly name = 'rec';
  readonly type = 'recorder';
  reads: string[][] = [];
  applies: string[][] = [];
  failNames = new Set<string>();
  capabilities() {
    return { atomicBatch: true, conditional: true, maxBatchNames: 5 };
  }
  async read(_zone: string, names: string[]): Promise<Map<string, CurrentRecords>> {
    this.reads.push(names);
    return new Map(names.map((n) => [n, { name: n, cname: `c.${n}` }]));
  }
  async apply(_zone: string, changes: NameChange[]): Promise<ApplyResult> {
    const names = changes.map((c) => c.name);
    this.applies.push(names);
    const bad = names.some((n) => this.failNames.has(n));
    return {
      chunks: [
        {
          names,
          records: names.length,
          error: bad ? new BackendError('PRECONDITION', 'YXRRSET', 'x') : undefined,
        },
      ],
    };
  }
  async close() {}
}

const change = (name: string): NameChange => claimChange(name, {}, 'v', []);

describe('BatchingBackend', () => {
  it('coalesces concurrent reads and hands each caller only its names', async () => {
    const inner = new Recorder();
    const b = new BatchingBackend(inner, { windowMs: 5 });
    const [r1, r2] = await Promise.all([b.read('z', ['a.z']), b.read('z', ['b.z', 'c.z'])]);
    expect(inner.reads).toEqual([['a.z', 'b.z', 'c.z']]);
    expect([...r1.keys()]).toEqual(['a.z']);
    expect([...r2.keys()]).toEqual(['b.z', 'c.z']);
  });

  it('coalesces concurrent applies into one write and reports the batch size', async () => {
    const inner = new Recorder();
    inner.failNames.add('b.z');
    const b = new BatchingBackend(inner, { windowMs: 5 });
    const [a, bb] = await Promise.all([b.apply('z', [change('a.z')]), b.apply('z', [change('b.z')])]);
    expect(inner.applies).toEqual([['a.z', 'b.z']]);
    expect(a.chunks).toMatchObject([{ names: ['a.z'], batchSize: 2 }]);
    expect(a.chunks[0]!.error?.kind).toBe('PRECONDITION');
    expect(bb.chunks[0]!.names).toEqual(['b.z']);
  });

  it('flushes at once when a batch reaches the backend maximum', async () => {
    const inner = new Recorder();
    const b = new BatchingBackend(inner, { windowMs: 60_000 });
    await b.apply(
      'z',
      ['1', '2', '3', '4', '5'].map((n) => change(`${n}.z`)),
    );
    expect(inner.applies).toHaveLength(1);
  });

  it('keeps zones apart', async () => {
    const inner = new Recorder();
    const b = new BatchingBackend(inner, { windowMs: 5 });
    await Promise.all([b.read('z1', ['a.z1']), b.read('z2', ['a.z2'])]);
    expect(inner.reads).toHaveLength(2);
  });
});

describe('BatchingBackend cancellation', () => {
  it('a caller cancelled before the flush is rejected and its changes are not sent; the others are', async () => {
    const inner = new Recorder();
    const b = new BatchingBackend(inner, { windowMs: 5 });
    const gone = new AbortController();
    const kept = new AbortController();
    const cancelled = b.apply('z', [change('a.z')], { signal: gone.signal });
    const sent = b.apply('z', [change('b.z')], { signal: kept.signal });
    gone.abort(new Error('lease lost'));
    await expect(cancelled).rejects.toThrow('lease lost');
    expect((await sent).chunks.map((c) => c.names)).toEqual([['b.z']]);
    expect(inner.applies).toEqual([['b.z']]);
  });

  it('a caller whose signal is already aborted is refused without a backend call', async () => {
    const inner = new Recorder();
    const b = new BatchingBackend(inner, { windowMs: 5 });
    await expect(b.read('z', ['a.z'], { signal: AbortSignal.abort(new Error('stopped')) })).rejects.toThrow(
      'stopped',
    );
    expect(inner.reads).toEqual([]);
  });
});
