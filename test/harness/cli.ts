import { execFile } from 'node:child_process';
import type { TestAuthServer } from './authserver.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The child's whole environment; default this process's. */
  env?: NodeJS.ProcessEnv;
  /** Default 60 s. */
  timeoutMs?: number;
}

/**
 * Runs the real CLI (bin/apexalias.js) under the same Node as the tests. A child that did not
 * exit on its own (killed at the timeout) has code -1.
 */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/apexalias.js', ...args],
      { timeout: opts.timeoutMs ?? 60_000, env: opts.env ?? process.env },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        resolve({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
  });
}

/** `sync` of the manifests in `manifests` with `config`, logging JSON at debug, the report as JSON. */
export function runSync(
  config: string,
  manifests: string,
  extra: string[] = [],
  opts?: CliOptions,
): Promise<CliResult> {
  return runCli(
    [
      '--config',
      config,
      '--log-format',
      'json',
      '--log-level',
      'debug',
      'sync',
      '-f',
      manifests,
      '-o',
      'json',
      ...extra,
    ],
    opts,
  );
}

/** One ApexAlias manifest of namespace `web` following lb.demo.test in `zone`, as JSON. */
export function aliasManifest(zone: string, name: string, spec: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'dns.apexalias.io/v1alpha1',
    kind: 'ApexAlias',
    metadata: { name, namespace: 'web' },
    spec: { zone, target: 'lb.demo.test', ...spec },
  });
}

/** lb.demo.test → CNAME edge.cdn.test (300 s) → two A (120 s) and one AAAA (120 s). */
export function serveDemoTarget(upstream: TestAuthServer): void {
  upstream.setCname('lb.demo.test', 'edge.cdn.test', 300);
  upstream.setAddresses('edge.cdn.test', 'A', ['192.0.2.10', '192.0.2.11'], 120);
  upstream.setAddresses('edge.cdn.test', 'AAAA', ['2001:db8::10'], 120);
}

/** The JSON report of `sync -o json`, as far as these tests read it. */
export interface SyncReport {
  summary: { changed: number; unchanged: number; writes: number; failed: number };
  aliases: Array<{
    alias: string;
    result: string;
    failure?: { code: string; message: string };
    blocked?: { reason: string; message: string };
  }>;
}

/** The resolver section of a config that asks only `upstream`. */
export function resolverConfig(upstream: TestAuthServer): string[] {
  return [
    'resolver:',
    `  servers: ["${upstream.endpoint.host}:${upstream.endpoint.port}"]`,
    '  timeoutMs: 300',
    '  attempts: 2',
  ];
}
