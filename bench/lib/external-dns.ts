/**
 * The peer, external-dns v0.21.0 over RFC 2136 with its CRD source (DNSEndpoint objects): where
 * its binary and CRD are found, the arguments it runs with, one `--once` run, and a summary of
 * its log. Nothing here runs at import time: a bench calls {@link discoverExternalDns} from main.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { BindServer } from '../../test/harness/bind.ts';
import { kubeBinDir } from '../../test/harness/kube.ts';
import type { KubeCluster } from '../../test/harness/kube.ts';
import { requireBinary, runCommand } from '../../test/harness/process.ts';
import type { CommandResult } from '../../test/harness/process.ts';

/** The external-dns release the benchmarks compare with (tools/build.sh builds it). */
export const PEER_VERSION = 'v0.21.0';

/** Where the peer's binary and DNSEndpoint CRD are. */
export interface ExternalDns {
  binary: string;
  /** The DNSEndpoint CRD manifest from the module `go install` left in the Go module cache. */
  crd: string;
}

/** The external-dns binary tools/build.sh built; throws saying how to build it. */
export function findExternalDns(): string {
  const file = path.join(kubeBinDir(), 'external-dns');
  try {
    accessSync(file, fsConstants.X_OK);
    return file;
  } catch {
    throw new Error(
      `The benchmark peer external-dns ${PEER_VERSION} was not found at ${file}. Build it with ` +
        '`bash tools/build.sh external-dns` (go install from the Go module proxy into ' +
        'APEXALIAS_TOOLS_BIN or ~/.cache/apexalias/bin; cold about 9 min and 2.6 GB RAM, cached afterwards).',
    );
  }
}

async function goModCache(): Promise<string> {
  if (process.env.GOMODCACHE) return process.env.GOMODCACHE;
  try {
    const r = await runCommand(requireBinary('go', 'golang-go'), ['env', 'GOMODCACHE']);
    if (r.code === 0 && r.stdout.trim()) return r.stdout.trim();
  } catch {
    // No Go: fall back to its default location.
  }
  return path.join(process.env.GOPATH || path.join(os.homedir(), 'go'), 'pkg', 'mod');
}

/** The DNSEndpoint CRD of the external-dns module that `go install` left in the module cache. */
export async function findDnsEndpointCrd(): Promise<string> {
  const moduleDir = path.join(await goModCache(), 'sigs.k8s.io', `external-dns@${PEER_VERSION}`);
  const missing = (): Error =>
    new Error(
      `The DNSEndpoint CRD of external-dns ${PEER_VERSION} was not found under ${moduleDir}. ` +
        '`bash tools/build.sh external-dns` downloads the module into the Go module cache.',
    );
  let entries: string[];
  try {
    entries = (await readdir(moduleDir, { recursive: true })).map(String);
  } catch {
    throw missing();
  }
  const found: string[] = [];
  for (const rel of entries.filter((e) => /dnsendpoint[^/]*\.ya?ml$/i.test(e)).sort()) {
    const text = await readFile(path.join(moduleDir, rel), 'utf8');
    if (/kind:\s*CustomResourceDefinition/.test(text) && text.includes('dnsendpoints.externaldns.k8s.io'))
      found.push(rel);
  }
  const best = found.find((f) => f.startsWith(`config${path.sep}crd`)) ?? found[0];
  if (!best) throw missing();
  return path.join(moduleDir, best);
}

/** Finds the peer's binary and CRD; throws a message that says how to get them. */
export async function discoverExternalDns(): Promise<ExternalDns> {
  return { binary: findExternalDns(), crd: await findDnsEndpointCrd() };
}

/** The module version in the binary's build info (`go install` builds report "unknown" for --version). */
export async function externalDnsVersion(binary: string): Promise<string> {
  const cached = (
    await readFile(path.join(kubeBinDir(), 'external-dns.version'), 'utf8').catch(() => 'unknown')
  ).trim();
  let peer = 'unknown';
  try {
    const r = await runCommand(requireBinary('go', 'golang-go'), ['version', '-m', binary]);
    peer = /\bmod\s+sigs\.k8s\.io\/external-dns\s+(\S+)/.exec(r.stdout)?.[1] ?? peer;
  } catch {
    // No Go toolchain: the build record still names the version.
  }
  return `${cached} (build info: ${peer})`;
}

