/**
 * `npm run bench:peer`: apexalias next to its peer, external-dns v0.21.0 over RFC 2136, and next to
 * the raw ceiling of the same BIND, all in ONE run against one kube-apiserver and one BIND (every
 * contender, every round in its own zone, so no contender sees another's records).
 *
 *   external-dns --once  --source=crd (N DNSEndpoint objects with A records), --provider=rfc2136
 *                        with TSIG, --rfc2136-tsig-axfr, --registry=txt: a cold run, then a no-op run
 *   apexalias sync       standalone, one pass over N manifest files (one alias per file): cold, no-op
 *   apexalias controller N ApexAlias objects exist before it starts; start → all N names served
 *   raw ceiling          nsupdate over TCP with TSIG, 500 records per UPDATE, N names
 *
 * N names over 100 targets. external-dns cannot flatten a CNAME, so its DNSEndpoints carry the A
 * addresses the 100 targets resolve to (the bench writes them in); apexalias resolves the targets
 * itself. Counts come from BIND's statistics channel (UPDATE and QUERY messages, AXFRs).
 *
 * Options: --names N (1000), --rounds R (3), --controller-rounds C (default R),
 * --peer-kube-qps Q (1000; `default` keeps external-dns's client-go 5 QPS / burst 10).
 * Writes bench/results/peer.json and bench/results/peer.md.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { TestAuthServer } from '../test/harness/authserver.ts';
import { startBind } from '../test/harness/bind.ts';
import type { BindServer } from '../test/harness/bind.ts';
import { startController } from '../test/harness/controller.ts';
import { kubeBinDir, requireKubeBinary, startKube } from '../test/harness/kube.ts';
import type { KubeCluster } from '../test/harness/kube.ts';
import { freePort } from '../test/harness/ports.ts';
import { requireBinary, runCommand } from '../test/harness/process.ts';
import type { CommandResult } from '../test/harness/process.ts';
import { queryServer } from './dns-poll.ts';

const { values } = parseArgs({
  options: {
    names: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    'controller-rounds': { type: 'string' },
    'peer-kube-qps': { type: 'string', default: '1000' },
  },
});
const NAMES = Number(values.names);
const ROUNDS = Number(values.rounds);
const CTL_ROUNDS = Number(values['controller-rounds'] ?? ROUNDS);
const PEER_QPS = values['peer-kube-qps'] === 'default' ? undefined : Number(values['peer-kube-qps']);
for (const [flag, n] of [
  ['--names', NAMES],
  ['--rounds', ROUNDS],
  ['--controller-rounds', CTL_ROUNDS],
  ['--peer-kube-qps', PEER_QPS ?? 1],
] as const) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${n}`);
}
if (CTL_ROUNDS > ROUNDS)
  throw new Error(`--controller-rounds (${CTL_ROUNDS}) may not exceed --rounds (${ROUNDS})`);
const TARGETS = 100;
const TTL = 300;
const RAW_PER_UPDATE = 500;
const PEER_VERSION = 'v0.21.0';
const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const RESULTS = path.join(REPO_ROOT, 'bench', 'results');

const benchStarted = performance.now();
const elapsed = (): string => `${((performance.now() - benchStarted) / 1000).toFixed(1)}s`;
const progress = (msg: string): void => {
  process.stderr.write(`[peer ${elapsed()}] ${msg}\n`);
};

// ---------------------------------------------------------------------------------------------
// Preconditions: every binary, before anything starts.

function requireExternalDns(): string {
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
async function findDnsEndpointCrd(): Promise<string> {
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

const EXTERNAL_DNS = requireExternalDns();
requireKubeBinary('etcd');
requireKubeBinary('kube-apiserver');
requireBinary('kubectl', 'kubectl');
requireBinary('named', 'bind9');
const NSUPDATE = requireBinary('nsupdate', 'bind9-dnsutils');
const DNSENDPOINT_CRD = await findDnsEndpointCrd();

// ---------------------------------------------------------------------------------------------
// Measurement helpers.

interface Counters {
  updates: number;
  updatesDone: number;
  updatesFailed: number;
  updatesRejected: number;
  axfr: number;
  /** QUERY opcodes received: lookups, SOA probes and AXFRs alike. */
  queries: number;
}

