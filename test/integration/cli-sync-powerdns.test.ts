import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestAuthServer } from '../harness/authserver.ts';
import { startPowerDns } from '../harness/powerdns.ts';
import type { PowerDnsServer } from '../harness/powerdns.ts';
import { aliasManifest, resolverConfig, runSync, serveDemoTarget } from '../harness/cli.ts';
import type { CliResult, SyncReport } from '../harness/cli.ts';

const ZONE = 'example.test';

describe('apexalias sync end to end against PowerDNS through its HTTP API (dnsupdate=no)', () => {
  let pdns: PowerDnsServer;
  let upstream: TestAuthServer;
  let dir: string;
  let config: string;
  let manifests: string;
  const configText = (apiKeyFile: string): string =>
    [
      'ownerId: e2e',
      ...resolverConfig(upstream),
      'backends:',
      '  - name: pdns',
      '    type: powerdns',
      `    url: ${pdns.apiUrl}/`,
      `    zones: [${ZONE}.]`,
      `    apiKeyFile: ${apiKeyFile}`,
    ].join('\n');
  const sync = (configFile = config): Promise<CliResult> => runSync(configFile, manifests);
  const a = async (name: string): Promise<string[]> => [...(await pdns.dig(name, 'A')).answers].sort();
  /**
   * The API requests the server logged while `run` ran. PowerDNS logs a request just after its
   * answer, so the log is let settle before and after, and `expected` lines are waited for.
   */
  const requestsDuring = async (run: () => Promise<CliResult>, expected: number) => {
    const before = (await pdns.settledApiRequests()).length;
    const r = await run();
    await pdns.waitForApiRequests(before + expected);
    const lines = (await pdns.settledApiRequests()).slice(before);
    return { r, lines, methods: lines.map((l) => l.method) };
  };
  /**
   * One sync of the two aliases, with writes: the zone id, a read of both names (2 GETs each), the
   * check right before the PATCH, the PATCH, the backend's read-back, and the engine's read-back.
   */
  const WRITING_SYNC = ['GET', ...Array(8).fill('GET'), 'PATCH', ...Array(8).fill('GET')];

  beforeAll(async () => {
    pdns = await startPowerDns({ zones: [{ name: ZONE }], allowUpdate: 'none', soaEditApi: 'INCREASE' });
    upstream = await TestAuthServer.start();
    serveDemoTarget(upstream);
    dir = await mkdtemp(join(tmpdir(), 'apexalias-e2e-pdns-'));
    await writeFile(join(dir, 'api-key'), `${pdns.apiKey}\n`, { mode: 0o600 });
    config = join(dir, 'apexalias.yaml');
    await writeFile(config, configText('api-key'));
    manifests = join(dir, 'manifests');
    await mkdir(manifests);
    await writeFile(join(manifests, 'apex.yaml'), aliasManifest(ZONE, 'apex', {}));
    await writeFile(
      join(manifests, 'www.yaml'),
      aliasManifest(ZONE, 'www', { name: 'www', addressFamilies: ['IPv4'] }),
    );
  });
  afterAll(async () => {
    await pdns?.stop();
    await upstream?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the first sync writes every alias in one PATCH, and PowerDNS serves the records', async () => {
    const serial = await pdns.serial(ZONE);
    const { r, methods } = await requestsDuring(() => sync(), WRITING_SYNC.length);
    expect(r.code, r.stderr).toBe(0);
    expect(methods).toEqual(WRITING_SYNC);
    expect(await pdns.serial(ZONE)).toBe(serial + 1);
    expect(await a(ZONE)).toEqual(['192.0.2.10', '192.0.2.11']);
    expect((await pdns.dig(ZONE, 'AAAA')).answers).toEqual(['2001:db8::10']);
    expect(await a(`www.${ZONE}`)).toEqual(['192.0.2.10', '192.0.2.11']);
    expect((await pdns.dig(`www.${ZONE}`, 'AAAA')).answers).toEqual([]);
    expect((await pdns.dig(`_apexalias.${ZONE}`, 'TXT')).answers).toEqual([
      '"heritage=apexalias,owner=e2e,resource=web/apex"',
    ]);
    // The TTL published is the lowest along the chain (120 < 300).
    expect((await pdns.dig(ZONE, 'A')).ttl).toBe(120);
    expect((JSON.parse(r.stdout) as SyncReport).summary).toMatchObject({ changed: 2, writes: 1 });
  });

  it('a second sync sends no PATCH, only the five GETs of its read, and leaves the serial alone', async () => {
    const serial = await pdns.serial(ZONE);
    const { r, methods } = await requestsDuring(() => sync(), 5);
    expect(r.code, r.stderr).toBe(0);
    expect(methods).toEqual(['GET', 'GET', 'GET', 'GET', 'GET']);
    expect(await pdns.serial(ZONE)).toBe(serial);
    expect((JSON.parse(r.stdout) as SyncReport).summary).toMatchObject({
      changed: 0,
      unchanged: 2,
      writes: 0,
    });
  });

  it("follows a change of the target's addresses with exactly one PATCH", async () => {
    upstream.setAddresses('edge.cdn.test', 'A', ['192.0.2.20'], 120);
    const serial = await pdns.serial(ZONE);
    const { r, methods } = await requestsDuring(() => sync(), WRITING_SYNC.length);
    expect(r.code, r.stderr).toBe(0);
    expect(methods).toEqual(WRITING_SYNC);
    expect(await pdns.serial(ZONE)).toBe(serial + 1);
    expect(await a(ZONE)).toEqual(['192.0.2.20']);
    expect(await a(`www.${ZONE}`)).toEqual(['192.0.2.20']);
    expect((await pdns.dig(ZONE, 'AAAA')).answers).toEqual(['2001:db8::10']);
  });

  it('follows a target that moves behind another CNAME', async () => {
    upstream.setCname('lb.demo.test', 'other-edge.cdn.test', 300);
    upstream.setAddresses('other-edge.cdn.test', 'A', ['198.51.100.7'], 60);
    upstream.setAddresses('other-edge.cdn.test', 'AAAA', ['2001:db8::7'], 60);
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(await a(ZONE)).toEqual(['198.51.100.7']);
    expect((await pdns.dig(ZONE, 'AAAA')).answers).toEqual(['2001:db8::7']);
    expect((await pdns.dig(ZONE, 'A')).ttl).toBe(60);
  });

  it('records added by hand without the marker are never overwritten', async () => {
    await pdns.apiAdd(ZONE, [`hand.${ZONE}. 300 IN A 203.0.113.1`]);
    await writeFile(join(manifests, 'hand.yaml'), aliasManifest(ZONE, 'hand', { name: 'hand' }));
    try {
      const r = await sync();
      expect(r.code).toBe(1);
      const hand = (JSON.parse(r.stdout) as SyncReport).aliases.find((x) => x.alias === 'web/hand');
      expect(hand?.result).toBe('blocked');
      expect(hand?.blocked?.reason).toBe('NotOwned');
      expect(await a(`hand.${ZONE}`)).toEqual(['203.0.113.1']);
    } finally {
      await rm(join(manifests, 'hand.yaml'));
    }
  });

  it('the API key never appears in the output, even at debug level', async () => {
    upstream.setAddresses('other-edge.cdn.test', 'A', ['198.51.100.8'], 60);
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.length).toBeGreaterThan(0);
    expect(r.stderr).not.toContain(pdns.apiKey);
    expect(r.stdout).not.toContain(pdns.apiKey);
    expect(await a(ZONE)).toEqual(['198.51.100.8']);
  });

  it('a wrong API key exits 1 with ERR_BACKEND_AUTH and advice, and the zone is unchanged', async () => {
    const wrongDir = await mkdtemp(join(tmpdir(), 'apexalias-e2e-pdns-wrong-'));
    try {
      await writeFile(join(wrongDir, 'api-key'), 'not-the-api-key\n');
      await writeFile(join(wrongDir, 'apexalias.yaml'), configText('api-key'));
      upstream.setAddresses('other-edge.cdn.test', 'A', ['198.51.100.9'], 60);
      const serial = await pdns.serial(ZONE);
      const r = await sync(join(wrongDir, 'apexalias.yaml'));
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout) as SyncReport;
      expect(report.aliases.map((x) => x.failure?.code)).toEqual(['ERR_BACKEND_AUTH', 'ERR_BACKEND_AUTH']);
      expect(report.aliases[0]!.failure!.message).toContain('apiKeyFile');
      expect(r.stderr + r.stdout).not.toContain('not-the-api-key');
      expect(await pdns.serial(ZONE)).toBe(serial);
      expect(await a(ZONE)).toEqual(['198.51.100.8']);
    } finally {
      await rm(wrongDir, { recursive: true, force: true });
    }
  });

  it('a missing API key file exits 2 before anything is sent, naming the file', async () => {
    const missingDir = await mkdtemp(join(tmpdir(), 'apexalias-e2e-pdns-nokey-'));
    try {
      await writeFile(join(missingDir, 'apexalias.yaml'), configText('no-such-key'));
      const before = (await pdns.settledApiRequests()).length;
      const r = await sync(join(missingDir, 'apexalias.yaml'));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(join(missingDir, 'no-such-key'));
      expect(r.stderr).toContain('ERR_CONFIG_SECRET');
      expect((await pdns.settledApiRequests()).length).toBe(before);
    } finally {
      await rm(missingDir, { recursive: true, force: true });
    }
  });
});
