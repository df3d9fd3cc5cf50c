/**
 * `npm run bench:controller`: the controller against a real kube-apiserver and a real BIND.
 *
 *   latency   100 aliases applied one at a time with kubectl; for each, the time from the start of
 *             `kubectl apply` to its A record being served by BIND (median and p99)
 *   converge  1,000 aliases (over 100 targets) created while no controller runs; the time from
 *             starting the controller process to all 1,000 names being served, and the UPDATE
 *             messages BIND received for them
 *
 * Writes bench/results/controller-bind.json and .md (into DIR with --out). Options: --latency N,
 * --converge N, --out DIR.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestAuthServer } from '../test/harness/authserver.ts';
import { startBind } from '../test/harness/bind.ts';
import { startController } from '../test/harness/controller.ts';
import { startKube } from '../test/harness/kube.ts';
import { outOption, positiveInteger } from './lib/cli.ts';
import { writeBenchConfig } from './lib/config.ts';
import { markdownTable } from './lib/report.ts';
import { watchServed } from './lib/served.ts';
import { percentile } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    latency: { type: 'string', default: '100' },
    converge: { type: 'string', default: '1000' },
    ...outOption,
  },
});
const LATENCY_N = positiveInteger('--latency', values.latency);
const CONVERGE_N = positiveInteger('--converge', values.converge);
const RESULTS = resolve(values.out);
const ZONE = 'bench.test';
const TARGETS = 100;

const aliasObject = (name: string, target: string): object => ({
  apiVersion: 'dns.apexalias.io/v1alpha1',
  kind: 'ApexAlias',
  metadata: { name, namespace: 'default' },
  spec: { zone: ZONE, name, target, addressFamilies: ['IPv4'] },
});
const alias = (name: string, target: string): string => JSON.stringify(aliasObject(name, target));
/** Any A record counts as served. */
const fqdns = (names: string[]): Array<{ name: string }> => names.map((n) => ({ name: `${n}.${ZONE}` }));

const kube = await startKube();
const bind = await startBind({ zones: [{ name: ZONE }] });
const upstream = await TestAuthServer.start();
const dir = await mkdtemp(join(tmpdir(), 'apexalias-bench-ctl-'));
try {
  for (let t = 0; t < TARGETS; t++)
    upstream.setAddresses(`t${t}.targets.test`, 'A', [`10.1.${t >> 8}.${t & 255}`], 300);
  const config = await writeBenchConfig(dir, 'config.yaml', { bind, upstream, zones: [ZONE] });

  // 1. Latency: one alias at a time, controller already running and synced.
  let controller = startController({
    config,
    kubeconfig: kube.kubeconfig,
    identity: 'bench',
    extra: ['--no-leader-elect'],
  });
  await controller.port();
  await sleep(1000);
  const latencies: number[] = [];
  for (let i = 0; i < LATENCY_N; i++) {
    const name = `lat${i}`;
    const started = performance.now();
    const applied = await kube.kubectl(['apply', '-f', '-'], {
      input: alias(name, `t${i % TARGETS}.targets.test`),
    });
    if (applied.code !== 0) throw new Error(applied.stderr);
    const seen = await watchServed(bind, fqdns([name]), 30_000);
    if (!seen.has(0)) throw new Error(`${name} was never served`);
    latencies.push(Math.round(seen.get(0)! - started));
  }
  await controller.stop();

  // 2. Convergence: many aliases exist before the controller starts.
  const names = Array.from({ length: CONVERGE_N }, (_, i) => `conv${i}`);
  const manifest = JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: names.map((n, i) => aliasObject(n, `t${i % TARGETS}.targets.test`)),
  });
  const created = await kube.kubectl(['apply', '-f', '-'], { input: manifest });
  if (created.code !== 0) throw new Error(created.stderr);
  const updatesBefore = await bind.updateCount();
  const started = performance.now();
  controller = startController({
    config,
    kubeconfig: kube.kubeconfig,
    identity: 'bench',
    extra: ['--no-leader-elect'],
  });
  const seen = await watchServed(bind, fqdns(names), 300_000);
  const convergeSeconds = (Math.max(...seen.values()) - started) / 1000;
  const updates = (await bind.updateCount()) - updatesBefore;
  const scrape = await (await fetch(`http://127.0.0.1:${await controller.port()}/metrics`)).text();
  await mkdir(RESULTS, { recursive: true });
  await writeFile(join(RESULTS, 'controller-metrics.txt'), scrape);
  await controller.stop();
  if (seen.size !== names.length) throw new Error(`only ${seen.size}/${names.length} names converged`);

  const result = {
    measuredAt: new Date().toISOString(),
    node: process.version,
    latency: {
      aliases: LATENCY_N,
      medianMs: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: Math.max(...latencies),
    },
    converge: { aliases: CONVERGE_N, targets: TARGETS, seconds: convergeSeconds, updateMessages: updates },
  };
  const md = `# Controller against kube-apiserver v1.37.2 and BIND 9

Measured ${result.measuredAt}, Node ${result.node}, on the shared 2-core machine.

${markdownTable(
  ['measurement', 'value'],
  [
    [`apply → served, ${LATENCY_N} aliases one at a time: median`, `${result.latency.medianMs} ms`],
    ['apply → served: p99', `${result.latency.p99Ms} ms`],
    ['apply → served: max', `${result.latency.maxMs} ms`],
    [
      `${CONVERGE_N} aliases (${TARGETS} targets) from controller start to all served`,
      `${convergeSeconds.toFixed(2)} s`,
    ],
    [`UPDATE messages BIND received for those ${CONVERGE_N} first claims`, String(updates)],
  ],
)}

Latency starts before \`kubectl apply\` (its process start included) and ends when a UDP query to
BIND returns the A record (polled every ~10 ms). Convergence includes Node start-up, the
informer's LIST, resolution of ${TARGETS} targets and the writes.
`;
  await writeFile(join(RESULTS, 'controller-bind.json'), JSON.stringify(result, null, 2) + '\n');
  await writeFile(join(RESULTS, 'controller-bind.md'), md);
  process.stdout.write(md);
} finally {
  await Promise.all([kube.stop(), bind.stop(), upstream.stop()]);
  await rm(dir, { recursive: true, force: true });
}