interface Measure extends Counters {
  seconds: number;
  /** When the bench first saw BIND's UPDATE counter move (polled every 50 ms), or null. */
  firstUpdateSeconds: number | null;
  /** RRs in the UPDATE sections (apexalias: incl. prerequisites; external-dns: "Adding RR" lines). */
  records?: number;
  /** Names answering with the expected A record right after the run. */
  served?: number;
  detail?: Record<string, unknown>;
}

async function counters(bind: BindServer): Promise<Counters> {
  const res = await fetch(`http://127.0.0.1:${bind.statsPort}/json/v1/server`);
  if (!res.ok) throw new Error(`BIND statistics channel answered HTTP ${res.status}`);
  const j = (await res.json()) as {
    opcodes?: Record<string, number>;
    nsstats?: Record<string, number>;
    qtypes?: Record<string, number>;
  };
  const ns = j.nsstats ?? {};
  return {
    updates: j.opcodes?.UPDATE ?? 0,
    updatesDone: ns.UpdateDone ?? 0,
    updatesFailed: ns.UpdateFail ?? 0,
    updatesRejected: ns.UpdateRej ?? 0,
    axfr: j.qtypes?.AXFR ?? 0,
    queries: j.opcodes?.QUERY ?? 0,
  };
}

/**
 * Runs `work` and measures its wall time and the BIND counters it moved. `work` may return its
 * own end time (performance.now()) when the end is observed rather than awaited.
 */
async function measured<T>(
  bind: BindServer,
  work: (started: number) => Promise<{ value: T; endedAt?: number }>,
): Promise<{ measure: Measure; value: T }> {
  const before = await counters(bind);
  let firstUpdate: number | null = null;
  let stop = false;
  const started = performance.now();
  const poller = (async () => {
    while (!stop && firstUpdate === null) {
      try {
        const now = await counters(bind);
        // A sample that comes back after the work ended says nothing about when it began writing.
        if (!stop && now.updates > before.updates) firstUpdate = performance.now() - started;
      } catch {
        // A missed sample only coarsens the estimate.
      }
      await sleep(50);
    }
  })();
  const { value, endedAt } = await work(started);
  const ended = endedAt ?? performance.now();
  stop = true;
  await poller;
  const after = await counters(bind);
  return {
    value,
    measure: {
      seconds: (ended - started) / 1000,
      firstUpdateSeconds: firstUpdate === null ? null : firstUpdate / 1000,
      updates: after.updates - before.updates,
      updatesDone: after.updatesDone - before.updatesDone,
      updatesFailed: after.updatesFailed - before.updatesFailed,
      updatesRejected: after.updatesRejected - before.updatesRejected,
      axfr: after.axfr - before.axfr,
      queries: after.queries - before.queries,
    },
  };
}

const targetName = (i: number): string => `t${i % TARGETS}.targets.test`;
const targetAddress = (i: number): string => {
  const t = i % TARGETS;
  return `10.1.${t >> 8}.${t & 255}`;
};
const names = Array.from({ length: NAMES }, (_, i) => `n${i}`);

/**
 * Polls BIND until every name answers with its target's address; returns when each was first
 * seen. `probe` bounds the names asked per pass (then a 25 ms pause), so that watching a running
 * contender does not load the 2 shared cores with thousands of queries a second.
 */
async function watchServed(
  bind: BindServer,
  zone: string,
  timeoutMs: number,
  probe = Infinity,
): Promise<Map<number, number>> {
  const seen = new Map<number, number>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = names
      .map((_, i) => i)
      .filter((i) => !seen.has(i))
      .slice(0, probe);
    for (let k = 0; k < pending.length; k += 200) {
      const batch = pending.slice(k, k + 200);
      const answers = await Promise.all(
        batch.map((i) => queryServer({ host: '127.0.0.1', port: bind.port }, `${names[i]}.${zone}`)),
      );
      const now = performance.now();
      batch.forEach((i, j) => {
        if (answers[j]!.includes(targetAddress(i))) seen.set(i, now);
      });
    }
    if (seen.size === names.length || Date.now() > deadline) return seen;
    await sleep(probe === Infinity ? 10 : 25);
  }
}

