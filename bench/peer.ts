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
 * --peer-kube-qps Q (1000; `default` keeps external-dns's client-go 5 QPS / burst 10), --out DIR.
 * Writes bench/results/peer.json and bench/results/peer.md (into DIR with --out).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { TestAuthServer } from '../test/harness/authserver.ts';
import { startBind } from '../test/harness/bind.ts';
import type { BindServer } from '../test/harness/bind.ts';
import { requireKubeBinary, startKube } from '../test/harness/kube.ts';
import type { KubeCluster } from '../test/harness/kube.ts';
import { freePort } from '../test/harness/ports.ts';
import { requireBinary, runCommand } from '../test/harness/process.ts';
import type { CommandResult } from '../test/harness/process.ts';
import { bindCounters, measured } from './lib/bind-stats.ts';
import type { Measure } from './lib/bind-stats.ts';
import { outOption, positiveInteger, progressLogger, REPO_ROOT } from './lib/cli.ts';
import { writeBenchConfig } from './lib/config.ts';
import { controllerLogSummary, startBenchController } from './lib/controller.ts';
import {
  discoverExternalDns,
  dnsEndpoint as peerEndpoint,
  externalDnsFlagsForReport,
  externalDnsVersion,
  installDnsEndpointCrd,
  PEER_VERSION,
  runExternalDnsOnce,
} from './lib/external-dns.ts';
import type { ExternalDns, PeerLogSummary } from './lib/external-dns.ts';
import { rawNsupdate } from './lib/nsupdate.ts';
import { fmt, machineInfo, markdownTable, toolVersions } from './lib/report.ts';
import { watchServed } from './lib/served.ts';
import { median } from './lib/stats.ts';
import { syncOnce } from './lib/sync.ts';

const { values } = parseArgs({
  options: {
    names: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    'controller-rounds': { type: 'string' },
    'peer-kube-qps': { type: 'string', default: '1000' },
    ...outOption,
  },
});
const NAMES = positiveInteger('--names', values.names);
const ROUNDS = positiveInteger('--rounds', values.rounds);
const CTL_ROUNDS = positiveInteger('--controller-rounds', values['controller-rounds'] ?? String(ROUNDS));
const PEER_QPS =
  values['peer-kube-qps'] === 'default'
    ? undefined
    : positiveInteger('--peer-kube-qps', values['peer-kube-qps']);
if (CTL_ROUNDS > ROUNDS)
  throw new Error(`--controller-rounds (${CTL_ROUNDS}) may not exceed --rounds (${ROUNDS})`);
const TARGETS = 100;
const TTL = 300;
const RAW_PER_UPDATE = 500;
const RESULTS = path.resolve(values.out);

const benchStarted = performance.now();
const { progress, elapsed } = progressLogger('peer');

const targetName = (i: number): string => `t${i % TARGETS}.targets.test`;
const targetAddress = (i: number): string => {
  const t = i % TARGETS;
  return `10.1.${t >> 8}.${t & 255}`;
};
const names = Array.from({ length: NAMES }, (_, i) => `n${i}`);
const expected = (zone: string): Array<{ name: string; address: string }> =>
  names.map((n, i) => ({ name: `${n}.${zone}`, address: targetAddress(i) }));

const servedNow = async (bind: BindServer, zone: string): Promise<number> =>
  (await watchServed(bind, expected(zone), 0)).size;

async function must(what: string, p: Promise<CommandResult>): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

// ---------------------------------------------------------------------------------------------
// The contenders, measured against BIND's counters.

const peerRun = (kube: KubeCluster, bind: BindServer, zone: string, namespace: string) => ({
  kube,
  bind,
  zone,
  namespace,
  kubeQps: PEER_QPS,
});

async function externalDnsOnce(
  peer: ExternalDns,
  kube: KubeCluster,
  bind: BindServer,
  zone: string,
  namespace: string,
  logDir: string,
  label: string,
): Promise<Measure> {
  const run = {
    ...peerRun(kube, bind, zone, namespace),
    metricsPort: await freePort(),
    secret: bind.keys[0]!.secret,
  };
  const { measure, value } = await measured(bind, async () => ({
    value: await runExternalDnsOnce(peer.binary, run),
  }));
  await writeFile(
    path.join(logDir, `external-dns-${label}.log`),
    `${value.result.stdout}${value.result.stderr}`,
  );
  if (value.result.code !== 0)
    throw new Error(
      `external-dns (${label}) exited ${value.result.code}:\n${value.result.stderr.slice(-4000)}`,
    );
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
    records: value.log.addedRRs,
    served: await servedNow(bind, zone),
    detail: {
      ...value.log,
      observedGenerationSet: statuses.split('\n').filter((l) => l.trim() !== '').length,
    },
  };
}

