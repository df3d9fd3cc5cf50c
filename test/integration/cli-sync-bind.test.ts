import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBind } from '../harness/bind.ts';
import type { BindServer } from '../harness/bind.ts';
import { TestAuthServer } from '../harness/authserver.ts';
import { aliasManifest, resolverConfig, runCli, runSync, serveDemoTarget } from '../harness/cli.ts';
import type { CliResult } from '../harness/cli.ts';

const ZONE = 'example.test';

describe('apexalias sync end to end against real BIND', () => {
  let bind: BindServer;
  let upstream: TestAuthServer;
  let dir: string;
  let config: string;
  let manifests: string;
  const sync = (...extra: string[]): Promise<CliResult> => runSync(config, manifests, extra);

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE }] });
    upstream = await TestAuthServer.start();
    serveDemoTarget(upstream);
    dir = await mkdtemp(join(tmpdir(), 'apexalias-e2e-'));
    const key = bind.keys[0]!;
    await writeFile(join(dir, 'tsig.secret'), `${key.secret}\n`, { mode: 0o600 });
    config = join(dir, 'apexalias.yaml');
    await writeFile(
      config,
      [
        'ownerId: e2e',
        ...resolverConfig(upstream),
        'backends:',
        '  - name: primary',
        '    type: rfc2136',
        `    server: 127.0.0.1:${bind.port}`,
        `    zones: [${ZONE}]`,
        `    tsig: { keyName: ${key.name}, algorithm: ${key.algorithm}, secretFile: tsig.secret }`,
      ].join('\n'),
    );
    manifests = join(dir, 'manifests');
    await rm(manifests, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(manifests));
    await writeFile(join(manifests, 'apex.yaml'), aliasManifest(ZONE, 'apex', {}));
    await writeFile(
      join(manifests, 'www.yaml'),
      aliasManifest(ZONE, 'www', { name: 'www', addressFamilies: ['IPv4'] }),
    );
  });
  afterAll(async () => {
    await bind?.stop();
    await upstream?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the first sync writes every alias in one UPDATE, and dig shows the records', async () => {
    const before = await bind.updateCount();
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(await bind.updateCount()).toBe(before + 1);
    expect((await bind.dig(ZONE, 'A')).answers.sort()).toEqual(['192.0.2.10', '192.0.2.11']);
    expect((await bind.dig(ZONE, 'AAAA')).answers).toEqual(['2001:db8::10']);
    expect((await bind.dig(`www.${ZONE}`, 'A')).answers.sort()).toEqual(['192.0.2.10', '192.0.2.11']);
    expect((await bind.dig(`www.${ZONE}`, 'AAAA')).answers).toEqual([]);
    expect((await bind.dig(`_apexalias.${ZONE}`, 'TXT')).answers).toEqual([
      '"heritage=apexalias,owner=e2e,resource=web/apex"',
    ]);
    // The TTL published is the lowest along the chain (120 < 300).
    expect((await bind.dig(ZONE, 'A')).ttl).toBe(120);
    const report = JSON.parse(r.stdout) as { summary: { changed: number; writes: number } };
    expect(report.summary).toMatchObject({ changed: 2, writes: 1 });
  });

  it('a second sync sends zero UPDATE messages', async () => {
    const before = await bind.updateCount();
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(await bind.updateCount()).toBe(before);
    expect(JSON.parse(r.stdout).summary).toMatchObject({ changed: 0, unchanged: 2, writes: 0 });
  });

  it('plan shows the change and writes nothing', async () => {
    upstream.setAddresses('edge.cdn.test', 'A', ['192.0.2.20'], 120);
    const before = await bind.updateCount();
    const r = await runCli(['--config', config, 'plan', '-f', manifests, '--detailed-exitcode']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain('A: addresses');
    expect(r.stdout).toContain('192.0.2.20');
    expect(await bind.updateCount()).toBe(before);
  });

  it("changing the target's addresses leads to exactly one UPDATE", async () => {
    const before = await bind.updateCount();
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(await bind.updateCount()).toBe(before + 1);
    expect((await bind.dig(ZONE, 'A')).answers).toEqual(['192.0.2.20']);
    expect((await bind.dig(`www.${ZONE}`, 'A')).answers).toEqual(['192.0.2.20']);
  });

  it('an AAAA lookup failure leaves AAAA as it was while A is still written (behaviour rule 1)', async () => {
    upstream.setAddresses('edge.cdn.test', 'A', ['192.0.2.30'], 120);
    upstream.setBehaviour('edge.cdn.test', 'servfail', 'AAAA');
    const r = await sync();
    expect(r.code).toBe(1);
    expect((await bind.dig(ZONE, 'A')).answers).toEqual(['192.0.2.30']);
    expect((await bind.dig(ZONE, 'AAAA')).answers).toEqual(['2001:db8::10']);
    const apex = JSON.parse(r.stdout).aliases.find((a: { alias: string }) => a.alias === 'web/apex');
    expect(apex.failure.code).toBe('ERR_RESOLVE_SERVFAIL');
    expect(apex.written).toBe(true);
    upstream.setBehaviour('edge.cdn.test', 'normal', 'AAAA');
  });

  it('records written by hand without the marker are never overwritten', async () => {
    await bind.nsupdate(`update add hand.${ZONE}. 300 IN A 203.0.113.1\n`);
    await writeFile(join(manifests, 'hand.yaml'), aliasManifest(ZONE, 'hand', { name: 'hand' }));
    try {
      const r = await sync();
      expect(r.code).toBe(1);
      const hand = JSON.parse(r.stdout).aliases.find((a: { alias: string }) => a.alias === 'web/hand');
      expect(hand.result).toBe('blocked');
      expect(hand.blocked.reason).toBe('NotOwned');
      expect(hand.blocked.message).toContain('adopt');
      expect((await bind.dig(`hand.${ZONE}`, 'A')).answers).toEqual(['203.0.113.1']);
    } finally {
      await rm(join(manifests, 'hand.yaml'));
    }
  });

  it('the TSIG secret never appears in the logs, even at debug level', async () => {
    const secret = bind.keys[0]!.secret;
    upstream.setAddresses('edge.cdn.test', 'A', ['192.0.2.40'], 120);
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.length).toBeGreaterThan(0);
    expect(r.stderr).not.toContain(secret);
    expect(r.stdout).not.toContain(secret);
    // Every log line about an alias names namespace, name, zone and target.
    const lines = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const aliasLines = lines.filter((l) => l.message === 'changing');
    expect(aliasLines.length).toBeGreaterThan(0);
    for (const l of aliasLines)
      expect(l).toMatchObject({ namespace: 'web', zone: ZONE, target: 'lb.demo.test' });
  });

  it('an invalid manifest exits 2 with the file and the field, and writes nothing', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, aliasManifest(ZONE, 'bad', { ttl: { min: 600, max: 60 } }));
    const before = await bind.updateCount();
    const r = await runCli(['--config', config, 'sync', '-f', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.yaml');
    expect(r.stderr).toMatch(/ttl/);
    expect(await bind.updateCount()).toBe(before);
  });

  it('a wrong TSIG secret exits 1 with advice, and the zone is unchanged', async () => {
    const wrongDir = await mkdtemp(join(tmpdir(), 'apexalias-e2e-wrong-'));
    try {
      const text = (await import('node:fs/promises')).readFile(config, 'utf8');
      await writeFile(join(wrongDir, 'apexalias.yaml'), await text);
      await writeFile(join(wrongDir, 'tsig.secret'), Buffer.alloc(32, 7).toString('base64'));
      upstream.setAddresses('edge.cdn.test', 'A', ['192.0.2.50'], 120);
      const r = await runCli([
        '--config',
        join(wrongDir, 'apexalias.yaml'),
        '--log-format',
        'json',
        'sync',
        '-f',
        manifests,
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('BADSIG');
      expect((await bind.dig(ZONE, 'A')).answers).toEqual(['192.0.2.40']);
    } finally {
      await rm(wrongDir, { recursive: true, force: true });
    }
  });
});
