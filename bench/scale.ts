/**
 * `npm run bench:scale`: the controller at 1k / 10k / 100k aliases in two shapes, beside the raw
 * ceiling of the same BIND and external-dns 0.21, against a real kube-apiserver and a real BIND
 * (issue 12). Each run gets a fresh kube-apiserver and BIND, so every count is its own.
 *
 *   one-zone   N names n<i>.scale.test in one zone
 *   zones      N zones z<i>.test with one alias at each apex (BIND serves N zones)
 *
 * N / 10 targets answered by the project's TestAuthServer, A records only, TTL --ttl. Contenders:
 *   controller    N ApexAlias objects created before one `apexalias controller` process starts
 *                 (--no-leader-elect, --log-level info, --namespace bench)
 *   raw           nsupdate over TCP with TSIG, the same records: 500 per UPDATE in one zone,
 *                 one UPDATE per zone (sequential) for N zones
 *   external-dns  `external-dns --once` over N DNSEndpoint objects (one-zone shape, N ≤ --peer-max)
 *   sync          one standalone `apexalias sync` over the same N aliases in manifest files (one zone)
 *
 * Served is read without N queries: BIND's statistics channel gives every zone's SOA serial in
 * one HTTP request; a zone whose serial moved is read again (AXFR of the zone; for N zones, the
 * apex A of each changed zone, pipelined on one TCP connection). Ready is counted with one LIST
 * (Table form). CPU and peak RSS come from /proc; UPDATE and QUERY messages from BIND's
 * statistics channel (the bench's own reads taken out); API requests from kube-apiserver's
 * `apiserver_request_total`, by verb and resource (the bench's own LISTs taken out).
 *
 * Writes scale.md, scale.json and scale-<N>.svg into --out (default bench/results). Exits
 * non-zero on a harness error, never for a missed target: the table says it. See bench/README.md.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { TestAuthServer } from '../test/harness/authserver.ts';
import { startBind } from '../test/harness/bind.ts';
import type { BindServer } from '../test/harness/bind.ts';
import { requireKubeBinary, startKube } from '../test/harness/kube.ts';
import type { KubeCluster } from '../test/harness/kube.ts';
import { freePort } from '../test/harness/ports.ts';
import { requireBinary, runCommand } from '../test/harness/process.ts';
import { bindCounters, counterDelta, zoneSerials } from './lib/bind-stats.ts';
import type { BindCounters } from './lib/bind-stats.ts';
import {
  choiceList,
  integerList,
  outOption,
  positiveInteger,
  progressLogger,
  REPO_ROOT,
  seconds,
} from './lib/cli.ts';
import { writeBenchConfig } from './lib/config.ts';
import {
  controllerFlags,
  controllerLogSummary,
  startBenchController,
  takeHeapSnapshot,
} from './lib/controller.ts';
import {
  discoverExternalDns,
  dnsEndpoint,
  externalDnsFlagsForReport,
  externalDnsVersion,
  installDnsEndpointCrd,
  PEER_VERSION,
  runExternalDnsOnce,
} from './lib/external-dns.ts';
import type { ExternalDns } from './lib/external-dns.ts';
import { KubeApi, ReadyWatcher, requestDelta } from './lib/kube-api.ts';
import type { ReadyPoint, RequestCounts } from './lib/kube-api.ts';
import { rawNsupdate } from './lib/nsupdate.ts';
import { procSample, ProcSampler } from './lib/proc.ts';
import type { ProcSample } from './lib/proc.ts';
import { fmt, gitCommit, machineInfo, markdownTable, svgLinePlot, toolVersions } from './lib/report.ts';
import { ServedWatcher } from './lib/served.ts';
import type { ServedPoint, ServedShape } from './lib/served.ts';
import { round } from './lib/stats.ts';
import { syncOnce } from './lib/sync.ts';

const SHAPES = ['one-zone', 'zones'] as const;
type Shape = (typeof SHAPES)[number];
const CONTENDERS = ['controller', 'raw', 'external-dns', 'sync'] as const;
type Contender = (typeof CONTENDERS)[number];

const { values } = parseArgs({
  options: {
    aliases: { type: 'string', default: '1000,10000' },
    shapes: { type: 'string', default: SHAPES.join(',') },
    contenders: { type: 'string', default: CONTENDERS.join(',') },
    'peer-max': { type: 'string', default: '10000' },
    'peer-kube-qps': { type: 'string', default: '1000' },
    ttl: { type: 'string', default: '60' },
    steady: { type: 'string', default: '120' },
    timeout: { type: 'string', default: '600' },
    'cpu-prof': { type: 'boolean', default: false },
    'heap-snapshot': { type: 'boolean', default: false },
    'prof-dir': { type: 'string' },
    label: { type: 'string' },
    ...outOption,
  },
});
const SIZES = integerList('--aliases', values.aliases).sort((a, b) => a - b);
const SHAPE_LIST = choiceList('--shapes', values.shapes, SHAPES);
const CONTENDER_LIST = choiceList('--contenders', values.contenders, CONTENDERS);
const PEER_MAX = positiveInteger('--peer-max', values['peer-max']);
const PEER_QPS =
  values['peer-kube-qps'] === 'default'
    ? undefined
    : positiveInteger('--peer-kube-qps', values['peer-kube-qps']);
const TTL = positiveInteger('--ttl', values.ttl);
const STEADY_S = seconds('--steady', values.steady);
const TIMEOUT_S = seconds('--timeout', values.timeout);
const RESULTS = path.resolve(values.out);
/** external-dns logs, kept after the run. */
const LOG_DIR = path.join(os.tmpdir(), `apexalias-bench-scale-logs-${process.pid}`);
const PROF_DIR = path.resolve(
  values['prof-dir'] ?? path.join(os.tmpdir(), `apexalias-scale-prof-${process.pid}`),
);
const FAMILIES = 1;
/** The controller's `nameservers`: the one BIND, which is also the primary. */
const NAMESERVERS = 1;
const RAW_PER_UPDATE = 500;
const NAMESPACE = 'bench';
const APEX_COLLECTION = `/apis/dns.apexalias.io/v1alpha1/namespaces/${NAMESPACE}/apexaliases`;
const PEER_COLLECTION = `/apis/externaldns.k8s.io/v1alpha1/namespaces/${NAMESPACE}/dnsendpoints`;
const MIB = 2 ** 20;
/**
 * Least pause between the served watcher's reads: short for a process that runs to its end (its
 * own wall time is what counts; the curve only shows it), longer while a controller runs, so the
 * bench's reads (an AXFR of the whole zone) take little of the 2 cores it is measured on.
 */
