import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../harness/cli.ts';

describe('configuration and flags are refused precisely, before anything runs', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'apexalias-cfg-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('an rfc2136 backend without TSIG: exit 2 naming the field', async () => {
    const config = join(dir, 'no-tsig.yaml');
    await writeFile(
      config,
      'backends:\n  - { name: p, type: rfc2136, server: "127.0.0.1:53", zones: [example.com] }\n',
    );
    const r = await runCli(['--config', config, 'controller', '--kubeconfig', join(dir, 'none')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/backends\[0\]\.tsig/);
  });

  it('an unreadable kubeconfig: exit 2 with the path', async () => {
    const r = await runCli(['controller', '--kubeconfig', join(dir, 'missing-kubeconfig')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing-kubeconfig');
  });

  it('an unknown flag or command: exit 2 with usage advice', async () => {
    const r = await runCli(['sync', '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--help');
  });

  it('--help documents every command and its exit codes', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['sync', 'plan', 'resolve', 'controller']) expect(top.stdout).toContain(c);
    for (const c of ['sync', 'plan', 'resolve', 'controller']) {
      const help = await runCli([c, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Exit codes');
    }
  });
});
