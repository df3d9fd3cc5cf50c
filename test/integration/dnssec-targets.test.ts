import dgram from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetTransport } from '../../src/dns/transport.ts';
import type { Endpoint } from '../../src/dns/transport.ts';
import { desired } from '../../src/plan/desired.ts';
import type { AliasPolicy, FamilyResolution } from '../../src/plan/types.ts';
import { Resolver } from '../../src/resolve/resolver.ts';
import type { ResolverOptions } from '../../src/resolve/resolver.ts';
import { startBind } from '../harness/bind.ts';
import type { BindServer } from '../harness/bind.ts';
import { signZoneOffline } from '../harness/dnssec.ts';
import { freePort } from '../harness/ports.ts';
import { startUnbound } from '../harness/unbound.ts';
import type { UnboundServer } from '../harness/unbound.ts';
import { runCli } from '../harness/cli.ts';

/*
 * The target zones, all on one BIND:
 *   signed.test      signed by BIND (dnssec-policy default), the good chain; it delegates
 *                    sub.signed.test without a DS (an insecure delegation)
 *   sub.signed.test  unsigned child
 *   plain.test       unsigned, no trust anchor
 *   expired.test     signed offline with signatures that expired in 2020
 *   tampered.test    signed offline, then one A record changed under its signature
 *   lame.test        not served at all: the validator gets REFUSED, an ordinary SERVFAIL
 * behind real validating Unbound instances with trust anchors taken from the keys.
 */
const SIGNED = {
  name: 'signed.test',
  records: [
    'www 300 IN A 192.0.2.10',
    'www 300 IN AAAA 2001:db8::10',
    'alias 300 IN CNAME www',
    'hop 300 IN CNAME host.plain.test.',
    'deleg 300 IN CNAME host.sub.signed.test.',
    'sub 300 IN NS ns1.sub',
    'ns1.sub 300 IN A 127.0.0.1',
  ],
};
const SUB = { name: 'sub.signed.test', records: ['host 300 IN A 192.0.2.30'] };
const PLAIN = {
  name: 'plain.test',
  records: ['host 300 IN A 192.0.2.20', 'back 300 IN CNAME www.signed.test.'],
};
const EXPIRED = { name: 'expired.test', records: ['www 300 IN A 192.0.2.40'] };
const TAMPERED = { name: 'tampered.test', records: ['www 300 IN A 192.0.2.50'] };
const STUB_ZONES = [
  'signed.test',
  'sub.signed.test',
  'plain.test',
  'expired.test',
  'tampered.test',
  'lame.test',
];

const POLICY: AliasPolicy = {
  families: ['IPv4'],
  ttl: { max: 3600 },
  onTargetMissing: 'Remove',
  fallbackAddresses: [],
  adopt: false,
};
const LAST_GOOD = { A: { ttl: 300, addresses: ['198.51.100.1'] } };

