import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NetTransport } from '../../src/dns/transport.ts';
import { Resolver } from '../../src/resolve/resolver.ts';
import type { ResolverOptions } from '../../src/resolve/resolver.ts';
import { TestAuthServer } from '../harness/authserver.ts';
import { freePort } from '../harness/ports.ts';

/** The resolver against the project's own authoritative server, over real UDP and TCP. */
describe('resolver against a real authoritative server', () => {
  let server: TestAuthServer;
  let clock = 1_000_000;
  let transport: NetTransport;
  const make = (over: Partial<ResolverOptions> = {}): Resolver =>
    new Resolver({
      servers: [server.endpoint],
      transport,
      timeoutMs: 300,
      attempts: 2,
      cacheMaxEntries: 1000,
      now: () => clock,
      ...over,
    });

  beforeAll(async () => {
    server = await TestAuthServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });
  beforeEach(() => {
    server.clear();
    server.resetCounts();
    transport = new NetTransport();
  });

  it('resolves A and AAAA separately, sorted and canonical', async () => {
    server.setAddresses('lb.demo.test', 'A', ['192.0.2.2', '192.0.2.10', '192.0.2.1'], 120);
    server.setAddresses('lb.demo.test', 'AAAA', ['2001:DB8:0:0::1'], 90);
    const r = make();
    const a = await r.resolve('LB.demo.test.', 'A');
    const aaaa = await r.resolve('lb.demo.test', 'AAAA');
    expect(a.result).toEqual({
      kind: 'addresses',
      addresses: ['192.0.2.1', '192.0.2.2', '192.0.2.10'],
      ttl: 120,
      chain: ['lb.demo.test'],
    });
    expect(aaaa.result).toEqual({
      kind: 'addresses',
      addresses: ['2001:db8::1'],
      ttl: 90,
      chain: ['lb.demo.test'],
    });
    expect(a.expiresAt).toBe(clock + 120_000);
  });

  it('follows a CNAME chain and publishes the lowest TTL along it (behaviour rules 2 and 3)', async () => {
    server.setCname('app.demo.test', 'edge.cdn.test', 300);
    server.setCname('edge.cdn.test', 'pop7.cdn.test', 45);
    server.setAddresses('pop7.cdn.test', 'A', ['198.51.100.7'], 600);
    const { result } = await make().resolve('app.demo.test', 'A');
    expect(result).toEqual({
      kind: 'addresses',
      addresses: ['198.51.100.7'],
      ttl: 45,
      chain: ['app.demo.test', 'edge.cdn.test', 'pop7.cdn.test'],
    });
  });

  it('asks again for a CNAME target the server did not chase', async () => {
    const plain = await TestAuthServer.start({ chaseCnames: false });
    try {
      plain.setCname('app.demo.test', 'edge.cdn.test', 300);
      plain.setAddresses('edge.cdn.test', 'A', ['198.51.100.8'], 60);
      const { result } = await make({ servers: [plain.endpoint] }).resolve('app.demo.test', 'A');
      expect(result).toMatchObject({ kind: 'addresses', addresses: ['198.51.100.8'], ttl: 60 });
      expect(plain.queries({ name: 'edge.cdn.test' })).toBe(1);
    } finally {
      await plain.stop();
    }
  });

  it('a CNAME loop is an error, not an answer', async () => {
    server.setCname('a.loop.test', 'b.loop.test', 60);
    server.setCname('b.loop.test', 'a.loop.test', 60);
    const { result } = await make().resolve('a.loop.test', 'A');
    expect(result).toMatchObject({ kind: 'failed', reason: 'loop' });
  });

  it('a chain of 8 hops resolves; 9 hops is too long', async () => {
    for (let i = 0; i < 9; i++) server.setCname(`h${i}.chain.test`, `h${i + 1}.chain.test`, 60);
    server.setAddresses('h9.chain.test', 'A', ['192.0.2.9'], 60);
    const r = make();
    expect((await r.resolve('h1.chain.test', 'A')).result).toMatchObject({ kind: 'addresses' });
    expect((await r.resolve('h0.chain.test', 'A')).result).toMatchObject({
      kind: 'failed',
      reason: 'chain-too-long',
    });
  });

  it('tells NXDOMAIN from NODATA, with the SOA negative TTL', async () => {
    server.setAddresses('v4only.demo.test', 'A', ['192.0.2.4'], 60);
    const r = make();
    expect((await r.resolve('missing.demo.test', 'A')).result).toEqual({
      kind: 'missing',
      reason: 'nxdomain',
      ttl: 30,
      chain: ['missing.demo.test'],
    });
    expect((await r.resolve('v4only.demo.test', 'AAAA')).result).toMatchObject({
      kind: 'missing',
      reason: 'nodata',
    });
  });

  it.each([
    ['servfail', 'servfail'],
    ['refused', 'refused'],
    ['drop', 'timeout'],
    ['malformed', 'malformed'],
    ['wrong-id', 'timeout'],
    ['wrong-question', 'timeout'],
  ] as const)('behaviour %s fails as %s, never as an answer', async (behaviour, reason) => {
    server.setAddresses('bad.demo.test', 'A', ['192.0.2.66'], 60);
    server.setBehaviour('bad.demo.test', behaviour);
    const { result } = await make().resolve('bad.demo.test', 'A');
    expect(result).toMatchObject({ kind: 'failed', reason });
    expect(server.queries({ name: 'bad.demo.test' })).toBe(2); // both attempts were made
  });

  it('replies with the wrong ID are dropped, never trusted', async () => {
    server.setAddresses('spoof.demo.test', 'A', ['192.0.2.66'], 60);
    server.setBehaviour('spoof.demo.test', 'wrong-id');
    await make().resolve('spoof.demo.test', 'A');
    expect(transport.stats.dropped).toBeGreaterThanOrEqual(2);
  });

  it('a truncated UDP answer is retried over TCP', async () => {
    server.setAddresses('big.demo.test', 'A', ['192.0.2.5'], 60);
    server.setBehaviour('big.demo.test', 'truncate');
    const { result } = await make().resolve('big.demo.test', 'A');
    expect(result).toMatchObject({ kind: 'addresses', addresses: ['192.0.2.5'] });
    expect(server.queries({ name: 'big.demo.test', tcp: true })).toBe(1);
    expect(transport.stats.truncated).toBe(1);
  });

  it('a dead server is skipped for the next one', async () => {
    server.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 60);
    const dead = { host: '127.0.0.1', port: await freePort() };
    const { result } = await make({ servers: [dead, server.endpoint] }).resolve('lb.demo.test', 'A');
    expect(result).toMatchObject({ kind: 'addresses' });
  });

  it('a resolver port where nothing listens (ECONNREFUSED) fails as refused, not as a timeout', async () => {
    const dead = { host: '127.0.0.1', port: await freePort() };
    const { result } = await make({ servers: [dead], timeoutMs: 5_000 }).resolve('lb.demo.test', 'A');
    expect(result).toMatchObject({ kind: 'failed', reason: 'refused' });
    expect(result.kind === 'failed' && result.message).toContain('refused the connection');
    expect(result.kind === 'failed' && result.message).toContain('ECONNREFUSED');
  });

  it('single-flight: 200 concurrent lookups of one target send one query', async () => {
    server.setAddresses('hot.demo.test', 'A', ['192.0.2.3'], 60);
    const r = make();
    const results = await Promise.all(Array.from({ length: 200 }, () => r.resolve('hot.demo.test', 'A')));
    expect(new Set(results.map((x) => JSON.stringify(x.result))).size).toBe(1);
    expect(server.queries({ name: 'hot.demo.test' })).toBe(1);
  });

  it('caches for the TTL, then asks again', async () => {
    server.setAddresses('ttl.demo.test', 'A', ['192.0.2.3'], 60);
    const r = make();
    await r.resolve('ttl.demo.test', 'A');
    clock += 59_000;
    expect((await r.resolve('ttl.demo.test', 'A')).cached).toBe(true);
    expect(server.queries({ name: 'ttl.demo.test' })).toBe(1);
    clock += 2_000;
    expect((await r.resolve('ttl.demo.test', 'A')).cached).toBe(false);
    expect(server.queries({ name: 'ttl.demo.test' })).toBe(2);
  });

  it('does not cache failures', async () => {
    server.setBehaviour('flaky.demo.test', 'servfail');
    const r = make({ attempts: 1 });
    expect((await r.resolve('flaky.demo.test', 'A')).result.kind).toBe('failed');
    server.setBehaviour('flaky.demo.test', 'normal');
    server.setAddresses('flaky.demo.test', 'A', ['192.0.2.77'], 60);
    expect((await r.resolve('flaky.demo.test', 'A')).result).toMatchObject({ kind: 'addresses' });
  });
});