async function apexaliasSync(bind: BindServer, config: string, manifests: string): Promise<Measure> {
  const { measure, value } = await measured(bind, async () => ({ value: await syncOnce(config, manifests) }));
  return { ...measure, records: value.summary.records, detail: { ...value.summary } };
}

const apexAlias = (namespace: string, zone: string, i: number): object => ({
  apiVersion: 'dns.apexalias.io/v1alpha1',
  kind: 'ApexAlias',
  metadata: { name: names[i], namespace },
  spec: { zone, name: names[i], target: targetName(i), addressFamilies: ['IPv4'] },
});

const dnsEndpoint = (namespace: string, zone: string, i: number): object =>
  peerEndpoint(namespace, names[i]!, `${names[i]}.${zone}`, targetAddress(i), TTL);

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

interface Info {
  versions: Record<string, string>;
  startupSeconds: { externalDns: number; apexalias: number };
}

interface RunResults {
  info: Info;
  results: Array<Record<string, Measure>>;
  controllerResults: Measure[];
  logDir: string;
  /** The peer's flags as run (secret, kubeconfig and metrics address left out). */
  peerFlags: string[];
}

async function runAll(peer: ExternalDns): Promise<RunResults> {
  progress(
    `${NAMES} names over ${TARGETS} targets; ${ROUNDS} round(s) of external-dns, sync and raw, ` +
      `${CTL_ROUNDS} controller round(s); peer CRD: ${peer.crd}`,
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
  try {
    progress(`kube-apiserver ready in ${(kube.startupMs / 1000).toFixed(1)}s; BIND on port ${bind.port}`);
    for (let t = 0; t < TARGETS; t++) upstream.setAddresses(targetName(t), 'A', [targetAddress(t)], TTL);
    await installDnsEndpointCrd(kube, peer.crd);

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
      await writeBenchConfig(work, `sync-r${r}.yaml`, { bind, upstream, zones: [syncZone(r)] });
      await Promise.all(
        names.map((n, i) =>
          writeFile(path.join(dir, `${n}.yaml`), JSON.stringify(apexAlias('bench', syncZone(r), i))),
        ),
      );
    }
    for (let r = 0; r < CTL_ROUNDS; r++)
      await writeBenchConfig(work, `ctl-r${r}.yaml`, { bind, upstream, zones: [ctlZone(r)] });

    const info: Info = {
      versions: { ...(await toolVersions()), externalDns: await externalDnsVersion(peer.binary) },
      startupSeconds: {
        externalDns: await startupSeconds(peer.binary, ['--version']),
        apexalias: await startupSeconds(process.execPath, ['bin/apexalias.js', '--version']),
      },
    };
    progress(`setup done; process start-up alone: ${JSON.stringify(info.startupSeconds)}`);

    for (let r = 0; r < ROUNDS; r++) {
      const round: Record<string, Measure> = {};
      round.peerCold = await externalDnsOnce(
        peer,
        kube,
        bind,
        peerZone(r),
        `peer-r${r}`,
        logDir,
        `r${r}-cold`,
      );
      progress(
        `round ${r + 1}/${ROUNDS}: external-dns cold ${round.peerCold.seconds.toFixed(2)}s, ` +
          `${round.peerCold.updates} UPDATEs, ${round.peerCold.served}/${NAMES} served`,
      );
      round.peerNoop = await externalDnsOnce(
        peer,
        kube,
        bind,
        peerZone(r),
        `peer-r${r}`,
        logDir,
        `r${r}-noop`,
      );
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

      round.raw = await rawNsupdate(
        bind,
        names.map((_, i) => ({
          zone: RAW_ZONE,
          owner: `r${r}-${i}.${RAW_ZONE}`,
          address: `10.200.${i >> 8}.${i & 255}`,
        })),
        { perMessage: RAW_PER_UPDATE, ttl: TTL },
      );
      progress(`round ${r + 1}/${ROUNDS}: raw nsupdate ${round.raw.seconds.toFixed(3)}s`);
      results.push(round);

      if (r < CTL_ROUNDS) {
        const zone = ctlZone(r);
        let updatesAtStop = 0;
        const { measure, value } = await measured(bind, async (started) => {
          const controller = await startBenchController({
            config: path.join(work, `ctl-r${r}.yaml`),
            kubeconfig: kube.kubeconfig,
            namespace: `ctl-r${r}`,
            identity: 'peer-bench',
          });
          const seen = await watchServed(bind, expected(zone), 240_000, 100);
          const endedAt = seen.size ? Math.max(...seen.values()) : performance.now();
          const before = (await bindCounters(bind)).updates;
          await controller.stop();
          updatesAtStop = (await bindCounters(bind)).updates - before;
          const { warnings, errors } = controllerLogSummary(controller);
          return {
            endedAt: endedAt < started ? started : endedAt,
            value: { served: seen.size, warnings, errors },
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
    const peerFlags = externalDnsFlagsForReport(peerRun(kube, bind, peerZone(0), 'peer-r0'));
    return { info, results, controllerResults, logDir, peerFlags };
  } finally {
    await Promise.all([kube.stop(), bind.stop(), upstream.stop()]);
    await rm(work, { recursive: true, force: true });
  }
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

async function report({ info, results, controllerResults, logDir, peerFlags }: RunResults): Promise<void> {
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
  const startup = info.startupSeconds;
  const machine = machineInfo();
  const qpsText =
    PEER_QPS === undefined
      ? "external-dns's own Kubernetes client limit (5 QPS, burst 10)"
      : `--kube-api-qps=${PEER_QPS} --kube-api-burst=${PEER_QPS * 2}`;

  const tableText = markdownTable(
    [
      'contender',
      'scenario',
      'median s (all rounds)',
      'UPDATE msgs',
      'RRs added',
      '1st UPDATE after s',
      'queries to BIND (AXFRs)',
      'served',
      'names/s',
    ],
    table.map((r) => [
      r.contender,
      r.scenario,
      `${fmt(r.medianSeconds, 3)} (${r.allSeconds.map((s) => s.toFixed(2)).join(', ')})`,
      String(r.updateMessages),
      String(r.records ?? '–'),
      fmt(r.firstUpdateSeconds),
      `${r.queries ?? '–'} (${r.axfr})`,
      String(r.served ?? '–'),
      String(r.namesPerSecond ?? '–'),
    ]),
  );

  const md = `# apexalias vs external-dns ${PEER_VERSION} (RFC 2136) vs raw BIND: ${NAMES} names over ${TARGETS} targets

Measured ${new Date().toISOString()} in one run (${elapsed()}) against one kube-apiserver ${info.versions.kubeApiserver} and one BIND (${info.versions.bind}), every contender and round in
its own zone. Machine: ${machine.platform}, ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB;
**2 shared cores**, other jobs may have been running. Node ${process.version}, apexalias ${info.versions.apexalias}, external-dns ${info.versions.externalDns}.
Rounds: ${ROUNDS} (external-dns, sync, raw), ${CTL_ROUNDS} (controller); medians shown.

${tableText}

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
          flags: peerFlags,
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
}

async function main(): Promise<void> {
  // Preconditions: every binary, before anything starts.
  const peer = await discoverExternalDns();
  requireKubeBinary('etcd');
  requireKubeBinary('kube-apiserver');
  requireBinary('kubectl', 'kubectl');
  requireBinary('named', 'bind9');
  requireBinary('nsupdate', 'bind9-dnsutils');
  await report(await runAll(peer));
}

await main();