const ONCE_GAP_MS = 100;
const CONTROLLER_GAP_MS = 500;

const { progress, elapsed } = progressLogger('scale');

// ---------------------------------------------------------------------------------------------
// The names, targets and records of one size and shape.

const targetCount = (n: number): number => Math.max(1, Math.floor(n / 10));
const targetName = (t: number): string => `t${t}.targets.test`;
const targetAddress = (t: number): string => `10.1.${t >> 8}.${t & 255}`;
const ONE_ZONE = 'scale.test';

/** Alias i of N: where it lives and the address it must end up with. */
interface AliasSpec {
  objectName: string;
  zone: string;
  /** `spec.name`: "@" for an apex. */
  name: string;
  fqdn: string;
  target: string;
  address: string;
}

function aliasSpecs(shape: Shape, n: number): AliasSpec[] {
  const targets = targetCount(n);
  return Array.from({ length: n }, (_, i) => {
    const t = i % targets;
    const zone = shape === 'one-zone' ? ONE_ZONE : `z${i}.test`;
    const name = shape === 'one-zone' ? `n${i}` : '@';
    return {
      objectName: `a${i}`,
      zone,
      name,
      fqdn: shape === 'one-zone' ? `${name}.${zone}` : zone,
      target: targetName(t),
      address: targetAddress(t),
    };
  });
}

const zonesOf = (specs: readonly AliasSpec[]): string[] => [...new Set(specs.map((s) => s.zone))];

function servedShape(shape: Shape, specs: readonly AliasSpec[]): ServedShape {
  return shape === 'one-zone'
    ? { kind: 'one-zone', zone: ONE_ZONE, names: new Map(specs.map((s) => [s.fqdn, s.address])) }
    : { kind: 'zones', apexes: new Map(specs.map((s) => [s.zone, s.address])) };
}

const apexAlias = (s: AliasSpec): object => ({
  apiVersion: 'dns.apexalias.io/v1alpha1',
  kind: 'ApexAlias',
  metadata: { name: s.objectName, namespace: NAMESPACE },
  spec: { zone: s.zone, name: s.name, target: s.target, addressFamilies: ['IPv4'] },
});

/**
 * The steady state's DNS queries per minute if every target were looked up once per TTL and
 * family, and every zone's SOA asked once per TTL at each nameserver: what a controller that
 * verifies per zone (not per name) needs.
 */
const formulaPerMinute = (n: number, zones: number): number =>
  ((targetCount(n) * FAMILIES + zones * NAMESERVERS) * 60) / TTL;
const FORMULA_TEXT = '(targets × families + zones × nameservers) × 60 / TTL';

// ---------------------------------------------------------------------------------------------
// One run's record.

interface SteadyState {
  seconds: number;
  cpuSeconds: number;
  /** Share of one core. */
  cpuPercent: number;
  bind: BindCounters;
  upstreamQueries: number;
  /** BIND QUERY messages plus upstream queries, per minute. */
  dnsQueriesPerMinute: number;
  formulaPerMinute: number;
  apiRequests: RequestCounts;
}

interface RunResult {
  shape: Shape;
  aliases: number;
  targets: number;
  zones: number;
  contender: Contender;
  /** Everything served (and for the controller, Ready) before --timeout. */
  converged: boolean;
  note?: string;
  /** Seconds from the contender's start until every name was served (raw: nsupdate's wall time). */
  servedSeconds: number | null;
  served: number;
  readySeconds: number | null;
  ready: number | null;
  /** Wall seconds of a contender that runs to its end (raw, sync, external-dns). */
  wallSeconds: number | null;
  /** CPU seconds until converged (a process that exits: until its last /proc sample). */
  cpuSeconds: number | null;
  peakRssBytes: number | null;
  /** BIND counters from start to converged; `queries` without the bench's own reads. */
  bind: BindCounters;
  benchQueries: number;
  upstreamQueries: number;
  apiRequests: RequestCounts | null;
  steady: SteadyState | null;
  servedOverTime: ServedPoint[];
  readyOverTime: ReadyPoint[];
  /** The contender's CPU seconds and RSS, about every second. */
  usageOverTime: Array<{ seconds: number; cpuSeconds: number; rssMiB: number }>;
  detail: Record<string, unknown>;
}

const cpuPerAliasMs = (r: RunResult): number | null =>
  r.cpuSeconds === null ? null : (r.cpuSeconds * 1000) / r.aliases;

