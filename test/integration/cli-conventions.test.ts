/**
 * The command-line conventions of `apexalias` (issue 15) and its handling of bad manifests
 * (issue 10), through the real CLI, with the project's authoritative server as the resolver and
 * the zonefile backend in a temp dir.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { TestAuthServer } from '../harness/authserver.ts';
import { runCli } from '../harness/cli.ts';
import type { CliResult } from '../harness/cli.ts';

/** Runs bin/apexalias.js with only the environment given (plus PATH), so no APEXALIAS_* leaks in. */
const cli = (args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
  runCli(args, { env: { PATH: process.env.PATH ?? '', ...env } });

const manifest = (name: string, spec: Record<string, unknown> = {}): string =>
  JSON.stringify({
    apiVersion: 'dns.apexalias.io/v1alpha1',
    kind: 'ApexAlias',
    metadata: { name },
    spec: { zone: 'example.com', target: 'lb.demo.test', addressFamilies: ['IPv4'], ...spec },
  });

describe('apexalias command-line conventions', () => {
  let upstream: TestAuthServer;
  let dir: string;
  let resolver: string;
  let zones: string;
  beforeAll(async () => {
    upstream = await TestAuthServer.start();
    upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 300);
    resolver = `127.0.0.1:${upstream.endpoint.port}`;
  });
  afterAll(async () => {
    await upstream?.stop();
  });
  beforeEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = await mkdtemp(join(tmpdir(), 'apexalias-conv-'));
    zones = join(dir, 'zones');
    upstream.resetCounts();
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('global options are accepted after the command (apexalias plan … --resolver X --log-format text)', async () => {
    await writeFile(join(dir, 'a.json'), manifest('a'));
    const r = await cli([
      'plan',
      '-f',
      dir,
      '--zone-dir',
      zones,
      '--resolver',
      resolver,
      '--log-format',
      'text',
    ]);
    expect(r.code, r.stderr).toBe(0);
    // Not a terminal: JSON unless --log-format text, given after the command, was honoured.
    expect(r.stderr).toContain('plan complete');
    expect(r.stderr).not.toContain('"message"');
    expect(r.stdout).toContain('~ default/a example.com → lb.demo.test');
  });

  it('global options are accepted before the command (apexalias --resolver X sync used to fail)', async () => {
    await writeFile(join(dir, 'a.json'), manifest('a'));
    const r = await cli([
      '--resolver',
      resolver,
      '--log-level',
      'error',
      'sync',
      '-f',
      dir,
      '--zone-dir',
      zones,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('✓ default/a example.com → lb.demo.test');
  });

  it('a global option after the command wins over the same option before it', async () => {
    await writeFile(join(dir, 'a.json'), manifest('a'));
    const r = await cli([
      '--log-level',
      'debug',
      'plan',
      '-f',
      dir,
      '--zone-dir',
      zones,
      '--resolver',
      resolver,
      '--log-level',
      'error',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('every flag can come from APEXALIAS_<FLAG>, and a flag on the command line wins', async () => {
    await writeFile(join(dir, 'a.json'), manifest('a'));
    const env = {
      APEXALIAS_FILENAME: dir,
      APEXALIAS_RESOLVER: resolver,
      APEXALIAS_ZONE_DIR: zones,
      APEXALIAS_OUTPUT: 'json',
      APEXALIAS_LOG_LEVEL: 'error',
      APEXALIAS_WATCH: 'false',
    };
    const fromEnv = await cli(['plan'], env);
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(JSON.parse(fromEnv.stdout).summary.changed).toBe(1);
    const flagWins = await cli(['sync', '-o', 'text'], env);
    expect(flagWins.code, flagWins.stderr).toBe(0);
    expect(flagWins.stdout).toContain('1 aliases: 1 changed');
  });

  it('a boolean variable with a value that is not a boolean is refused with exit 2', async () => {
    const r = await cli(['sync', '-f', dir], { APEXALIAS_WATCH: 'maybe' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('APEXALIAS_WATCH="maybe" is not a boolean');
  });

  it('--version prints the version, the git commit and the Node.js version', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    const [version, commit, node] = r.stdout.trimEnd().split('\n');
    expect(version).toMatch(/^apexalias \d+\.\d+\.\d+/);
    // Run from this git checkout, the commit comes from git.
    expect(commit).toMatch(/^commit: [0-9a-f]{40} \(git checkout\)$/);
    expect(node).toBe(`node: ${process.version}`);
  });

  it('plan -o yaml prints the same report as -o json', async () => {
    await writeFile(join(dir, 'a.json'), manifest('a'));
    const args = ['plan', '-f', dir, '--zone-dir', zones, '--resolver', resolver, '--log-level', 'error'];
    const json = await cli([...args, '-o', 'json']);
    const yaml = await cli([...args, '-o', 'yaml']);
    expect(yaml.code, yaml.stderr).toBe(0);
    const docs = parseAllDocuments(yaml.stdout);
    expect(Array.isArray(docs) && docs.length).toBe(1);
    const fromYaml = Array.isArray(docs) ? (docs[0]!.toJS() as { aliases: { nextRefresh: string }[] }) : {};
    const fromJson = JSON.parse(json.stdout) as { aliases: { nextRefresh: string }[] };
    // nextRefresh is a time: equal in shape, not in value.
    for (const report of [fromYaml, fromJson] as { aliases: { nextRefresh?: string }[] }[]) {
      for (const a of report.aliases) delete a.nextRefresh;
    }
    expect(fromYaml).toEqual(fromJson);
  });

  it('result values in reports have one casing: failed and blocked, not "failed" beside "Conflict"', async () => {
    await writeFile(join(dir, 'a.json'), manifest('a'));
    await writeFile(
      join(dir, 'b.json'),
      JSON.stringify({
        ...JSON.parse(manifest('b')),
        metadata: { name: 'b', creationTimestamp: '2030-01-01T00:00:00Z' },
      }),
    );
    await writeFile(join(dir, 'c.json'), manifest('c', { zone: 'example.org', target: 'gone.demo.test' }));
    upstream.setBehaviour('gone.demo.test', 'servfail');
    const r = await cli([
      'sync',
      '-f',
      dir,
      '--zone-dir',
      zones,
      '--resolver',
      resolver,
      '-o',
      'json',
      '--log-level',
      'error',
    ]);
    expect(r.code).toBe(1);
    const results = (
      JSON.parse(r.stdout) as { aliases: { alias: string; result: string; blocked?: { reason: string } }[] }
    ).aliases;
    const byAlias = Object.fromEntries(results.map((a) => [a.alias, a]));
    expect(byAlias['default/a']?.result).toBe('changed');
    expect(byAlias['default/b']?.result).toBe('blocked');
    expect(byAlias['default/b']?.blocked?.reason).toBe('Conflict');
    expect(byAlias['default/c']?.result).toBe('failed');
    for (const a of results) expect(a.result).toMatch(/^[a-z]+$/);
  });

  it('--resolver notanip is refused at once as invalid input (exit 2), not reported as a lookup timeout', async () => {
    await writeFile(join(dir, 'a.json'), manifest('a'));
    const r = await cli(['sync', '-f', dir, '--zone-dir', zones, '--resolver', 'notanip']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--resolver "notanip": must be an IP address');
    expect(r.stderr).not.toContain('ERR_RESOLVE_TIMEOUT');
    expect(await readdir(zones).catch(() => [])).toEqual([]);
  });

  it('sync -f on input with no ApexAlias in it exits 2, or 0 with --allow-empty', async () => {
    await writeFile(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
    const strict = await cli(['sync', '-f', dir, '--zone-dir', zones, '--resolver', resolver]);
    expect(strict.code).toBe(2);
    expect(strict.stderr).toContain(`no ApexAlias in ${dir} (1 file(s) read, 1 other object(s) skipped)`);
    expect(strict.stderr).toContain('--allow-empty');
    const allowed = await cli([
      'sync',
      '-f',
      dir,
      '--zone-dir',
      zones,
      '--resolver',
      resolver,
      '--allow-empty',
    ]);
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it('objects of other kinds beside the aliases are logged, not skipped in silence', async () => {
    await writeFile(
      join(dir, 'mixed.yaml'),
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n---\n${manifest('a')}\n`,
    );
    const r = await cli(['plan', '-f', dir, '--zone-dir', zones, '--resolver', resolver]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('"message":"skipped objects that are not ApexAliases"');
    expect(r.stderr).toContain('mixed.yaml#1 (apps/v1/Deployment)');
  });

  it('a YAML alias bomb exits 2 with one clean message and no stack trace', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [i, c] of [...'bcdefghi'].entries()) {
      const prev = 'abcdefghi'[i]!;
      levels.push(`${c}: &${c} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    await writeFile(join(dir, 'bomb.yaml'), levels.join('\n') + '\n');
    const r = await cli(['sync', '-f', dir, '--zone-dir', zones, '--resolver', resolver]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('its YAML aliases expand more than 100 times');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack frame
    expect(r.stderr.split('\n').length).toBeLessThan(5);
    expect(await readdir(zones).catch(() => [])).toEqual([]);
  });

  it('a YAML error exits 2 and keeps the code frame the yaml library gives', async () => {
    await writeFile(
      join(dir, 'bad.yaml'),
      'apiVersion: dns.apexalias.io/v1alpha1\nkind: ApexAlias\nmetadata: { name: x\n',
    );
    const r = await cli(['sync', '-f', dir, '--zone-dir', zones, '--resolver', resolver]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml#1: not valid YAML: .*at line \d+, column \d+:/);
    expect(r.stderr).toMatch(/\n {4}metadata: \{ name: x\n/);
    expect(r.stderr).toMatch(/\n {4}\s*\^/);
  });

  it('non-UTF-8 bytes in a manifest exit 2 with the byte offset', async () => {
    await writeFile(
      join(dir, 'latin1.json'),
      Buffer.concat([
        Buffer.from(manifest('a').slice(0, 20)),
        Buffer.from([0xff]),
        Buffer.from(manifest('a').slice(20)),
      ]),
    );
    const r = await cli(['sync', '-f', dir, '--zone-dir', zones, '--resolver', resolver]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('latin1.json is not valid UTF-8: byte 0xff at offset 20 (line 1)');
  });
});
