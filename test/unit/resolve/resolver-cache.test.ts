import { describe, expect, it } from 'vitest';
import { Resolver } from '../../../src/resolve/resolver.ts';
import { Targets } from '../../harness/targets.ts';

describe('the resolver cache and refresh.maxSeconds', () => {
  it('regression: a target with a TTL of two days is looked up again after refresh.maxSeconds, as documented', async () => {
    const targets = new Targets();
    targets.setAddresses('long.demo.test', 'A', ['192.0.2.1'], 172_800);
    let now = 1_000_000;
    const resolver = new Resolver({
      servers: [{ host: '127.0.0.1', port: 53 }],
      transport: targets.transport(),
      timeoutMs: 100,
      attempts: 1,
      cacheMaxEntries: 10,
      maxCacheSeconds: 60,
      now: () => now,
    });
    const first = await resolver.resolve('long.demo.test', 'A');
    expect(first.result).toMatchObject({ kind: 'addresses', ttl: 172_800 });
    expect(first.expiresAt).toBe(now + 60_000);
    now += 30_000;
    expect((await resolver.resolve('long.demo.test', 'A')).cached).toBe(true);
    now += 31_000;
    const again = await resolver.resolve('long.demo.test', 'A');
    expect(again.cached).toBe(false);
    expect(resolver.stats.queries).toBe(2);
    // The published TTL is still the target's own.
    expect(again.result).toMatchObject({ ttl: 172_800 });
  });
});