describe('DNSSEC-validated targets through a real validating Unbound', () => {
  let bind: BindServer;
  /** Anchors for signed.test, expired.test and tampered.test; EDE on. */
  let validator: UnboundServer;
  /** The same anchors, without Extended DNS Errors: bogus is told from SERVFAIL by asking with CD. */
  let quietValidator: UnboundServer;
  /** A trust anchor for signed.test that is not its key. */
  let wrongAnchor: UnboundServer;
  /** Recursion without the validator module: never sets AD. */
  let nonValidating: UnboundServer;
  let anchors: Record<string, string>;
  let dir: string;

  const endpoint = (u: { host: string; port: number }): Endpoint => ({ host: u.host, port: u.port });
  const resolver = (server: Endpoint, over: Partial<ResolverOptions> = {}): Resolver =>
    new Resolver({
      servers: [server],
      transport: new NetTransport(),
      timeoutMs: 3000,
      attempts: 1,
      cacheMaxEntries: 0,
      now: () => Date.now(),
      dnssec: 'require',
      ...over,
    });
  const lookup = async (r: Resolver, name: string, type: 'A' | 'AAAA' = 'A'): Promise<FamilyResolution> =>
    (await r.resolve(name, type)).result;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'apexalias-dnssec-'));
    const expired = await signZoneOffline(EXPIRED, {
      inception: '20200101000000',
      expiration: '20200201000000',
    });
    const now = new Date();
    const stamp = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
    const tampered = await signZoneOffline(
      TAMPERED,
      {
        inception: stamp(new Date(now.getTime() - 3600_000)),
        expiration: stamp(new Date(now.getTime() + 30 * 86400_000)),
      },
      (text) => {
        expect(text).toContain('192.0.2.50');
        return text.replace('192.0.2.50', '192.0.2.51');
      },
    );
    bind = await startBind({
      zones: [SIGNED, SUB, PLAIN, { ...EXPIRED, text: expired.text }, { ...TAMPERED, text: tampered.text }],
      signedZones: ['signed.test'],
    });
    anchors = {
      signed: await bind.trustAnchor('signed.test'),
      expired: expired.anchor,
      tampered: tampered.anchor,
    };
    const stubs = STUB_ZONES.map((zone) => ({ zone, host: bind.host, port: bind.port }));
    const trustAnchors = [anchors.signed!, anchors.expired!, anchors.tampered!];
    [validator, quietValidator, wrongAnchor, nonValidating] = await Promise.all([
      startUnbound({ stubs, trustAnchors, ede: true }),
      startUnbound({ stubs, trustAnchors }),
      // The tampered zone's key, claimed for signed.test: a key that never signed it.
      startUnbound({
        stubs,
        trustAnchors: [anchors.tampered!.replace(/^tampered\.test\./, 'signed.test.')],
        ede: true,
      }),
      startUnbound({ stubs, validate: false }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([validator, quietValidator, wrongAnchor, nonValidating].map((u) => u?.stop()));
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  describe('a good chain', () => {
    it('dig through the validator shows the AD bit on the signed zone', async () => {
      const a = await validator.dig('www.signed.test', 'A', { extraArgs: ['+dnssec'] });
      expect(a.rcode).toBe('NOERROR');
      expect(a.flags).toContain('ad');
      expect(a.answers).toEqual(['192.0.2.10']);
      console.log(`dig +dnssec @unbound www.signed.test A:\n${a.output}`);
    });

    it('require: A, AAAA, an in-zone CNAME and an authenticated NXDOMAIN are used, validated', async () => {
      const r = resolver(endpoint(validator));
      const www = await lookup(r, 'www.signed.test');
      expect(www).toEqual({
        kind: 'addresses',
        addresses: ['192.0.2.10'],
        // Unbound's cache counts the 300 s down between tests.
        ttl: expect.any(Number),
        chain: ['www.signed.test'],
        validated: true,
      });
      expect((www as { ttl: number }).ttl).toBeGreaterThan(200);
      expect(await lookup(r, 'www.signed.test', 'AAAA')).toMatchObject({
        kind: 'addresses',
        addresses: ['2001:db8::10'],
        validated: true,
      });
      expect(await lookup(r, 'alias.signed.test')).toMatchObject({
        kind: 'addresses',
        addresses: ['192.0.2.10'],
        chain: ['alias.signed.test', 'www.signed.test'],
        validated: true,
      });
      expect(await lookup(r, 'nope.signed.test')).toMatchObject({
        kind: 'missing',
        reason: 'nxdomain',
        validated: true,
      });
      // Three lookups and one denial: one query each, no CD re-query.
      expect(r.stats.queries).toBe(4);
    });

    it('off: the same answer without DO and without a validation state', async () => {
      const result = await lookup(resolver(endpoint(validator), { dnssec: 'off' }), 'www.signed.test');
      expect(result).toEqual({
        kind: 'addresses',
        addresses: ['192.0.2.10'],
        ttl: expect.any(Number),
        chain: ['www.signed.test'],
      });
    });
  });

  describe('a chain through an unsigned hop', () => {
    it('dig shows no AD bit for a CNAME into an unsigned zone', async () => {
      const hop = await validator.dig('hop.signed.test', 'A', { extraArgs: ['+dnssec'] });
      expect(hop.rcode).toBe('NOERROR');
      expect(hop.flags).not.toContain('ad');
      console.log(`dig +dnssec @unbound hop.signed.test A:\n${hop.output}`);
    });

    it.each([
      [
        'a signed CNAME into an unsigned zone',
        'hop.signed.test',
        ['hop.signed.test', 'host.plain.test'],
        '192.0.2.20',
      ],
      [
        'a signed CNAME through an insecure delegation',
        'deleg.signed.test',
        ['deleg.signed.test', 'host.sub.signed.test'],
        '192.0.2.30',
      ],
      [
        'an unsigned CNAME into the signed zone',
        'back.plain.test',
        ['back.plain.test', 'www.signed.test'],
        '192.0.2.10',
      ],
    ])('%s: refused under require, used but recorded under prefer', async (_title, name, chain, address) => {
      const refused = await lookup(resolver(endpoint(validator)), name);
      expect(refused).toMatchObject({ kind: 'failed', reason: 'dnssec-unvalidated', chain: [name] });
      expect((refused as { message: string }).message).toMatch(/AD bit clear/);
      const preferred = await lookup(resolver(endpoint(validator), { dnssec: 'prefer' }), name);
      expect(preferred).toEqual({
        kind: 'addresses',
        addresses: [address],
        ttl: expect.any(Number),
        chain,
        validated: false,
      });
    });

    it('an unvalidated NXDOMAIN under require is a failure, so onTargetMissing: Remove removes nothing', async () => {
      const result = await lookup(resolver(endpoint(validator)), 'nope.plain.test');
      expect(result).toMatchObject({ kind: 'failed', reason: 'dnssec-unvalidated' });
      const plan = desired(POLICY, { A: result }, LAST_GOOD);
      expect(plan.A).toEqual({ action: 'write', rrset: LAST_GOOD.A, source: 'lastKnownGood' });
      expect(plan.problems).toMatchObject([{ type: 'A', reason: 'dnssec-unvalidated' }]);
      // Under prefer the same denial is believed, with its state recorded.
      const preferred = await lookup(resolver(endpoint(validator), { dnssec: 'prefer' }), 'nope.plain.test');
      expect(preferred).toMatchObject({ kind: 'missing', reason: 'nxdomain', validated: false });
    });

    it('a resolver that does not validate never sets AD: require refuses even the signed zone', async () => {
      const result = await lookup(resolver(endpoint(nonValidating)), 'www.signed.test');
      expect(result).toMatchObject({ kind: 'failed', reason: 'dnssec-unvalidated' });
      expect(
        await lookup(resolver(endpoint(nonValidating), { dnssec: 'prefer' }), 'www.signed.test'),
      ).toMatchObject({
        kind: 'addresses',
        addresses: ['192.0.2.10'],
        validated: false,
      });
    });
  });

  describe('a bogus zone', () => {
    it('dig shows SERVFAIL with the Extended DNS Error, and the data with CD set', async () => {
      const plain = await validator.dig('www.expired.test', 'A', { extraArgs: ['+dnssec'] });
      expect(plain.rcode).toBe('SERVFAIL');
      expect(plain.output).toMatch(/; EDE: \d+/);
      const cd = await validator.dig('www.expired.test', 'A', { extraArgs: ['+dnssec', '+cd'] });
      expect(cd.rcode).toBe('NOERROR');
      expect(cd.answers).toEqual(['192.0.2.40']);
      console.log(
        `dig +dnssec @unbound www.expired.test A:\n${plain.output}\ndig +dnssec +cd:\n${cd.output}`,
      );
    });

    it.each([
      ['expired signatures', () => validator, 'www.expired.test'],
      ['a broken signature', () => validator, 'www.tampered.test'],
      ['a wrong trust anchor', () => wrongAnchor, 'www.signed.test'],
    ])(
      '%s: dnssec-bogus from the EDE, in one query, and the last-known-good records stay',
      async (title, server, name) => {
        const r = resolver(endpoint(server()));
        const result = await lookup(r, name);
        expect(result).toMatchObject({ kind: 'failed', reason: 'dnssec-bogus', chain: [name] });
        const message = (result as { message: string }).message;
        expect(message).toMatch(/DNSSEC validation failed \(EDE (6|7|9|10)/);
        console.log(`${title}: ${message}`);
        expect(r.stats.queries).toBe(1);
        const plan = desired(POLICY, { A: result }, LAST_GOOD);
        expect(plan.A).toEqual({ action: 'write', rrset: LAST_GOOD.A, source: 'lastKnownGood' });
        expect(plan.problems).toMatchObject([{ type: 'A', reason: 'dnssec-bogus' }]);
        // prefer never blocks an answer, but a bogus one never arrives: the validator withholds it.
        expect(await lookup(resolver(endpoint(server()), { dnssec: 'prefer' }), name)).toMatchObject({
          reason: 'dnssec-bogus',
        });
        // off asks no DNSSEC questions: the same SERVFAIL is an ordinary one.
        expect(await lookup(resolver(endpoint(server()), { dnssec: 'off' }), name)).toMatchObject({
          reason: 'servfail',
        });
      },
    );

    it('without EDE, asking again with CD tells bogus data from an ordinary SERVFAIL', async () => {
      const bogus = resolver(endpoint(quietValidator));
      const result = await lookup(bogus, 'www.expired.test');
      expect(result).toMatchObject({ kind: 'failed', reason: 'dnssec-bogus' });
      expect((result as { message: string }).message).toMatch(/NOERROR with checking disabled \(CD\)/);
      console.log(`without EDE: ${(result as { message: string }).message}`);
      expect(bogus.stats.queries).toBe(2);

      const lame = resolver(endpoint(quietValidator));
      expect(await lookup(lame, 'www.lame.test')).toMatchObject({ kind: 'failed', reason: 'servfail' });
      expect(lame.stats.queries).toBe(2);
      // The validator with EDE says nothing DNSSEC-related for it either.
      expect(await lookup(resolver(endpoint(validator)), 'www.lame.test')).toMatchObject({
        reason: 'servfail',
      });
    });
  });

  describe('the path to the validator', () => {
    it('an unreachable validator is a lookup failure and the last-known-good records stay', async () => {
      // Down: nothing listens on the port, so the kernel refuses at once.
      const closed = { host: '127.0.0.1', port: await freePort() };
      const down = await lookup(resolver(closed, { timeoutMs: 500 }), 'www.signed.test');
      expect(down).toMatchObject({ kind: 'failed', reason: 'refused' });
      expect((down as { message: string }).message).toMatch(/refused the connection/);
      // Cut off: the packets go nowhere (a socket that never answers), so the lookup times out.
      const hole = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => hole.bind(0, '127.0.0.1', resolve));
      try {
        const silent = { host: '127.0.0.1', port: hole.address().port };
        const lost = await lookup(resolver(silent, { timeoutMs: 300 }), 'www.signed.test');
        expect(lost).toMatchObject({ kind: 'failed', reason: 'timeout' });
        expect((lost as { message: string }).message).toMatch(/did not answer/);
        for (const result of [down, lost]) {
          const plan = desired(POLICY, { A: result }, LAST_GOOD);
          expect(plan.A).toEqual({ action: 'write', rrset: LAST_GOOD.A, source: 'lastKnownGood' });
        }
      } finally {
        hole.close();
      }
    });

    it('an AD bit over an untrusted path is not believed; require refuses such a server outright', async () => {
      // "localhost" reaches the same validator, but a name's address comes from an unvalidated lookup.
      const byName = { host: 'localhost', port: validator.port };
      const result = await lookup(resolver(byName, { dnssec: 'prefer' }), 'www.signed.test');
      expect(result).toMatchObject({ kind: 'addresses', addresses: ['192.0.2.10'], validated: false });
      expect(() => resolver(byName)).toThrow(
        expect.objectContaining({ code: 'ERR_RESOLVER_UNTRUSTED_VALIDATOR' }),
      );
      expect(() => resolver({ host: '192.0.2.53', port: 53 })).toThrow(/192\.0\.2\.53/);
      expect(() =>
        resolver({ host: '192.0.2.53', port: 53 }, { trustedValidators: ['192.0.2.53'] }),
      ).not.toThrow();
    });

    it('apexalias resolve reads resolver.dnssec from the configuration, and refuses an untrusted server at load', async () => {
      const good = join(dir, 'require.yaml');
      await writeFile(
        good,
        [
          'resolver:',
          `  servers: ["127.0.0.1:${validator.port}"]`,
          '  dnssec: require',
          'backends: [{ name: local, type: zonefile, zones: ["*"] }]',
          '',
        ].join('\n'),
      );
      const ok = await runCli(['--config', good, 'resolve', 'www.signed.test']);
      expect(ok.stdout).toContain('192.0.2.10');
      expect(ok.stdout).toContain('dnssec validated');
      expect(ok.code).toBe(0);
      console.log(`apexalias resolve www.signed.test (dnssec: require):\n${ok.stdout}`);
      const hop = await runCli(['--config', good, 'resolve', 'hop.signed.test', '--type', 'A']);
      expect(hop.code).toBe(1);
      expect(hop.stdout).toMatch(/failed \(dnssec-unvalidated\)/);

      const bad = join(dir, 'untrusted.yaml');
      await writeFile(
        bad,
        'resolver: { servers: ["192.0.2.53"], dnssec: require }\nbackends: [{ name: local, type: zonefile, zones: ["*"] }]\n',
      );
      const refused = await runCli(['--config', bad, 'resolve', 'www.signed.test']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        /resolver\.servers: 192\.0\.2\.53 is neither loopback nor in resolver\.trustedValidators/,
      );
    });
  });
});