const servedNow = async (bind: BindServer, zone: string): Promise<number> =>
  (await watchServed(bind, zone, 0)).size;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function must(what: string, p: Promise<CommandResult>): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

// ---------------------------------------------------------------------------------------------
// The contenders.

interface PeerLogSummary {
  exitCode: number;
  addedRRs: number;
  removedRRs: number;
  errors: number;
  warnings: number;
  problems: string[];
}

function summarizePeerLog(r: CommandResult): PeerLogSummary {
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

function peerArgs(
  kube: KubeCluster,
  bind: BindServer,
  zone: string,
  namespace: string,
  metricsPort: number,
  secret: string,
): string[] {
  const key = bind.keys[0]!;
  return [
    '--source=crd',
    `--kubeconfig=${kube.kubeconfig}`,
    `--namespace=${namespace}`,
    '--provider=rfc2136',
    '--rfc2136-host=127.0.0.1',
    `--rfc2136-port=${bind.port}`,
    `--rfc2136-zone=${zone}`,
    `--rfc2136-tsig-keyname=${key.name}`,
    `--rfc2136-tsig-secret=${secret}`,
    `--rfc2136-tsig-secret-alg=${key.algorithm}`,
    '--rfc2136-tsig-axfr',
    '--registry=txt',
    '--txt-owner-id=peer',
    `--domain-filter=${zone}`,
    '--once',
    `--metrics-address=127.0.0.1:${metricsPort}`,
    ...(PEER_QPS === undefined ? [] : [`--kube-api-qps=${PEER_QPS}`, `--kube-api-burst=${PEER_QPS * 2}`]),
  ];
}

async function externalDnsOnce(
  kube: KubeCluster,
  bind: BindServer,
  zone: string,
  namespace: string,
  logDir: string,
  label: string,
): Promise<Measure> {
  const args = peerArgs(kube, bind, zone, namespace, await freePort(), bind.keys[0]!.secret);
  const { measure, value } = await measured(bind, async () => ({
    value: await runCommand(EXTERNAL_DNS, args, { timeoutMs: 600_000 }),
  }));
  await writeFile(path.join(logDir, `external-dns-${label}.log`), `${value.stdout}${value.stderr}`);
  const log = summarizePeerLog(value);
  if (value.code !== 0)
    throw new Error(`external-dns (${label}) exited ${value.code}:\n${value.stderr.slice(-4000)}`);
  const statuses = await must(
    'kubectl get dnsendpoints',
    kube.kubectl([
      'get',
      'dnsendpoints',
      '-n',
      namespace,
      '-o',
      'jsonpath={range .items[*]}{.status.observedGeneration}{"\\n"}{end}',
    ]),
  );
  return {
    ...measure,
    records: log.addedRRs,
    served: await servedNow(bind, zone),
    detail: { ...log, observedGenerationSet: statuses.split('\n').filter((l) => l.trim() !== '').length },
  };
}

async function apexaliasSync(bind: BindServer, config: string, manifests: string): Promise<Measure> {
  const { measure, value } = await measured(bind, async () => ({
    value: await runCommand(
      process.execPath,
      [path.join(REPO_ROOT, 'bin/apexalias.js'), '--config', config, 'sync', '-f', manifests, '-o', 'json'],
      { timeoutMs: 600_000, cwd: REPO_ROOT },
    ),
  }));
  if (value.code !== 0) throw new Error(`apexalias sync exited ${value.code}:\n${value.stderr.slice(-4000)}`);
  const { summary } = JSON.parse(value.stdout) as {
    summary: { records: number; lookups: number; writes: number; changed: number; failed: number };
  };
  return { ...measure, records: summary.records, detail: { ...summary } };
}

async function rawNsupdate(bind: BindServer, zone: string, prefix: string): Promise<Measure> {
  const key = bind.keys[0]!;
  const lines = [`server 127.0.0.1 ${bind.port}`, `zone ${zone}`];
  for (let i = 0; i < NAMES; i++) {
    lines.push(`update add ${prefix}${i}.${zone}. ${TTL} IN A 10.200.${i >> 8}.${i & 255}`);
    if ((i + 1) % RAW_PER_UPDATE === 0 || i === NAMES - 1) lines.push('send');
  }
  const { measure, value } = await measured(bind, async () => ({
    value: await runCommand(NSUPDATE, ['-v', '-y', `${key.algorithm}:${key.name}:${key.secret}`], {
      input: `${lines.join('\n')}\n`,
      timeoutMs: 600_000,
    }),
  }));
  if (value.code !== 0) throw new Error(`nsupdate failed: ${value.stderr}`);
  return { ...measure, records: NAMES };
}

function configText(bind: BindServer, upstream: TestAuthServer, zone: string): string {
  const key = bind.keys[0]!;
  return `ownerId: bench
resolver: { servers: ["127.0.0.1:${upstream.endpoint.port}"], timeoutMs: 2000, attempts: 3 }
backends:
  - { name: bind, type: rfc2136, server: "127.0.0.1:${bind.port}", zones: [${zone}], timeoutMs: 30000,
      tsig: { keyName: ${key.name}, algorithm: ${key.algorithm}, secretFile: secret } }
`;
}

const apexAlias = (namespace: string, zone: string, i: number): object => ({
  apiVersion: 'dns.apexalias.io/v1alpha1',
  kind: 'ApexAlias',
  metadata: { name: names[i], namespace },
  spec: { zone, name: names[i], target: targetName(i), addressFamilies: ['IPv4'] },
});

const dnsEndpoint = (namespace: string, zone: string, i: number): object => ({
  apiVersion: 'externaldns.k8s.io/v1alpha1',
  kind: 'DNSEndpoint',
  metadata: { name: names[i], namespace },
  spec: {
    endpoints: [
      { dnsName: `${names[i]}.${zone}`, recordType: 'A', targets: [targetAddress(i)], recordTTL: TTL },
    ],
  },
});

async function createObjects(kube: KubeCluster, namespace: string, items: object[]): Promise<void> {
  await must('kubectl create namespace', kube.kubectl(['create', 'namespace', namespace]));
  for (let k = 0; k < items.length; k += 500) {
    const list = { apiVersion: 'v1', kind: 'List', items: items.slice(k, k + 500) };
    await must(
      `kubectl create (${namespace})`,
      kube.kubectl(['create', '-f', '-', '-o', 'name'], { input: JSON.stringify(list) }),
    );
  }
}

async function versions(): Promise<Record<string, string>> {
  const cached = async (name: string): Promise<string> =>
    (await readFile(path.join(kubeBinDir(), `${name}.version`), 'utf8').catch(() => 'unknown')).trim();
  // external-dns built by `go install` reports "unknown" for --version; the module version is in
  // the binary's build info.
  let peer = 'unknown';
  try {
    const r = await runCommand(requireBinary('go', 'golang-go'), ['version', '-m', EXTERNAL_DNS]);
    peer = /\bmod\s+sigs\.k8s\.io\/external-dns\s+(\S+)/.exec(r.stdout)?.[1] ?? peer;
  } catch {
    // No Go toolchain: the build record below still names the version.
  }
  const named = await runCommand(requireBinary('named', 'bind9'), ['-v']);
  const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  return {
    apexalias: pkg.version,
    node: process.version,
    externalDns: `${await cached('external-dns')} (build info: ${peer})`,
    bind: named.stdout.trim(),
    kubeApiserver: await cached('kube-apiserver'),
    etcd: await cached('etcd'),
  };
}

/** Median wall time of `cmd --version`: what process start-up alone costs. */
async function startupSeconds(cmd: string, args: string[]): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await must(`${cmd} ${args.join(' ')}`, runCommand(cmd, args, { cwd: REPO_ROOT }));
    xs.push((performance.now() - t) / 1000);
  }
  return median(xs);
}