/** Creates the DNSEndpoint CRD and waits until the resource is served. */
export async function installDnsEndpointCrd(kube: KubeCluster, crd: string): Promise<void> {
  const must = async (what: string, p: Promise<CommandResult>): Promise<void> => {
    const r = await p;
    if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
  };
  await must('kubectl create DNSEndpoint CRD', kube.kubectl(['create', '-f', crd]));
  await must(
    'kubectl wait DNSEndpoint CRD',
    kube.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/dnsendpoints.externaldns.k8s.io',
    ]),
  );
  for (let i = 0; ; i++) {
    if ((await kube.kubectl(['get', 'dnsendpoints', '-A'])).code === 0) return;
    if (i > 200) throw new Error('the DNSEndpoint resource was never served');
    await sleep(100);
  }
}

/** A DNSEndpoint with one A record: external-dns cannot flatten a CNAME, so it gets the address. */
export function dnsEndpoint(
  namespace: string,
  name: string,
  fqdn: string,
  address: string,
  ttl: number,
): object {
  return {
    apiVersion: 'externaldns.k8s.io/v1alpha1',
    kind: 'DNSEndpoint',
    metadata: { name, namespace },
    spec: { endpoints: [{ dnsName: fqdn, recordType: 'A', targets: [address], recordTTL: ttl }] },
  };
}

/** How the peer is run. */
export interface ExternalDnsRun {
  kube: KubeCluster;
  bind: BindServer;
  zone: string;
  namespace: string;
  metricsPort: number;
  /** The TSIG secret (pass a placeholder to print the arguments). */
  secret: string;
  /** `--kube-api-qps` (burst twice that); undefined keeps client-go's 5 QPS / burst 10. */
  kubeQps: number | undefined;
}

/**
 * The peer's arguments: CRD source, rfc2136 with TSIG, the zone read by AXFR
 * (`--rfc2136-tsig-axfr`: without it external-dns sees no existing records and re-sends every
 * one on every run), the TXT registry, one pass (`--once`).
 */
export function externalDnsArgs(run: ExternalDnsRun): string[] {
  const key = run.bind.keys[0]!;
  return [
    '--source=crd',
    `--kubeconfig=${run.kube.kubeconfig}`,
    `--namespace=${run.namespace}`,
    '--provider=rfc2136',
    '--rfc2136-host=127.0.0.1',
    `--rfc2136-port=${run.bind.port}`,
    `--rfc2136-zone=${run.zone}`,
    `--rfc2136-tsig-keyname=${key.name}`,
    `--rfc2136-tsig-secret=${run.secret}`,
    `--rfc2136-tsig-secret-alg=${key.algorithm}`,
    '--rfc2136-tsig-axfr',
    '--registry=txt',
    '--txt-owner-id=peer',
    `--domain-filter=${run.zone}`,
    '--once',
    `--metrics-address=127.0.0.1:${run.metricsPort}`,
    ...(run.kubeQps === undefined
      ? []
      : [`--kube-api-qps=${run.kubeQps}`, `--kube-api-burst=${run.kubeQps * 2}`]),
  ];
}

/** The same arguments with the secret, kubeconfig and metrics address left out, for a report. */
export function externalDnsFlagsForReport(run: Omit<ExternalDnsRun, 'secret' | 'metricsPort'>): string[] {
  return externalDnsArgs({ ...run, secret: '<secret>', metricsPort: 0 }).filter(
    (a) => !a.startsWith('--kubeconfig') && !a.startsWith('--metrics-address'),
  );
}

/** What the peer's log says about one run. */
export interface PeerLogSummary {
  exitCode: number;
  addedRRs: number;
  removedRRs: number;
  errors: number;
  warnings: number;
  problems: string[];
}

/** Counts the RRs the peer logged as added and removed, and its warnings and errors. */
export function summarizePeerLog(r: CommandResult): PeerLogSummary {
  const lines = `${r.stdout}\n${r.stderr}`.split('\n');
  const problems = lines.filter((l) => /level=(warning|error|fatal)/.test(l));
  return {
    exitCode: r.code,
    addedRRs: lines.filter((l) => l.includes('msg="Adding RR')).length,
    removedRRs: lines.filter((l) => l.includes('msg="Removing RR')).length,
    errors: lines.filter((l) => /level=(error|fatal)/.test(l)).length,
    warnings: lines.filter((l) => l.includes('level=warning')).length,
    problems: problems.slice(0, 8).map((l) => l.slice(0, 400)),
  };
}

/** Runs `external-dns --once` to its end; `onSpawn` gets its PID. Never rejects for a non-zero exit. */
export async function runExternalDnsOnce(
  binary: string,
  run: ExternalDnsRun,
  opts: { timeoutMs?: number; onSpawn?: (pid: number) => void } = {},
): Promise<{ result: CommandResult; log: PeerLogSummary }> {
  const result = await runCommand(binary, externalDnsArgs(run), {
    timeoutMs: opts.timeoutMs ?? 600_000,
    onSpawn: opts.onSpawn,
  });
  return { result, log: summarizePeerLog(result) };
}
