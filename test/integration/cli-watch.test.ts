import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestAuthServer } from '../harness/authserver.ts';
import { waitFor } from '../harness/poll.ts';

describe('apexalias sync --watch (behaviour rule 15: refresh as the TTL runs out)', () => {
  let upstream: TestAuthServer;
  let dir: string;
  beforeAll(async () => {
    upstream = await TestAuthServer.start();
    dir = await mkdtemp(join(tmpdir(), 'apexalias-watch-'));
  });
  afterAll(async () => {
    await upstream?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('follows a target change without a restart, and stops cleanly on SIGTERM', async () => {
    upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 1);
    await writeFile(
      join(dir, 'config.yaml'),
      [
        `resolver: { servers: ["127.0.0.1:${upstream.endpoint.port}"], timeoutMs: 500 }`,
        'refresh: { minSeconds: 1, maxSeconds: 60, jitter: 0.1 }',
        'backends: [{ name: local, type: zonefile, zones: ["*"], directory: zones }]',
      ].join('\n'),
    );
    await writeFile(
      join(dir, 'alias.yaml'),
      JSON.stringify({
        apiVersion: 'dns.apexalias.io/v1alpha1',
        kind: 'ApexAlias',
        metadata: { name: 'w' },
        spec: { zone: 'example.com', target: 'lb.demo.test', addressFamilies: ['IPv4'] },
      }),
    );
    const zoneFile = join(dir, 'zones', 'example.com.zone');
    const serves = async (address: string): Promise<boolean> =>
      (await readFile(zoneFile, 'utf8').catch(() => '')).includes(address);
    const child = spawn(
      process.execPath,
      [
        'bin/apexalias.js',
        '--config',
        join(dir, 'config.yaml'),
        'sync',
        '-f',
        join(dir, 'alias.yaml'),
        '--watch',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    try {
      await waitFor(
        () => `the zone to serve 192.0.2.1 (${stderr})`,
        () => serves('192.0.2.1'),
        20_000,
      );
      upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.2'], 1);
      await waitFor(
        () => `the zone to serve 192.0.2.2 (${stderr})`,
        () => serves('192.0.2.2'),
        20_000,
      );
      expect(await serves('192.0.2.1')).toBe(false);
      // A hand edit of the zone file is zone drift: logged and repaired on the next pass (behaviour rule 13).
      const text = await readFile(zoneFile, 'utf8');
      await writeFile(zoneFile, text.replace('192.0.2.2', '203.0.113.99'));
      await waitFor(
        () => `the zone to serve 192.0.2.2 (${stderr})`,
        () => serves('192.0.2.2'),
        20_000,
      );
      expect(await serves('203.0.113.99')).toBe(false);
      expect(stderr).toContain('zone drift: repairing');
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(upstream.queries({ name: 'lb.demo.test', type: 'A' })).toBeGreaterThanOrEqual(2);
  });

  it('regression: under driftPolicy Report, a hand edit shows as drifted in the report and the summary', async () => {
    upstream.setAddresses('rep.demo.test', 'A', ['192.0.2.7'], 1);
    const sub = await mkdtemp(join(dir, 'report-'));
    await writeFile(
      join(sub, 'config.yaml'),
      [
        `resolver: { servers: ["127.0.0.1:${upstream.endpoint.port}"], timeoutMs: 500 }`,
        'refresh: { minSeconds: 1, maxSeconds: 60, jitter: 0.1 }',
        'backends: [{ name: local, type: zonefile, zones: ["*"], directory: zones }]',
      ].join('\n'),
    );
    await writeFile(
      join(sub, 'alias.yaml'),
      JSON.stringify({
        apiVersion: 'dns.apexalias.io/v1alpha1',
        kind: 'ApexAlias',
        metadata: { name: 'reported' },
        spec: {
          zone: 'report.example',
          target: 'rep.demo.test',
          addressFamilies: ['IPv4'],
          driftPolicy: 'Report',
        },
      }),
    );
    const zoneFile = join(sub, 'zones', 'report.example.zone');
    const child = spawn(
      process.execPath,
      [
        'bin/apexalias.js',
        '--config',
        join(sub, 'config.yaml'),
        'sync',
        '-f',
        join(sub, 'alias.yaml'),
        '--watch',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    try {
      await waitFor(
        'the first write',
        async () => (await readFile(zoneFile, 'utf8').catch(() => '')).includes('192.0.2.7'),
        20_000,
      );
      const text = await readFile(zoneFile, 'utf8');
      await writeFile(zoneFile, text.replace('192.0.2.7', '203.0.113.77'));
      await waitFor(
        () => `a drifted report (${stdout})`,
        () => stdout.includes('drifted (driftPolicy Report'),
        20_000,
      );
      expect(stdout).toContain('the zone serves A 203.0.113.77, not what was written');
      expect(stdout).toMatch(/1 aliases: 0 changed, 0 unchanged, 1 drifted,/);
      expect(await readFile(zoneFile, 'utf8')).toContain('203.0.113.77');
    } finally {
      child.kill('SIGTERM');
    }
    await once(child, 'exit');
  });
});
