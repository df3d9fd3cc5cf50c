import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestAuthServer } from '../harness/authserver.ts';
import { startMoto } from '../harness/moto.ts';
import type { MotoServer } from '../harness/moto.ts';
import { handAdd, lookup } from './conformance/route53-fixture.ts';
import { aliasManifest, resolverConfig, runSync, serveDemoTarget } from '../harness/cli.ts';
import type { CliResult } from '../harness/cli.ts';

const ZONE = 'example.test';
/** Made up, and recognisable: it must never show up in any output. */
const SECRET_KEY = 'e2eSecretKeyThatMustNeverBeLogged0123456';
const ACCESS_KEY = 'AKIDE2EROUTE53000000';
/**
 * The CLI's environment: credentials come only from the backend's credentialsFile, so the AWS_*
 * variables of this process are not passed on, and the instance metadata service (a
 * non-loopback address) is switched off.
 */
const awsFree: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_'))),
  AWS_EC2_METADATA_DISABLED: 'true',
};

describe('apexalias sync end to end against Route 53 (moto)', () => {
  let moto: MotoServer;
  let zoneId: string;
  let upstream: TestAuthServer;
  let dir: string;
  let config: string;
  let manifests: string;
  const batches = (): number =>
    moto.requests().filter((r) => r.operation === 'ChangeResourceRecordSets').length;
  const sync = (): Promise<CliResult> => runSync(config, manifests, [], { env: awsFree });

  beforeAll(async () => {
    moto = await startMoto();
    zoneId = await moto.createZone(ZONE);
    upstream = await TestAuthServer.start();
    serveDemoTarget(upstream);
    dir = await mkdtemp(join(tmpdir(), 'apexalias-e2e-route53-'));
    await writeFile(
      join(dir, 'aws-credentials'),
      `[default]\naws_access_key_id = ${ACCESS_KEY}\naws_secret_access_key = ${SECRET_KEY}\n`,
      { mode: 0o600 },
    );
    config = join(dir, 'apexalias.yaml');
    await writeFile(
      config,
      [
        'ownerId: e2e',
        ...resolverConfig(upstream),
        'backends:',
        '  - name: aws',
        '    type: route53',
        `    zones: [${ZONE}]`,
        `    endpoint: ${moto.endpoint}`,
        '    credentialsFile: aws-credentials',
      ].join('\n'),
    );
    manifests = join(dir, 'manifests');
    await mkdir(manifests);
    await writeFile(join(manifests, 'apex.yaml'), aliasManifest(ZONE, 'apex', {}));
    await writeFile(
      join(manifests, 'www.yaml'),
      aliasManifest(ZONE, 'www', { name: 'www', addressFamilies: ['IPv4'] }),
    );
  });
  afterAll(async () => {
    await moto?.stop();
    await upstream?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the first sync writes every alias in one change batch', async () => {
    const before = batches();
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(batches()).toBe(before + 1);
    expect(await lookup(moto, zoneId, ZONE, 'A')).toEqual(['192.0.2.10', '192.0.2.11']);
    expect(await lookup(moto, zoneId, ZONE, 'AAAA')).toEqual(['2001:db8::10']);
    expect(await lookup(moto, zoneId, `www.${ZONE}`, 'A')).toEqual(['192.0.2.10', '192.0.2.11']);
    expect(await lookup(moto, zoneId, `www.${ZONE}`, 'AAAA')).toEqual([]);
    expect(await lookup(moto, zoneId, `_apexalias.${ZONE}`, 'TXT')).toEqual([
      '"heritage=apexalias,owner=e2e,resource=web/apex"',
    ]);
    expect(JSON.parse(r.stdout).summary).toMatchObject({ changed: 2, writes: 1 });
  });

  it('a second sync sends no change batch', async () => {
    const before = batches();
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(batches()).toBe(before);
    expect(JSON.parse(r.stdout).summary).toMatchObject({ changed: 0, unchanged: 2, writes: 0 });
  });

  it("follows a change of the target's addresses with exactly one change batch", async () => {
    upstream.setAddresses('edge.cdn.test', 'A', ['192.0.2.20'], 120);
    const before = batches();
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(batches()).toBe(before + 1);
    expect(await lookup(moto, zoneId, ZONE, 'A')).toEqual(['192.0.2.20']);
    expect(await lookup(moto, zoneId, `www.${ZONE}`, 'A')).toEqual(['192.0.2.20']);
    expect(await lookup(moto, zoneId, ZONE, 'AAAA')).toEqual(['2001:db8::10']);
  });

  it('never overwrites records written by hand without the marker', async () => {
    await handAdd(moto, zoneId, [`hand.${ZONE}. 300 IN A 203.0.113.1`]);
    await writeFile(join(manifests, 'hand.yaml'), aliasManifest(ZONE, 'hand', { name: 'hand' }));
    try {
      const r = await sync();
      expect(r.code).toBe(1);
      const hand = JSON.parse(r.stdout).aliases.find((a: { alias: string }) => a.alias === 'web/hand');
      expect(hand.result).toBe('blocked');
      expect(hand.blocked.reason).toBe('NotOwned');
      expect(await lookup(moto, zoneId, `hand.${ZONE}`, 'A')).toEqual(['203.0.113.1']);
    } finally {
      await rm(join(manifests, 'hand.yaml'));
    }
  });

  it('signs every request with the credentials file, and the secret never appears in the output', async () => {
    upstream.setAddresses('edge.cdn.test', 'A', ['192.0.2.30'], 120);
    const before = moto.requests().length;
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    const sent = moto.requests().slice(before);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((q) => q.signed)).toBe(true);
    expect(sent.some((q) => q.body.includes(SECRET_KEY))).toBe(false);
    expect(r.stderr.length).toBeGreaterThan(0);
    expect(r.stderr).not.toContain(SECRET_KEY);
    expect(r.stdout).not.toContain(SECRET_KEY);
  });

  it('a Route 53 error fails the sync with its kind and advice, and the zone is unchanged', async () => {
    upstream.setAddresses('edge.cdn.test', 'A', ['192.0.2.40'], 120);
    moto.inject({
      status: 403,
      code: 'AccessDenied',
      message: 'User is not authorized to perform: route53:ChangeResourceRecordSets',
      operation: 'ChangeResourceRecordSets',
      // A real refusal stays: a refused batch is tried again in halves (behaviour rule 14).
      times: 100,
    });
    const r = await sync();
    moto.clearFaults();
    expect(r.code).toBe(1);
    const apex = JSON.parse(r.stdout).aliases.find((a: { alias: string }) => a.alias === 'web/apex');
    expect(apex.failure.code).toBe('ERR_BACKEND_REFUSED');
    expect(apex.failure.message).toContain('route53:ChangeResourceRecordSets');
    expect(await lookup(moto, zoneId, ZONE, 'A')).toEqual(['192.0.2.30']);
  });
});