function usageSeries(sampler: ProcSampler): RunResult['usageOverTime'] {
  const out: RunResult['usageOverTime'] = [];
  let last = -Infinity;
  for (const s of [...sampler.samples].sort((a, b) => a.seconds - b.seconds)) {
    if (s.seconds - last < 0.95) continue;
    last = s.seconds;
    out.push({ seconds: round(s.seconds, 2), cpuSeconds: s.cpuSeconds, rssMiB: round(s.rssBytes / MIB, 1) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The world of one run: a fresh BIND for the run's zones, a fresh kube-apiserver when needed.

async function withBind<T>(zones: string[], work: (bind: BindServer) => Promise<T>): Promise<T> {
  const bind = await startBind({
    zones: zones.map((name) => ({ name })),
    timeoutMs: 60_000 + zones.length * 2,
  });
  try {
    return await work(bind);
  } finally {
    await bind.stop();
  }
}

async function withKube<T>(work: (kube: KubeCluster, api: KubeApi) => Promise<T>): Promise<T> {
  const kube = await startKube();
  try {
    return await work(kube, await KubeApi.of(kube));
  } finally {
    await kube.stop();
  }
}

async function createObjects(
  api: KubeApi,
  collection: string,
  objects: object[],
  what: string,
): Promise<void> {
  const started = performance.now();
  await api.createNamespace(NAMESPACE);
  await api.createAll(collection, objects, {
    concurrency: 8,
    onProgress: (k) => {
      if (k % 10_000 === 0) progress(`  created ${k}/${objects.length} ${what}`);
    },
  });
  const { rows } = await api.countColumn(collection, undefined, 'setup');
  if (rows !== objects.length) throw new Error(`created ${objects.length} ${what} but a LIST shows ${rows}`);
  progress(`  ${objects.length} ${what} created in ${((performance.now() - started) / 1000).toFixed(1)}s`);
}

/** Waits for a watcher to finish, at most `ms`; false when it had to be stopped. */
async function settle(w: { done(): Promise<void>; stop(): Promise<void> }, ms: number): Promise<boolean> {
  const finished = await Promise.race([w.done().then(() => true), sleep(ms).then(() => false)]);
  if (!finished) await w.stop();
  return finished;
}

function emptyResult(shape: Shape, n: number, contender: Contender, zones: number): RunResult {
  return {
    shape,
    aliases: n,
    targets: targetCount(n),
    zones,
    contender,
    converged: false,
    servedSeconds: null,
    served: 0,
    readySeconds: null,
    ready: null,
    wallSeconds: null,
    cpuSeconds: null,
    peakRssBytes: null,
    bind: { updates: 0, updatesDone: 0, updatesFailed: 0, updatesRejected: 0, axfr: 0, queries: 0 },
    benchQueries: 0,
    upstreamQueries: 0,
    apiRequests: null,
    steady: null,
    servedOverTime: [],
    readyOverTime: [],
    usageOverTime: [],
    detail: {},
  };
}

/** BIND's counters between two readings, the watcher's own QUERY messages and AXFRs taken out. */
function bindWithoutBench(before: BindCounters, after: BindCounters, watcher: ServedWatcher): BindCounters {
  const d = counterDelta(before, after);
  return { ...d, queries: d.queries - watcher.queriesSent, axfr: d.axfr - watcher.axfrSent };
}

// ---------------------------------------------------------------------------------------------
// The contenders.

async function runRaw(shape: Shape, n: number, specs: AliasSpec[]): Promise<RunResult> {
  const zones = zonesOf(specs);
  const result = emptyResult(shape, n, 'raw', zones.length);
  return withBind(zones, async (bind) => {
    const baseline = await zoneSerials(bind);
    const before = await bindCounters(bind);
    const t0 = performance.now();
    const watcher = new ServedWatcher(bind, servedShape(shape, specs), {
      startedAt: t0,
      baseline,
      minGapMs: ONCE_GAP_MS,
    });
    const m = await rawNsupdate(
      bind,
      specs.map((s) => ({ zone: s.zone, owner: s.fqdn, address: s.address })),
      { perMessage: shape === 'one-zone' ? RAW_PER_UPDATE : 1, ttl: TTL },
    );
    await settle(watcher, 60_000);
    const after = await bindCounters(bind);
    result.wallSeconds = m.seconds;
    result.served = watcher.served;
    result.converged = watcher.served === n;
    // nsupdate waits for each UPDATE's answer, and BIND answers once the change is applied.
    result.servedSeconds = result.converged ? m.seconds : null;
    result.benchQueries = watcher.queriesSent;
    result.bind = bindWithoutBench(before, after, watcher);
    result.servedOverTime = watcher.points;
    result.detail = {
      perMessage: shape === 'one-zone' ? RAW_PER_UPDATE : 1,
      watcherAllServedSeconds: watcher.allServedSeconds,
    };
    if (!result.converged) result.note = `only ${watcher.served}/${n} served after nsupdate`;
    return result;
  });
}

/** `apexalias sync` once over the same aliases as manifest files (1,000 per file). */
async function runSyncContender(
  n: number,
  specs: AliasSpec[],
  upstream: TestAuthServer,
  work: string,
): Promise<RunResult> {
  const result = emptyResult('one-zone', n, 'sync', 1);
  return withBind([ONE_ZONE], async (bind) => {
    const dir = await mkdtemp(path.join(work, 'sync-'));
    const manifests = path.join(dir, 'manifests');
    await mkdir(manifests);
    for (let k = 0; k < specs.length; k += 1000)
      await writeFile(
        path.join(manifests, `aliases-${k / 1000}.yaml`),
        specs
          .slice(k, k + 1000)
          .map((s) => JSON.stringify(apexAlias(s)))
          .join('\n---\n'),
      );
    const config = await writeBenchConfig(dir, 'config.yaml', { bind, upstream, zones: [ONE_ZONE] });
    const baseline = await zoneSerials(bind);
    const before = await bindCounters(bind);
    const up0 = upstream.queries();
    const t0 = performance.now();
    const watcher = new ServedWatcher(bind, servedShape('one-zone', specs), {
      startedAt: t0,
      baseline,
      minGapMs: ONCE_GAP_MS,
    });
    let sampler: ProcSampler | undefined;
    const { seconds: wall, summary } = await syncOnce(config, manifests, {
      timeoutMs: Math.max(600_000, TIMEOUT_S * 1000),
      onSpawn: (pid) => (sampler = new ProcSampler(pid, { everyMs: 100, startedAt: t0 })),
    });
    await sampler?.stop();
    await settle(watcher, 60_000);
    const after = await bindCounters(bind);
    const last = sampler?.last();
    Object.assign(result, {
      wallSeconds: wall,
      served: watcher.served,
      converged: watcher.served === n,
      servedSeconds: watcher.served === n ? wall : null,
      cpuSeconds: last?.cpuSeconds ?? null,
      peakRssBytes: last?.peakRssBytes ?? null,
      benchQueries: watcher.queriesSent,
      bind: bindWithoutBench(before, after, watcher),
      upstreamQueries: upstream.queries() - up0,
      servedOverTime: watcher.points,
      usageOverTime: sampler ? usageSeries(sampler) : [],
      detail: { summary, cpuAndRssSampledEveryMs: 100 },
    } satisfies Partial<RunResult>);
    if (!result.converged) result.note = `only ${watcher.served}/${n} served after sync`;
    return result;
  });
}

async function runPeer(n: number, specs: AliasSpec[], peer: ExternalDns): Promise<RunResult> {
  const result = emptyResult('one-zone', n, 'external-dns', 1);
  return withBind([ONE_ZONE], (bind) =>
    withKube(async (kube, api) => {
      await installDnsEndpointCrd(kube, peer.crd);
      await createObjects(
        api,
        PEER_COLLECTION,
        specs.map((s) => dnsEndpoint(NAMESPACE, s.objectName, s.fqdn, s.address, TTL)),
        'DNSEndpoints',
      );
      const run = {
        kube,
        bind,
        zone: ONE_ZONE,
        namespace: NAMESPACE,
        kubeQps: PEER_QPS,
        metricsPort: await freePort(),
        secret: bind.keys[0]!.secret,
      };
      const baseline = await zoneSerials(bind);
      const before = await bindCounters(bind);
      const api0 = await api.requestCounts();
      const t0 = performance.now();
      const watcher = new ServedWatcher(bind, servedShape('one-zone', specs), {
        startedAt: t0,
        baseline,
        minGapMs: ONCE_GAP_MS,
      });
      let sampler: ProcSampler | undefined;
      const { result: exit, log } = await runExternalDnsOnce(peer.binary, run, {
        timeoutMs: Math.max(600_000, TIMEOUT_S * 1000),
        onSpawn: (pid) => (sampler = new ProcSampler(pid, { everyMs: 100, startedAt: t0 })),
      });
      const wall = (performance.now() - t0) / 1000;
      await sampler?.stop();
      await mkdir(LOG_DIR, { recursive: true });
      const logFile = path.join(LOG_DIR, `external-dns-${n}.log`);
      await writeFile(logFile, `${exit.stdout}${exit.stderr}`);
      if (exit.code !== 0)
        throw new Error(`external-dns exited ${exit.code} (log: ${logFile}):\n${exit.stderr.slice(-4000)}`);
      await settle(watcher, 60_000);
      const after = await bindCounters(bind);
      const api1 = await api.requestCounts();
      const last = sampler?.last();
      Object.assign(result, {
        wallSeconds: wall,
        served: watcher.served,
        converged: watcher.served === n,
        // external-dns exits once every UPDATE was answered: its wall time is when all are served.
        servedSeconds: watcher.served === n ? wall : null,
        cpuSeconds: last?.cpuSeconds ?? null,
        peakRssBytes: last?.peakRssBytes ?? null,
        benchQueries: watcher.queriesSent,
        bind: bindWithoutBench(before, after, watcher),
        apiRequests: requestDelta(api0, api1),
        servedOverTime: watcher.points,
        usageOverTime: sampler ? usageSeries(sampler) : [],
        detail: {
          flags: externalDnsFlagsForReport(run),
          log,
          logFile,
          cpuAndRssSampledEveryMs: 100,
          watcherAllServedSeconds: watcher.allServedSeconds,
        },
      } satisfies Partial<RunResult>);
      if (!result.converged) result.note = `only ${watcher.served}/${n} served after external-dns exited`;
      return result;
    }),
  );
}

async function runController(
  shape: Shape,
  n: number,
  specs: AliasSpec[],
  upstream: TestAuthServer,
  work: string,
): Promise<RunResult> {
  const zones = zonesOf(specs);
  const result = emptyResult(shape, n, 'controller', zones.length);
  return withBind(zones, (bind) =>
    withKube(async (kube, api) => {
      await createObjects(api, APEX_COLLECTION, specs.map(apexAlias), 'ApexAliases');
      const dir = await mkdtemp(path.join(work, 'ctl-'));
      const config = await writeBenchConfig(dir, 'config.yaml', {
        bind,
        upstream,
        zones,
        verifyAtPrimary: true,
      });
      const profDir = path.join(PROF_DIR, `${shape}-${n}`);

      const baseline = await zoneSerials(bind);
      const before = await bindCounters(bind);
      const api0 = await api.requestCounts();
      const sent0 = { ...api.sent };
      const up0 = upstream.queries();
      const t0 = performance.now();
      const controller = await startBenchController({
        config,
        kubeconfig: kube.kubeconfig,
        namespace: NAMESPACE,
        identity: 'scale-bench',
        cpuProfDir: values['cpu-prof'] ? profDir : undefined,
        heapSnapshotDir: values['heap-snapshot'] ? profDir : undefined,
      });
      try {
        const sampler = new ProcSampler(controller.child.pid!, { everyMs: 1000, startedAt: t0 });
        const served = new ServedWatcher(bind, servedShape(shape, specs), {
          startedAt: t0,
          baseline,
          minGapMs: CONTROLLER_GAP_MS,
        });
        const ready = new ReadyWatcher(api, APEX_COLLECTION, 'apexaliases', n, { startedAt: t0 });
        let failure: unknown;
        for (const w of [served, ready]) w.done().catch((err: unknown) => (failure ??= err));

        // Converged: every name served and every object Ready, or --timeout.
        const deadline = t0 + TIMEOUT_S * 1000;
        let nextProgress = performance.now() + 10_000;
        let exited = false;
        while (failure === undefined) {
          const allDone = served.served === n && ready.ready === n;
          exited = controller.child.exitCode !== null || controller.child.signalCode !== null;
          if (allDone || exited || performance.now() > deadline) break;
          if (performance.now() > nextProgress) {
            const s = sampler.last();
            progress(
              `  ${shape} ${n}: ${((performance.now() - t0) / 1000).toFixed(0)}s: served ${served.served}/${n}, ` +
                `Ready ${ready.ready}/${n}, CPU ${fmt(s?.cpuSeconds, 1)}s, RSS ${fmt((s?.rssBytes ?? 0) / MIB, 0)} MiB`,
            );
            nextProgress += 10_000;
          }
          await sleep(100);
        }
        if (failure !== undefined) throw failure;
        const convergedAt = (performance.now() - t0) / 1000;
        await Promise.all([served.stop(), ready.stop()]);
        const atConverge: ProcSample | undefined = await sampler.now();
        const after = await bindCounters(bind);
        // kube-apiserver counts a request once its handler has returned, a moment after the reply.
        await sleep(1000);
        const api1 = await api.requestCounts();
        const own = requestDelta(sent0, { ...api.sent });
        result.converged = served.served === n && ready.ready === n;
        result.served = served.served;
        result.ready = ready.ready;
        result.servedSeconds = served.allServedSeconds;
        result.readySeconds = ready.allReadySeconds;
        result.cpuSeconds = atConverge?.cpuSeconds ?? null;
        result.benchQueries = served.queriesSent;
        result.bind = bindWithoutBench(before, after, served);
        result.upstreamQueries = upstream.queries() - up0;
        result.apiRequests = requestDelta(api0, api1, own);
        result.servedOverTime = served.points;
        result.readyOverTime = ready.points;
        if (exited)
          result.note = `the controller exited (code ${controller.child.exitCode}) after ${convergedAt.toFixed(0)} s`;
        else if (!result.converged)
          result.note = `not converged after --timeout ${TIMEOUT_S} s: ${served.served}/${n} served, ${ready.ready}/${n} Ready`;
        progress(
          `  ${shape} ${n}: ${result.converged ? 'converged' : 'NOT converged'} at ${convergedAt.toFixed(1)}s ` +
            `(served ${fmt(result.servedSeconds, 1)}s, Ready ${fmt(result.readySeconds, 1)}s), ` +
            `CPU ${fmt(result.cpuSeconds, 1)}s, ${result.bind.updates} UPDATEs`,
        );

        // Steady state: nothing changes; the bench sends nothing to BIND or the API meanwhile.
        if (result.converged && STEADY_S > 0) {
          progress(`  ${shape} ${n}: steady state for ${STEADY_S}s`);
          const s0 = await procSample(controller.child.pid!);
          const b0 = await bindCounters(bind);
          const a0 = await api.requestCounts();
          const u0 = upstream.queries();
          const w0 = performance.now();
          await sleep(STEADY_S * 1000);
          const s1 = await procSample(controller.child.pid!);
          const b1 = await bindCounters(bind);
          const a1 = await api.requestCounts();
          const u1 = upstream.queries();
          const window = (performance.now() - w0) / 1000;
          if (s0 && s1) {
            const bindDelta = counterDelta(b0, b1);
            const cpu = s1.cpuSeconds - s0.cpuSeconds;
            result.steady = {
              seconds: round(window, 1),
              cpuSeconds: round(cpu, 2),
              cpuPercent: round((cpu / window) * 100, 2),
              bind: bindDelta,
              upstreamQueries: u1 - u0,
              dnsQueriesPerMinute: round(((bindDelta.queries + (u1 - u0)) * 60) / window, 1),
              formulaPerMinute: round(formulaPerMinute(n, zones.length), 1),
              apiRequests: requestDelta(a0, a1),
            };
            progress(
              `  ${shape} ${n}: steady CPU ${result.steady.cpuPercent}% of a core, ` +
                `${result.steady.dnsQueriesPerMinute} DNS queries/min (formula ${result.steady.formulaPerMinute})`,
            );
          }
        }
        // The peak before any heap snapshot: writing one takes memory of its own.
        result.peakRssBytes = (await sampler.now())?.peakRssBytes ?? null;
        if (values['heap-snapshot'] && !exited) {
          progress(`  ${shape} ${n}: heap snapshot…`);
          result.detail.heapSnapshot = await takeHeapSnapshot(controller, profDir);
          progress(`  ${shape} ${n}: heap snapshot in ${String(result.detail.heapSnapshot)}`);
        }
        const exitCode = await controller.stop();
        await sampler.stop();
        result.usageOverTime = usageSeries(sampler);
        result.detail = {
          ...result.detail,
          flags: controllerFlags(NAMESPACE),
          exitCode,
          ...controllerLogSummary(controller),
          servedReads: {
            serialReads: served.serialReads,
            dnsQueries: served.queriesSent,
            busySeconds: round(served.busySeconds, 2),
          },
          readyLists: ready.lists,
          ...(values['cpu-prof'] ? { cpuProfileDir: profDir } : {}),
        };
        return result;
      } finally {
        // A harness failure must not leave the controller running.
        if (controller.child.exitCode === null && controller.child.signalCode === null)
          await controller.kill();
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Targets (issue 12), judged on this run's rows.

interface Verdict {
  target: string;
  run: RunResult;
  pass: boolean | null;
  measured: string;
}

const find = (runs: RunResult[], shape: Shape, n: number, c: Contender): RunResult | undefined =>
  runs.find((r) => r.shape === shape && r.aliases === n && r.contender === c);

function verdicts(runs: RunResult[]): Verdict[] {
  const out: Verdict[] = [];
  const le = (
    target: string,
    run: RunResult,
    x: number | null,
    limit: number,
    unit: string,
    digits = 1,
  ): void => {
    out.push({
      target,
      run,
      pass: x === null ? false : x <= limit,
      measured:
        x !== null
          ? `${x.toFixed(digits)} ${unit}`
          : run.converged
            ? 'not measured'
            : `not converged: ${run.served}/${run.aliases} served${run.ready === null ? '' : `, ${run.ready} Ready`}`,
    });
  };
  const mib = (b: number | null): number | null => (b === null ? null : b / MIB);
  for (const r of runs.filter((x) => x.contender === 'controller')) {
    if (r.aliases === 10_000 && r.shape === 'one-zone') {
      le('all served ≤ 15 s', r, r.servedSeconds, 15, 's');
      le('all Ready ≤ 90 s', r, r.readySeconds, 90, 's');
      const peer = find(runs, 'one-zone', 10_000, 'external-dns');
      if (peer)
        out.push({
          target: 'faster than external-dns, fewer UPDATEs',
          run: r,
          pass:
            r.servedSeconds !== null &&
            peer.servedSeconds !== null &&
            r.servedSeconds < peer.servedSeconds &&
            r.bind.updates < peer.bind.updates,
          measured: `${fmt(r.servedSeconds, 1)} s vs ${fmt(peer.servedSeconds, 1)} s; ${r.bind.updates} vs ${peer.bind.updates} UPDATEs`,
        });
    }
    if (r.aliases === 10_000 && r.shape === 'zones')
      le('every apex served ≤ 60 s', r, r.servedSeconds, 60, 's');
    if (r.aliases === 10_000) {
      le('peak RSS ≤ 200 MiB', r, mib(r.peakRssBytes), 200, 'MiB', 0);
      le('steady CPU ≤ 5 % of a core', r, r.steady?.cpuPercent ?? null, 5, '%');
    }
    if (r.aliases === 100_000 && r.shape === 'one-zone') {
      le('all served ≤ 120 s', r, r.servedSeconds, 120, 's');
      le('peak RSS ≤ 1024 MiB', r, mib(r.peakRssBytes), 1024, 'MiB', 0);
    }
    if (r.aliases === 100_000) {
      const small = find(runs, r.shape, 1000, 'controller');
      const [big, base] = [
        r.converged ? cpuPerAliasMs(r) : null,
        small?.converged ? cpuPerAliasMs(small) : null,
      ];
      out.push({
        target: 'CPU per alias ≤ 1.5 × that at 1k',
        run: r,
        pass: big === null || base === null ? (small ? false : null) : big <= 1.5 * base,
        measured:
          big === null || base === null
            ? small
              ? 'not converged'
              : 'no 1k run in this bench'
            : `${big.toFixed(2)} ms vs 1.5 × ${base.toFixed(2)} ms`,
      });
    }
  }
  for (const r of runs.filter((x) => x.contender === 'sync' && x.aliases === 100_000)) {
    le('sync ≤ 120 s', r, r.converged ? r.wallSeconds : null, 120, 's');
    le('sync peak RSS ≤ 1024 MiB', r, mib(r.peakRssBytes), 1024, 'MiB', 0);
  }
  return out;
}

const verdictText = (v: Verdict): string =>
  `${v.pass === null ? 'n/a' : v.pass ? 'pass' : '**FAIL**'}: ${v.target} (${v.measured})`;

// ---------------------------------------------------------------------------------------------
// Report.

const CONTENDER_LABEL: Record<Contender, string> = {
  controller: 'apexalias controller',
  raw: 'raw: nsupdate',
  'external-dns': `external-dns ${PEER_VERSION} --once`,
  sync: 'apexalias sync',
};
const SHAPE_LABEL: Record<Shape, string> = { 'one-zone': 'one zone', zones: 'N zones' };

/**
 * The resources a contender works on. kube-apiserver counts its own requests too (its identity
 * lease every 10 s, its informers' LISTs and WATCHes): those are summed as "other".
 */
const CONTENDER_RESOURCES = new Set(['apexaliases', 'dnsendpoints', 'events']);
const isContenders = (key: string): boolean => CONTENDER_RESOURCES.has(key.split(' ')[1]!.split('/')[0]!);

function apiSummary(counts: RequestCounts | null): string {
  if (!counts) return '–';
  return String(
    Object.entries(counts)
      .filter(([k]) => isContenders(k))
      .reduce((a, [, v]) => a + v, 0),
  );
}

function apiBreakdown(counts: RequestCounts | null): string {
  if (!counts) return '–';
  const entries = Object.entries(counts);
  const own = entries.filter(([k]) => isContenders(k)).map(([k, v]) => `${k} ${v}`);
  const other = entries.filter(([k]) => !isContenders(k)).reduce((a, [, v]) => a + v, 0);
  return [...own, ...(other ? [`other ${other}`] : [])].join(', ') || '–';
}

async function writeReport(runs: RunResult[], meta: Record<string, unknown>, started: Date): Promise<void> {
  const vs = verdicts(runs);
  const git = meta.git as { commit: string; subject: string; dirty: boolean };
  const src = meta.srcCommit as { commit: string; subject: string };
  const versions = meta.versions as Record<string, string>;
  const machine = meta.machine as Record<string, string | number>;

  const table = markdownTable(
    [
      'shape',
      'aliases',
      'contender',
      'all served s',
      'all Ready s',
      'CPU s',
      'CPU ms/alias',
      'peak RSS MiB',
      'steady CPU %',
      'UPDATE msgs',
      'DNS queries to BIND',
      'upstream queries',
      'API requests',
      `steady DNS q/min: measured / formula`,
      'targets',
    ],
    runs.map((r) => [
      SHAPE_LABEL[r.shape],
      r.aliases.toLocaleString('en-US'),
      CONTENDER_LABEL[r.contender],
      r.servedSeconds !== null ? fmt(r.servedSeconds, 2) : `not served (${r.served}/${r.aliases})`,
      r.contender !== 'controller'
        ? '–'
        : r.readySeconds !== null
          ? fmt(r.readySeconds, 1)
          : `not Ready (${r.ready}/${r.aliases})`,
      fmt(r.cpuSeconds, 1),
      fmt(cpuPerAliasMs(r), 2),
      fmt(r.peakRssBytes === null ? null : r.peakRssBytes / MIB, 0),
      fmt(r.steady?.cpuPercent, 1),
      String(r.bind.updates),
      String(r.bind.queries),
      r.contender === 'raw' || r.contender === 'external-dns' ? '–' : String(r.upstreamQueries),
      apiSummary(r.apiRequests),
      r.steady ? `${fmt(r.steady.dnsQueriesPerMinute, 0)} / ${fmt(r.steady.formulaPerMinute, 0)}` : '–',
      vs
        .filter((v) => v.run === r)
        .map(verdictText)
        .join('; ') || '–',
    ]),
  );
  const apiTable = markdownTable(
    ['shape', 'aliases', 'contender', 'start → converged', 'steady state'],
    runs
      .filter((r) => r.apiRequests)
      .map((r) => [
        SHAPE_LABEL[r.shape],
        r.aliases.toLocaleString('en-US'),
        CONTENDER_LABEL[r.contender],
        apiBreakdown(r.apiRequests),
        r.steady ? apiBreakdown(r.steady.apiRequests) : '–',
      ]),
  );
  const targetTable = markdownTable(
    ['target', 'run', 'result', 'measured'],
    vs.map((v) => [
      v.target,
      `${SHAPE_LABEL[v.run.shape]}, ${v.run.aliases.toLocaleString('en-US')}, ${CONTENDER_LABEL[v.run.contender]}`,
      v.pass === null ? 'n/a' : v.pass ? 'pass' : '**FAIL**',
      v.measured,
    ]),
  );
  const notes = runs
    .filter((r) => r.note)
    .map((r) => `- ${SHAPE_LABEL[r.shape]}, ${r.aliases}, ${r.contender}: ${r.note}`);

  const plots: string[] = [];
  for (const n of SIZES) {
    const series = runs
      .filter((r) => r.aliases === n && r.servedOverTime.length > 0)
      .map((r) => ({
        name: `${CONTENDER_LABEL[r.contender]}, ${SHAPE_LABEL[r.shape]}`,
        dashed: r.contender !== 'controller',
        points: r.servedOverTime.map((p) => [p.seconds, p.served] as const),
      }));
    if (series.length === 0) continue;
    const file = `scale-${n}.svg`;
    await writeFile(
      path.join(RESULTS, file),
      svgLinePlot({
        title: `${n.toLocaleString('en-US')} aliases: names served over time`,
        xLabel: 'seconds since the contender started',
        yLabel: 'names served',
        series,
      }),
    );
    plots.push(`![${n} aliases: names served over time](${file})`);
  }

  const md = `# Scale: the controller at ${SIZES.map((n) => n.toLocaleString('en-US')).join(' / ')} aliases, beside raw BIND and external-dns

${values.label ? `**${values.label}**\n\n` : ''}**Measured the controller of commit \`${src.commit.slice(0, 12)}\`** (the last commit that changed
src/, bin/ or package-lock.json: "${src.subject}"); bench at \`${git.commit.slice(0, 12)}\`${git.dirty ? ' with uncommitted changes' : ''}.
Started ${started.toISOString()}, took ${elapsed()}. Machine: ${machine.platform}, ${machine.cpus} CPUs
(${machine.cpuModel}), ${machine.memoryGiB} GiB, **2 shared cores**: other jobs may have run (load average
${(meta.loadAverageAtStart as number[]).join(', ')} at the start, ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(
      ', ',
    )} at the end). Node ${versions.node}, kube-apiserver ${versions.kubeApiserver}, etcd ${versions.etcd}, ${versions.bind}${versions.externalDns ? `, external-dns ${versions.externalDns}` : ''}.

Command: \`npm run bench:scale -- ${(meta.argv as string[]).map((a) => (/[\s"]/.test(a) ? `'${a}'` : a)).join(' ')}\`. Targets = aliases / 10 (TestAuthServer),
A records only, target TTL ${TTL} s, one controller process (\`${controllerFlags(NAMESPACE).join(' ')}\`,
\`nameservers\` = the BIND), ApexAlias objects created before it starts. Each row ran against a
fresh kube-apiserver and BIND. --timeout ${TIMEOUT_S} s, steady-state window ${STEADY_S} s.

${table}

${plots.join('\n\n')}

## Targets (issue 12)

${vs.length ? targetTable : 'No run of this bench is one the targets name (they are about 10k and 100k aliases).'}

${notes.length ? `Not converged or failed:\n\n${notes.join('\n')}\n` : ''}
## API requests by verb and resource

\`apiserver_request_total\` summed by verb and resource (with subresource), the bench's own LISTs
taken out. A WATCH is counted when it ends, so watches still open are missing. "API requests" in
the first table and the lists below count the contender's resources (${[...CONTENDER_RESOURCES].join(', ')});
"other" sums the rest, which kube-apiserver sends itself (its identity lease every 10 s, its own
informers' LISTs and WATCHes; the controller runs without leader election). scale.json keeps every
key. The bench sends no request to the API server during the steady state.

${apiTable}

## How it is measured

- **all served s**: from starting the contender to the read that first saw every name with its
  target's address. The bench reads every zone's SOA serial from BIND's statistics channel (one
  HTTP request, no DNS query) and reads again only what changed: one AXFR of the zone (one-zone
  shape), or the apex A of each zone whose serial moved, pipelined on one TCP connection (N-zone
  shape). Between reads it waits 5× its last read's time, at least 500 ms (100 ms beside a process
  that runs to its end), so the served time is late by up to that gap, and a read is in flight at
  most a sixth of the time (scale.json: \`detail.servedReads.busySeconds\`). For raw nsupdate, sync and
  external-dns (processes that run to their end) it is their wall time, checked against the zone
  afterwards; their curves show the watcher's reads.
- **all Ready s**: one LIST of the namespace in Table form (\`kubectl get\` columns, no objects)
  counts Ready=True rows, at most every second (5× the last LIST's time).
- **CPU s / peak RSS**: user + system seconds and VmHWM of the process from /proc, until
  converged (controller; RSS peak until it stops) or until its last sample (sync and external-dns,
  sampled every 100 ms: up to 100 ms may be missed). Node start-up included.
- **steady CPU %** and **steady DNS q/min**: over ${STEADY_S} s right after converging, with the bench
  sending nothing to BIND or the API. Queries = QUERY messages BIND received + queries the
  TestAuthServer answered, per minute. Formula: **${FORMULA_TEXT}** with families = ${FAMILIES} and
  nameservers = ${NAMESERVERS}: every target looked up once per TTL and family, plus one SOA per zone
  and nameserver per TTL for verification.
- **UPDATE msgs / DNS queries to BIND**: BIND's \`opcodes.UPDATE\` and \`opcodes.QUERY\` from start
  to converged, the bench's own AXFRs and apex queries taken out. **upstream queries**: lookups
  the TestAuthServer answered (the targets).
- The raw ceiling sends the same A records (no ownership marker, no reads): ${RAW_PER_UPDATE} per UPDATE in
  one zone, one UPDATE per zone, one after another, for N zones. external-dns gets DNSEndpoints
  with the addresses written in (it cannot flatten a CNAME), \`--kube-api-qps ${PEER_QPS ?? 'default'}\`, and
  reads the zone by AXFR (\`--rfc2136-tsig-axfr\`).
- Raw numbers (every reading over time, the controller's logs summary, API requests) are in
  scale.json.
`;
  await writeFile(path.join(RESULTS, 'scale.md'), md);
  await writeFile(
    path.join(RESULTS, 'scale.json'),
    `${JSON.stringify({ ...meta, startedAt: started.toISOString(), benchSeconds: elapsed(), formula: FORMULA_TEXT, verdicts: vs.map((v) => ({ target: v.target, shape: v.run.shape, aliases: v.run.aliases, contender: v.run.contender, pass: v.pass, measured: v.measured })), runs }, null, 2)}\n`,
  );
  process.stdout.write(md);
}

// ---------------------------------------------------------------------------------------------
// Main.

async function main(): Promise<void> {
  const started = new Date();
  requireKubeBinary('etcd');
  requireKubeBinary('kube-apiserver');
  requireBinary('named', 'bind9');
  requireBinary('nsupdate', 'bind9-dnsutils');
  const peer =
    CONTENDER_LIST.includes('external-dns') && SHAPE_LIST.includes('one-zone')
      ? await discoverExternalDns()
      : undefined;
  const git = await gitCommit();
  const srcLog = await runCommand(
    'git',
    ['log', '-1', '--format=%H%n%s', '--', 'src', 'bin', 'package-lock.json'],
    {
      cwd: REPO_ROOT,
    },
  );
  const [srcHash = 'unknown', srcSubject = ''] = srcLog.stdout.trim().split('\n');
  const meta: Record<string, unknown> = {
    argv: process.argv.slice(2),
    git,
    srcCommit: { commit: srcHash, subject: srcSubject },
    machine: machineInfo(),
    loadAverageAtStart: os.loadavg().map((l) => round(l, 2)),
    versions: {
      ...(await toolVersions()),
      ...(peer ? { externalDns: await externalDnsVersion(peer.binary) } : {}),
    },
    options: {
      aliases: SIZES,
      shapes: SHAPE_LIST,
      contenders: CONTENDER_LIST,
      peerMax: PEER_MAX,
      peerKubeQps: PEER_QPS ?? 'default',
      ttl: TTL,
      steadySeconds: STEADY_S,
      timeoutSeconds: TIMEOUT_S,
      families: FAMILIES,
      nameservers: NAMESERVERS,
    },
  };
  await mkdir(RESULTS, { recursive: true });
  const work = await mkdtemp(path.join(os.tmpdir(), 'apexalias-bench-scale-'));
  const upstream = await TestAuthServer.start();
  const runs: RunResult[] = [];
  try {
    for (let t = 0; t < targetCount(SIZES.at(-1)!); t++)
      upstream.setAddresses(targetName(t), 'A', [targetAddress(t)], TTL);
    progress(
      `sizes ${SIZES.join(', ')}; shapes ${SHAPE_LIST.join(', ')}; contenders ${CONTENDER_LIST.join(', ')}; ` +
        `TTL ${TTL}s, steady ${STEADY_S}s, timeout ${TIMEOUT_S}s; results into ${RESULTS}` +
        (values['cpu-prof'] || values['heap-snapshot'] ? `; profiles into ${PROF_DIR}` : ''),
    );
    for (const n of SIZES) {
      for (const shape of SHAPE_LIST) {
        const specs = aliasSpecs(shape, n);
        const plan: Array<[Contender, () => Promise<RunResult>]> = [];
        if (CONTENDER_LIST.includes('raw')) plan.push(['raw', () => runRaw(shape, n, specs)]);
        if (shape === 'one-zone' && CONTENDER_LIST.includes('sync'))
          plan.push(['sync', () => runSyncContender(n, specs, upstream, work)]);
        if (shape === 'one-zone' && peer && n <= PEER_MAX)
          plan.push(['external-dns', () => runPeer(n, specs, peer)]);
        if (CONTENDER_LIST.includes('controller'))
          plan.push(['controller', () => runController(shape, n, specs, upstream, work)]);
        for (const [contender, run] of plan) {
          progress(`${SHAPE_LABEL[shape]}, ${n} aliases: ${CONTENDER_LABEL[contender]}`);
          const r = await run();
          runs.push(r);
          progress(
            `${SHAPE_LABEL[shape]}, ${n}, ${contender}: served ${fmt(r.servedSeconds, 2)}s` +
              (r.contender === 'controller' ? `, Ready ${fmt(r.readySeconds, 1)}s` : '') +
              `, CPU ${fmt(r.cpuSeconds, 1)}s, peak RSS ${fmt(r.peakRssBytes === null ? null : r.peakRssBytes / MIB, 0)} MiB, ` +
              `${r.bind.updates} UPDATEs${r.note ? ` (${r.note})` : ''}`,
          );
        }
      }
    }
  } finally {
    await upstream.stop();
    await rm(work, { recursive: true, force: true });
  }
  await writeReport(runs, meta, started);
  progress(`done: ${path.join(RESULTS, 'scale.md')}`);
}

await main();
