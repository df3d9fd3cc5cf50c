import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetTransport } from '../../src/dns/transport.ts';
import { syncAliases } from '../../src/engine/sync.ts';
import type { AliasInput } from '../../src/engine/types.ts';
import { createLogger } from '../../src/observe/logger.ts';
import { Resolver } from '../../src/resolve/resolver.ts';
import { TestAuthServer } from '../harness/authserver.ts';
import { startBind } from '../harness/bind.ts';
import type { BindServer } from '../harness/bind.ts';
import { spec } from '../harness/engine-world.ts';
import { rfc2136Backend, tsigKeyOf } from './conformance/rfc2136-fixture.ts';

const ZONE = 'example.test';

describe('one alias refused by the server fails alone (behaviour rule 14), against a real BIND', () => {
  let bind: BindServer;
  let upstream: TestAuthServer;
  beforeAll(async () => {
    [bind, upstream] = await Promise.all([
      startBind({ zones: [{ name: ZONE }], lockedNames: [`locked.${ZONE}`] }),
      TestAuthServer.start(),
    ]);
    upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 60);
  });
  afterAll(() => Promise.all([bind?.stop(), upstream?.stop()]));

  it('regression: a REFUSED batch is split name by name; six tenants are written and the locked one alone fails', async () => {
    const names = ['t1', 't2', 't3', 'locked', 't4', 't5', 't6'];
    const inputs: AliasInput[] = names.map((n) => ({
      namespace: `team-${n}`,
      name: n,
      spec: spec({ zone: ZONE, name: n, addressFamilies: ['IPv4'] }),
    }));
    const backend = rfc2136Backend(bind, ZONE, tsigKeyOf(bind.keys[0]!));
    const updatesBefore = await bind.updateCount();
    const { outcomes, summary } = await syncAliases(inputs, {
      resolver: new Resolver({
        servers: [upstream.endpoint],
        transport: new NetTransport(),
        timeoutMs: 500,
        attempts: 1,
        cacheMaxEntries: 100,
        now: () => Date.now(),
      }),
      backendFor: () => backend,
      ownerId: 'blast',
      refresh: { minSeconds: 30, maxSeconds: 86_400, jitter: 0.1 },
      logger: createLogger({ stream: new Writable({ write: (_c, _e, cb) => cb() }) }),
      now: () => Date.now(),
      random: () => 0.5,
      dryRun: false,
    });
    await backend.close();
    const byName = new Map(outcomes.map((o) => [o.input.name, o]));
    for (const n of names.filter((x) => x !== 'locked')) {
      expect(byName.get(n)!.written, n).toBe(true);
      expect((await bind.dig(`${n}.${ZONE}`, 'A')).answers).toEqual(['192.0.2.1']);
    }
    const locked = byName.get('locked')!;
    expect(locked.failure?.code).toBe('ERR_BACKEND_REFUSED');
    expect(locked.failure?.message).toContain('refused the change itself');
    for (const o of outcomes)
      for (const other of names.filter((n) => n !== o.input.name))
        expect(o.failure?.message ?? '').not.toContain(`${other}.${ZONE}`);
    // One batch, then halves down to the locked name: a handful of UPDATEs, not one per name.
    const updates = (await bind.updateCount()) - updatesBefore;
    expect(updates).toBe(summary.writes);
    expect(updates).toBeLessThanOrEqual(7);
  });
});