// ---------------------------------------------------------------------------------------------
// The run.

const peerZone = (r: number): string => `peer-r${r}.test`;
const syncZone = (r: number): string => `sync-r${r}.test`;
const ctlZone = (r: number): string => `ctl-r${r}.test`;
const RAW_ZONE = 'raw.test';

progress(
  `${NAMES} names over ${TARGETS} targets; ${ROUNDS} round(s) of external-dns, sync and raw, ` +
    `${CTL_ROUNDS} controller round(s); peer CRD: ${DNSENDPOINT_CRD}`,
);
const zones = [
  ...Array.from({ length: ROUNDS }, (_, r) => [peerZone(r), syncZone(r)]).flat(),
  ...Array.from({ length: CTL_ROUNDS }, (_, r) => ctlZone(r)),
  RAW_ZONE,
];
const work = await mkdtemp(path.join(os.tmpdir(), 'apexalias-bench-peer-'));
const logDir = path.join(os.tmpdir(), `apexalias-bench-peer-logs-${process.pid}`);
await mkdir(logDir, { recursive: true });

const [kube, bind, upstream] = await Promise.all([
  startKube(),
  startBind({ zones: zones.map((name) => ({ name })) }),
  TestAuthServer.start(),
]);
const results: Array<Record<string, Measure>> = [];
const controllerResults: Measure[] = [];
interface Info {
  versions: Record<string, string>;
  startupSeconds: { externalDns: number; apexalias: number };
}
let setupInfo: Info | undefined;
try {
  progress(`kube-apiserver ready in ${(kube.startupMs / 1000).toFixed(1)}s; BIND on port ${bind.port}`);
  for (let t = 0; t < TARGETS; t++) upstream.setAddresses(targetName(t), 'A', [targetAddress(t)], TTL);
  await writeFile(path.join(work, 'secret'), bind.keys[0]!.secret);

  await must('kubectl create DNSEndpoint CRD', kube.kubectl(['create', '-f', DNSENDPOINT_CRD]));
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
    if ((await kube.kubectl(['get', 'dnsendpoints', '-A'])).code === 0) break;
    if (i > 200) throw new Error('the DNSEndpoint resource was never served');
    await sleep(100);
  }

  progress(`creating ${NAMES} DNSEndpoints × ${ROUNDS} and ${NAMES} ApexAliases × ${CTL_ROUNDS}`);
  await Promise.all([
    ...Array.from({ length: ROUNDS }, (_, r) =>
      createObjects(
        kube,
        `peer-r${r}`,
        names.map((_, i) => dnsEndpoint(`peer-r${r}`, peerZone(r), i)),
      ),
    ),
    ...Array.from({ length: CTL_ROUNDS }, (_, r) =>
      createObjects(
        kube,
        `ctl-r${r}`,
        names.map((_, i) => apexAlias(`ctl-r${r}`, ctlZone(r), i)),
      ),
    ),
  ]);
  for (let r = 0; r < ROUNDS; r++) {
    const dir = path.join(work, `sync-r${r}`);
    await mkdir(dir);
    await writeFile(path.join(work, `sync-r${r}.yaml`), configText(bind, upstream, syncZone(r)));
    await Promise.all(
      names.map((n, i) =>
        writeFile(path.join(dir, `${n}.yaml`), JSON.stringify(apexAlias('bench', syncZone(r), i))),
      ),
    );
  }
  for (let r = 0; r < CTL_ROUNDS; r++)
    await writeFile(path.join(work, `ctl-r${r}.yaml`), configText(bind, upstream, ctlZone(r)));

  setupInfo = {
    versions: await versions(),
    startupSeconds: {
      externalDns: await startupSeconds(EXTERNAL_DNS, ['--version']),
      apexalias: await startupSeconds(process.execPath, ['bin/apexalias.js', '--version']),
    },
  };
  progress(`setup done; process start-up alone: ${JSON.stringify(setupInfo.startupSeconds)}`);

  for (let r = 0; r < ROUNDS; r++) {
    const round: Record<string, Measure> = {};
    round.peerCold = await externalDnsOnce(kube, bind, peerZone(r), `peer-r${r}`, logDir, `r${r}-cold`);
    progress(
      `round ${r + 1}/${ROUNDS}: external-dns cold ${round.peerCold.seconds.toFixed(2)}s, ` +
        `${round.peerCold.updates} UPDATEs, ${round.peerCold.served}/${NAMES} served`,
    );
    round.peerNoop = await externalDnsOnce(kube, bind, peerZone(r), `peer-r${r}`, logDir, `r${r}-noop`);
    progress(
      `round ${r + 1}/${ROUNDS}: external-dns no-op ${round.peerNoop.seconds.toFixed(2)}s, ` +
        `${round.peerNoop.updates} UPDATEs`,
    );

    const config = path.join(work, `sync-r${r}.yaml`);
    const manifests = path.join(work, `sync-r${r}`);
    round.syncCold = await apexaliasSync(bind, config, manifests);
    round.syncCold.served = await servedNow(bind, syncZone(r));
    round.syncNoop = await apexaliasSync(bind, config, manifests);
    round.syncNoop.served = await servedNow(bind, syncZone(r));
    progress(
      `round ${r + 1}/${ROUNDS}: apexalias sync cold ${round.syncCold.seconds.toFixed(2)}s ` +
        `(${round.syncCold.updates} UPDATEs, ${round.syncCold.served}/${NAMES} served), ` +
        `no-op ${round.syncNoop.seconds.toFixed(2)}s (${round.syncNoop.updates} UPDATEs)`,
    );

    round.raw = await rawNsupdate(bind, RAW_ZONE, `r${r}-`);
    progress(`round ${r + 1}/${ROUNDS}: raw nsupdate ${round.raw.seconds.toFixed(3)}s`);
    results.push(round);

    if (r < CTL_ROUNDS) {
      const zone = ctlZone(r);
      let updatesAtStop = 0;
      const { measure, value } = await measured(bind, async (started) => {
        const controller = startController({
          config: path.join(work, `ctl-r${r}.yaml`),
          kubeconfig: kube.kubeconfig,
          identity: 'peer-bench',
          extra: ['--no-leader-elect', '--namespace', `ctl-r${r}`, '--log-level', 'info'],
        });
        const seen = await watchServed(bind, zone, 240_000, 100);
        const endedAt = seen.size ? Math.max(...seen.values()) : performance.now();
        const before = (await counters(bind)).updates;
        await controller.stop();
        updatesAtStop = (await counters(bind)).updates - before;
        const logs = controller.logs();
        return {
          endedAt: endedAt < started ? started : endedAt,
          value: {
            served: seen.size,
            warnings: logs.filter((l) => l.level === 'warn').length,
            errors: logs.filter((l) => l.level === 'error').length,
          },
        };
      });
      if (value.served !== NAMES) throw new Error(`controller: only ${value.served}/${NAMES} names served`);
      // The counters were read after the stop: take back what came after the last name was served.
      const m: Measure = {
        ...measure,
        updates: measure.updates - updatesAtStop,
        served: value.served,
        detail: { ...value, updatesAfterServedUntilStop: updatesAtStop },
      };
      controllerResults.push(m);
      progress(
        `controller round ${r + 1}/${CTL_ROUNDS}: all ${NAMES} served ${m.seconds.toFixed(2)}s after start, ` +
          `${m.updates} UPDATEs`,
      );
    }
  }
} finally {
  await Promise.all([kube.stop(), bind.stop(), upstream.stop()]);
  await rm(work, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Report.

interface Row {
  key: string;
  contender: string;
  scenario: string;
  medianSeconds: number;
  allSeconds: number[];
  updateMessages: number;
  records: number | undefined;
  firstUpdateSeconds: number | null;
  axfr: number;
  /** DNS queries BIND received (null for the controller: the bench polls BIND meanwhile). */
  queries: number | null;
  served: number | undefined;
  namesPerSecond: number | undefined;
}

function row(
  key: string,
  contender: string,
  scenario: string,
  ms: Measure[],
  opts: { writes: boolean; queries?: boolean },
): Row {
  const seconds = median(ms.map((m) => m.seconds));
  const first = ms.map((m) => m.firstUpdateSeconds).filter((x): x is number => x !== null);
  return {
    key,
    contender,
    scenario,
    medianSeconds: Number(seconds.toFixed(3)),
    allSeconds: ms.map((m) => Number(m.seconds.toFixed(3))),
    updateMessages: median(ms.map((m) => m.updates)),
    records: ms[0]!.records,
    firstUpdateSeconds: first.length ? Number(median(first).toFixed(2)) : null,
    axfr: median(ms.map((m) => m.axfr)),
    queries: opts.queries === false ? null : median(ms.map((m) => m.queries)),
    served: ms[0]!.served,
    namesPerSecond: opts.writes ? Math.round(NAMES / seconds) : undefined,
  };
}

const pick = (k: string): Measure[] => results.map((r) => r[k]!);
const table: Row[] = [
  row('peerCold', 'external-dns --once', 'cold: claim N names (A + TXT registry)', pick('peerCold'), {
    writes: true,
  }),
  row('peerNoop', 'external-dns --once', 'no-op: nothing changed', pick('peerNoop'), { writes: false }),
  row('syncCold', 'apexalias sync', 'cold: claim N names (A + TXT marker)', pick('syncCold'), {
    writes: true,
  }),
  row('syncNoop', 'apexalias sync', 'no-op: nothing changed', pick('syncNoop'), { writes: false }),
  row('controller', 'apexalias controller', 'start → all N served', controllerResults, {
    writes: true,
    queries: false,
  }),
  row('raw', 'raw ceiling: nsupdate', `${RAW_PER_UPDATE} A records per UPDATE`, pick('raw'), {
    writes: true,
  }),
];

const peerCold = pick('peerCold');
const peerDetail = peerCold[0]!.detail as unknown as PeerLogSummary & { observedGenerationSet: number };
const allPeer = [...peerCold, ...pick('peerNoop')].map((m) => m.detail as unknown as PeerLogSummary);
const peerProblems = allPeer.flatMap((d) => d.problems);
const rrsPerUpdate = peerCold[0]!.updates ? (peerCold[0]!.records ?? 0) / peerCold[0]!.updates : 0;
const info = setupInfo!;
const startup = info.startupSeconds;
const cpus = os.cpus();
const machine = {
  platform: `${process.platform}/${process.arch}`,
  cpus: cpus.length,
  cpuModel: cpus[0]?.model ?? 'unknown',
  memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
  note: '2 shared cores; other jobs (builds, e2e tests) may run at the same time',
};
const qpsText =
  PEER_QPS === undefined
    ? "external-dns's own Kubernetes client limit (5 QPS, burst 10)"
    : `--kube-api-qps=${PEER_QPS} --kube-api-burst=${PEER_QPS * 2}`;

const fmt = (x: number | null | undefined, digits = 2): string =>
  x === null || x === undefined ? '–' : x.toFixed(digits);
const header =
  '| contender | scenario | median s (all rounds) | UPDATE msgs | RRs added | 1st UPDATE after s | ' +
  'queries to BIND (AXFRs) | served | names/s |\n' +
  '|---|---|---|---|---|---|---|---|---|';
const body = table
  .map(
    (r) =>
      `| ${r.contender} | ${r.scenario} | ${fmt(r.medianSeconds, 3)} (${r.allSeconds.map((s) => s.toFixed(2)).join(', ')}) | ` +
      `${r.updateMessages} | ${r.records ?? '–'} | ${fmt(r.firstUpdateSeconds)} | ${r.queries ?? '–'} (${r.axfr}) | ` +
      `${r.served ?? '–'} | ${r.namesPerSecond ?? '–'} |`,
  )
  .join('\n');

const md = `# apexalias vs external-dns ${PEER_VERSION} (RFC 2136) vs raw BIND: ${NAMES} names over ${TARGETS} targets

Measured ${new Date().toISOString()} in one run (${elapsed()}) against one kube-apiserver ${info.versions.kubeApiserver} and one BIND (${info.versions.bind}), every contender and round in
its own zone. Machine: ${machine.platform}, ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB;
**2 shared cores**, other jobs may have been running. Node ${process.version}, apexalias ${info.versions.apexalias}, external-dns ${info.versions.externalDns}.
Rounds: ${ROUNDS} (external-dns, sync, raw), ${CTL_ROUNDS} (controller); medians shown.

${header}
${body}

- **Wall times include process start-up for every contender** (external-dns: a 195 MB Go binary;
  apexalias: Node 24 with type stripping). Start-up alone (\`--version\`, median of 3):
  external-dns ${fmt(startup.externalDns, 3)} s, apexalias ${fmt(startup.apexalias, 3)} s.
- **external-dns cannot flatten a CNAME.** Its DNSEndpoints carry the A address each of the
  ${TARGETS} targets resolves to, written in by the bench; it resolves nothing. apexalias resolves the
  ${Math.min(TARGETS, NAMES)} targets itself on every run.
- external-dns flags: \`--source=crd --provider=rfc2136 --rfc2136-tsig-axfr --registry=txt
  --txt-owner-id=peer --domain-filter=<zone> --once\`, TSIG hmac-sha256, batch size left at its
  default (50 changes per UPDATE); ${qpsText}. It **reads the whole zone by AXFR** on every run
  (\`--rfc2136-tsig-axfr\`; counted by BIND in the AXFRs column). Without that flag it sees no
  existing records, so every run would re-send every record. Each cold run sent ${peerCold[0]!.records} RRs in
  ${peerCold[0]!.updates} UPDATEs (${rrsPerUpdate.toFixed(0)} RRs per UPDATE: one A plus one TXT
  registry record per name) and set \`status.observedGeneration\` on
  ${peerDetail.observedGenerationSet}/${NAMES} DNSEndpoints, one API write each, before writing DNS
  (see "1st UPDATE after"). With external-dns's default client limit (5 QPS, burst 10) those
  ${NAMES} status writes alone take about ${Math.max(0, (NAMES - 10) / 5).toFixed(0)} s; measure that with \`--peer-kube-qps default\`.
  It creates every A record first and the TXT registry records (TTL 0) after them, and its
  UPDATEs carry no prerequisites.
  Warnings/errors logged by external-dns over all runs: ${allPeer.reduce((a, d) => a + d.warnings, 0)} / ${allPeer.reduce((a, d) => a + d.errors, 0)}.
- apexalias sync reads ${NAMES} manifest files (one alias each), resolves ${Math.min(TARGETS, NAMES)} targets and writes
  one A record and one TXT ownership marker per name; "RRs added" counts the RRs of its UPDATE
  messages including prerequisites. It touches no Kubernetes API.
- The controller time runs from starting its process to the last of the ${NAMES} names answering
  over UDP (polled); it includes Node start-up, the informer LIST, resolution, the writes, and it
  runs alongside the controller's status writes and Events. Log level: info for every contender.
- The raw ceiling writes ${NAMES} A records only (no ownership record), ${RAW_PER_UPDATE} per UPDATE,
  nsupdate over TCP with TSIG; it is BIND's limit, not a tool.
- "1st UPDATE after" is when the bench first saw BIND's UPDATE counter move (sampled every 50 ms;
  – when the run ended before a sample saw it). "queries to BIND" counts QUERY messages (lookups,
  SOA probes, AXFRs) the contender sent; none is shown for the controller, whose window includes
  the bench's own polling (at most 100 names per 25 ms).
`;

await mkdir(RESULTS, { recursive: true });
await writeFile(
  path.join(RESULTS, 'peer.json'),
  JSON.stringify(
    {
      measuredAt: new Date().toISOString(),
      benchSeconds: Number(((performance.now() - benchStarted) / 1000).toFixed(1)),
      names: NAMES,
      targets: TARGETS,
      rounds: ROUNDS,
      controllerRounds: CTL_ROUNDS,
      machine,
      ...info,
      wallTimesIncludeProcessStartup: true,
      externalDns: {
        flags: peerArgs(kube, bind, peerZone(0), 'peer-r0', 0, '<secret>').filter(
          (a) => !a.startsWith('--kubeconfig') && !a.startsWith('--metrics-address'),
        ),
        kubeApiRateLimit: qpsText,
        cnameFlattening: false,
        readsZoneByAxfr: true,
        rrsPerUpdateCold: rrsPerUpdate,
        problems: peerProblems.slice(0, 20),
        logs: logDir,
      },
      table,
      roundsRaw: results,
      controllerRaw: controllerResults,
    },
    null,
    2,
  ) + '\n',
);
await writeFile(path.join(RESULTS, 'peer.md'), md);
process.stdout.write(md);
progress(`done; external-dns logs kept in ${logDir}`);
