import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NetTransport } from '../../src/dns/transport.ts';
import { syncAliases } from '../../src/engine/sync.ts';
import type { SyncDeps } from '../../src/engine/sync.ts';
import type { AliasInput, AliasSpecView } from '../../src/engine/types.ts';
import { createLogger } from '../../src/observe/logger.ts';
import { Resolver } from '../../src/resolve/resolver.ts';
import { TestAuthServer } from '../harness/authserver.ts';
import { startBind } from '../harness/bind.ts';
import { startKnot } from '../harness/knot.ts';
import type { TestDnsServer } from '../harness/server-common.ts';
import { rfc2136Backend, tsigKeyOf } from './conformance/rfc2136-fixture.ts';
import { Writable } from 'node:stream';

const ZONE = 'example.test';

const spec = (over: Partial<AliasSpecView> = {}): AliasSpecView => ({
  zone: ZONE,
  name: '@',
  target: 'lb.demo.test',
  addressFamilies: ['IPv4', 'IPv6'],
  ttl: { max: 3600 },
  onTargetMissing: 'Keep',
  fallbackAddresses: [],
  driftPolicy: 'Correct',
  adopt: false,
  ...over,
});

const alias = (name: string, over: Partial<AliasSpecView> = {}): AliasInput => ({
  namespace: 'ns',
  name,
  spec: spec({ name, ...over }),
});

/** The engine over the rfc2136 backend, against each real server. */
describe.each([
  ['BIND 9', () => startBind({ zones: [{ name: ZONE }] })],
  ['Knot', () => startKnot({ zones: [{ name: ZONE }] })],
] as const)('sync engine with rfc2136 against %s', (_label, start) => {
  let server: TestDnsServer;
  let upstream: TestAuthServer;
  let deps: SyncDeps;
  const a = async (name: string): Promise<string[]> => (await server.dig(name, 'A')).answers.sort();
  const aaaa = async (name: string): Promise<string[]> => (await server.dig(name, 'AAAA')).answers.sort();

  beforeAll(async () => {
    server = await start();
    upstream = await TestAuthServer.start();
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.stop();
  });
  beforeEach(() => {
    upstream.clear();
    upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 60);
    upstream.setAddresses('lb.demo.test', 'AAAA', ['2001:db8::1'], 60);
    const backend = rfc2136Backend(server, ZONE, tsigKeyOf(server.keys[0]!));
    deps = {
      resolver: new Resolver({
        servers: [upstream.endpoint],
        transport: new NetTransport(),
        timeoutMs: 300,
        attempts: 1,
        cacheMaxEntries: 0, // each pass asks again: the tests change the target between passes
        now: () => Date.now(),
      }),
      backendFor: () => backend,
      ownerId: 'engine',
      refresh: { minSeconds: 30, maxSeconds: 86400, jitter: 0.1 },
      logger: createLogger({ stream: new Writable({ write: (_c, _e, cb) => cb() }) }),
      now: () => Date.now(),
      random: () => 0.5,
      dryRun: false,
    };
  });

  it('AAAA failure leaves AAAA as it was and still writes A (behaviour rule 1)', async () => {
    await syncAliases([alias('fam')], deps);
    expect(await aaaa(`fam.${ZONE}`)).toEqual(['2001:db8::1']);
    upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.2'], 60);
    upstream.setBehaviour('lb.demo.test', 'servfail', 'AAAA');
    const { outcomes } = await syncAliases([alias('fam')], deps);
    expect(outcomes[0]!.written).toBe(true);
    expect(outcomes[0]!.failure?.code).toBe('ERR_RESOLVE_SERVFAIL');
    expect(await a(`fam.${ZONE}`)).toEqual(['192.0.2.2']);
    expect(await aaaa(`fam.${ZONE}`)).toEqual(['2001:db8::1']);
  });

  it('a name changed by hand fails its batch, and the rest of the batch still lands', async () => {
    const names = ['iso1', 'iso2', 'iso3'];
    await syncAliases(
      names.map((n) => alias(n)),
      deps,
    );
    // Someone replaces the marker of iso2 between our read and our write: simulate by changing
    // it now and letting the engine plan from a stale read (the target changed too).
    upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.3'], 60);
    await server.nsupdate(
      `update delete _apexalias.iso2.${ZONE}. TXT\nupdate add _apexalias.iso2.${ZONE}. 300 TXT "heritage=apexalias,owner=rival,resource=x/y"\n`,
    );
    const { outcomes, summary } = await syncAliases(
      names.map((n) => alias(n)),
      deps,
    );
    const byName = new Map(outcomes.map((o) => [o.input.name, o]));
    expect(byName.get('iso2')!.verdict).toMatchObject({ kind: 'blocked', reason: 'OwnedByOther' });
    expect(await a(`iso1.${ZONE}`)).toEqual(['192.0.2.3']);
    expect(await a(`iso3.${ZONE}`)).toEqual(['192.0.2.3']);
    expect(await a(`iso2.${ZONE}`)).toEqual(['192.0.2.1']);
    expect(summary.writes).toBe(1);
  });

  it('onTargetMissing Remove deletes only that family on NODATA; Fallback writes the siblings', async () => {
    await syncAliases(
      [
        alias('rm', { onTargetMissing: 'Remove' }),
        alias('fb', { onTargetMissing: 'Fallback', fallbackAddresses: ['198.51.100.1', '2001:db8::99'] }),
      ],
      deps,
    );
    upstream.setAddresses('lb.demo.test', 'AAAA', [], 60); // NODATA for AAAA
    upstream.remove('lb.demo.test');
    upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 60);
    await syncAliases(
      [
        alias('rm', { onTargetMissing: 'Remove' }),
        alias('fb', { onTargetMissing: 'Fallback', fallbackAddresses: ['198.51.100.1', '2001:db8::99'] }),
      ],
      deps,
    );
    expect(await a(`rm.${ZONE}`)).toEqual(['192.0.2.1']);
    expect(await aaaa(`rm.${ZONE}`)).toEqual([]);
    expect(await a(`fb.${ZONE}`)).toEqual(['192.0.2.1']);
    expect(await aaaa(`fb.${ZONE}`)).toEqual(['2001:db8::99']);
  });

  it('10 aliases over one target cost one lookup per family', async () => {
    const { summary } = await syncAliases(
      Array.from({ length: 10 }, (_, i) => alias(`dedup${i}`)),
      deps,
    );
    expect(summary.lookups).toBe(2);
    expect(summary.writes).toBe(1);
  });
});
