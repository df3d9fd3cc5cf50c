import { afterEach, describe, expect, it, vi } from 'vitest';
import { stopWhenOrphaned } from '../../../src/cli/orphan.ts';

describe('stopWhenOrphaned', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('under npm, stops once the parent is gone, and only once', () => {
    vi.useFakeTimers();
    let parent = 4242;
    let stops = 0;
    stopWhenOrphaned({
      env: { npm_command: 'exec' },
      ppid: () => parent,
      intervalMs: 100,
      onOrphaned: () => stops++,
    });
    vi.advanceTimersByTime(1_000);
    expect(stops).toBe(0);
    parent = 1;
    vi.advanceTimersByTime(1_000);
    expect(stops).toBe(1);
  });

  it('started any other way (nohup, the installed bin), it keeps running when its parent goes', () => {
    vi.useFakeTimers();
    let parent = 4242;
    let stops = 0;
    stopWhenOrphaned({ env: {}, ppid: () => parent, intervalMs: 100, onOrphaned: () => stops++ });
    parent = 1;
    vi.advanceTimersByTime(1_000);
    expect(stops).toBe(0);
  });
});
