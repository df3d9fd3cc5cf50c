/**
 * `npm run bench`: apexalias `sync` against a real BIND, next to the raw ceiling of the same BIND
 * in the same run (nsupdate over TCP with TSIG, 1 and 500 records per UPDATE), and the same sync
 * into PowerDNS through its HTTP API (dnsupdate=no) and into Route 53's stand-in.
 *
 * Scenario: 1,000 aliases over 100 targets (A + AAAA each), all in one zone. Measured per round:
 *   cold     first sync: every name is claimed (marker + A + AAAA)
 *   no-op    second sync: nothing changed, nothing may be written
 *   change   every target moves to new addresses: 1,000 names rewritten
 * Counts come from BIND's own statistics (UPDATE messages received) and the resolver's queries.
 * The same scenario runs into Route 53's stand-in, moto (test/harness/moto.ts), counting the API
 * requests its recording proxy saw; moto's speed says nothing about Route 53's. PowerDNS's API
 * requests are counted in its own request log, by method.
 * Writes bench/results/sync-bind.json and .md (or into --out DIR). Options: --rounds N (default 3),
 * --aliases N, --targets N, --out DIR.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { TestAuthServer } from '../test/harness/authserver.ts';
import { startBind } from '../test/harness/bind.ts';
import type { BindServer } from '../test/harness/bind.ts';
import { MOTO_CREDENTIALS, startMoto } from '../test/harness/moto.ts';
import type { MotoServer } from '../test/harness/moto.ts';
import { startPowerDns } from '../test/harness/powerdns.ts';
import type { PowerDnsServer } from '../test/harness/powerdns.ts';
import { outOption, positiveInteger } from './lib/cli.ts';
import { writeBenchConfig } from './lib/config.ts';
import { rawNsupdate } from './lib/nsupdate.ts';
import { markdownTable } from './lib/report.ts';
import { median } from './lib/stats.ts';
import { syncOnce } from './lib/sync.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    aliases: { type: 'string', default: '1000' },
    targets: { type: 'string', default: '100' },
    ...outOption,
  },
});
const ROUNDS = positiveInteger('--rounds', values.rounds);
const LOAD_AT_START = loadavg()
  .map((l) => l.toFixed(1))
  .join(', ');
const ALIASES = positiveInteger('--aliases', values.aliases);
const TARGETS = positiveInteger('--targets', values.targets);
const RESULTS = resolve(values.out);
const ZONE = 'bench.test';

interface Measure {
  seconds: number;
  updates: number;
  records?: number;
  lookups?: number;
  /** API requests: Route 53's by operation, PowerDNS's by HTTP method (those rows only). */
  api?: Record<string, number>;
}

function setTargets(upstream: TestAuthServer, generation: number): void {
  for (let t = 0; t < TARGETS; t++) {
    upstream.setAddresses(`t${t}.targets.test`, 'A', [`10.${generation}.${t >> 8}.${t & 255}`], 300);
    upstream.setAddresses(`t${t}.targets.test`, 'AAAA', [`2001:db8:${generation}::${t.toString(16)}`], 300);
  }
}

async function timedSync(bind: BindServer, config: string, manifests: string): Promise<Measure> {
  const before = await bind.updateCount();
  const { seconds, summary } = await syncOnce(config, manifests, { logLevel: 'warn' });
  return {
    seconds,
    updates: (await bind.updateCount()) - before,
    records: summary.records,
    lookups: summary.lookups,
  };
}

/** The raw ceiling: nsupdate over TCP with TSIG, `perMessage` records in each UPDATE. */
async function raw(
  bind: BindServer,
  perMessage: number,
  names: number,
  generation: number,
): Promise<Measure> {
  const m = await rawNsupdate(
    bind,
    Array.from({ length: names }, (_, i) => ({
      zone: ZONE,
      owner: `raw${perMessage}-${generation}-${i}.${ZONE}`,
      address: `10.200.${i >> 8}.${i & 255}`,
    })),
    { perMessage, ttl: 300 },
  );
  return { seconds: m.seconds, updates: m.updates, records: names };
}

/** `sync` into moto, counting the API requests (by operation) that reached it. */
async function timedSyncRoute53(moto: MotoServer, config: string, manifests: string): Promise<Measure> {
  const before = moto.requests().length;
  // Credentials only from the test file; no metadata service (a non-loopback address).
  const { seconds, summary } = await syncOnce(config, manifests, {
    logLevel: 'warn',
    env: {
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
  const api: Record<string, number> = {};
  for (const q of moto.requests().slice(before)) api[q.operation] = (api[q.operation] ?? 0) + 1;
  return {
    seconds,
    updates: api.ChangeResourceRecordSets ?? 0,
    records: summary.records,
    lookups: summary.lookups,
    api,
  };
}

async function roundRoute53(): Promise<Record<string, Measure>> {
  const moto = await startMoto();
  const upstream = await TestAuthServer.start();
  const dir = await mkdtemp(join(tmpdir(), 'apexalias-bench-r53-'));
  try {
    setTargets(upstream, 1);
    await moto.createZone(ZONE);
    const config = join(dir, 'apexalias.yaml');
    await writeFile(
      config,
      `ownerId: bench
resolver: { servers: ["127.0.0.1:${upstream.endpoint.port}"], timeoutMs: 2000, attempts: 3 }
backends:
  - { name: aws, type: route53, zones: [${ZONE}], endpoint: "${moto.endpoint}", timeoutMs: 60000 }
`,
    );
    const manifests = join(dir, 'manifests');
    await mkdir(manifests);
    await writeFile(join(manifests, 'aliases.yaml'), aliasDocs().join('\n---\n'));
    const r53cold = await timedSyncRoute53(moto, config, manifests);
    const r53noop = await timedSyncRoute53(moto, config, manifests);
    setTargets(upstream, 2);
    const r53change = await timedSyncRoute53(moto, config, manifests);
    return { r53cold, r53noop, r53change };
  } finally {
    await moto.stop();
    await upstream.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function timedSyncPowerDns(pdns: PowerDnsServer, config: string, manifests: string): Promise<Measure> {
  // PowerDNS logs a request just after answering it: count once its log has settled.
  const before = (await pdns.settledApiRequests()).length;
  const { seconds, summary } = await syncOnce(config, manifests, { logLevel: 'warn' });
  const api: Record<string, number> = {};
  for (const l of (await pdns.settledApiRequests(300)).slice(before))
    api[l.method] = (api[l.method] ?? 0) + 1;
  return { seconds, updates: api.PATCH ?? 0, records: summary.records, lookups: summary.lookups, api };
}

/** The same three syncs into PowerDNS through its HTTP API, with its dynamic updates off. */
async function roundPowerDns(): Promise<Record<string, Measure>> {
  const pdns = await startPowerDns({ zones: [{ name: ZONE }], allowUpdate: 'none', soaEditApi: 'INCREASE' });
  const upstream = await TestAuthServer.start();
  const dir = await mkdtemp(join(tmpdir(), 'apexalias-bench-pdns-'));
  try {
    setTargets(upstream, 1);
    const config = join(dir, 'apexalias.yaml');
    await writeFile(
      config,
      `ownerId: bench
resolver: { servers: ["127.0.0.1:${upstream.endpoint.port}"], timeoutMs: 2000, attempts: 3 }
backends:
  - { name: pdns, type: powerdns, url: "${pdns.apiUrl}", zones: [${ZONE}], timeoutMs: 30000,
      apiKeyFile: "${pdns.apiKeyFile}" }
`,
    );
    const manifests = join(dir, 'manifests');
    await mkdir(manifests);
    await writeFile(join(manifests, 'aliases.yaml'), aliasDocs().join('\n---\n'));
    const pdnsCold = await timedSyncPowerDns(pdns, config, manifests);
    const pdnsNoop = await timedSyncPowerDns(pdns, config, manifests);
    setTargets(upstream, 2);
    const pdnsChange = await timedSyncPowerDns(pdns, config, manifests);
    return { pdnsCold, pdnsNoop, pdnsChange };
  } finally {
    await pdns.stop();
    await upstream.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function aliasDocs(): string[] {
  return Array.from({ length: ALIASES }, (_, i) =>
    JSON.stringify({
      apiVersion: 'dns.apexalias.io/v1alpha1',
      kind: 'ApexAlias',
      metadata: { name: `a${i}`, namespace: 'bench' },
      spec: { zone: ZONE, name: `a${i}`, target: `t${i % TARGETS}.targets.test` },
    }),
  );
}

async function round(index: number): Promise<Record<string, Measure>> {
  const bind = await startBind({ zones: [{ name: ZONE }] });
  const upstream = await TestAuthServer.start();
  const dir = await mkdtemp(join(tmpdir(), 'apexalias-bench-'));
  try {
    setTargets(upstream, 1);
    const config = await writeBenchConfig(dir, 'apexalias.yaml', { bind, upstream, zones: [ZONE] });
    const manifests = join(dir, 'manifests');
    await mkdir(manifests);
    await writeFile(join(manifests, 'aliases.yaml'), aliasDocs().join('\n---\n'));

    const cold = await timedSync(bind, config, manifests);
    const noop = await timedSync(bind, config, manifests);
    setTargets(upstream, 2);
    const change = await timedSync(bind, config, manifests);
    const raw1 = await raw(bind, 1, 500, index);
    const raw500 = await raw(bind, 500, ALIASES, index);
    process.stderr.write(`round ${index + 1}/${ROUNDS} done\n`);
    return { cold, noop, change, raw1, raw500, ...(await roundPowerDns()), ...(await roundRoute53()) };
  } finally {
    await bind.stop();
    await upstream.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const rounds: Array<Record<string, Measure>> = [];
for (let i = 0; i < ROUNDS; i++) rounds.push(await round(i));

const rows = [
  ['apexalias sync, cold (claim 1,000 names: marker + A + AAAA)', 'cold'],
  ['apexalias sync, no-op (nothing changed)', 'noop'],
  ['apexalias sync, 100 targets moved (1,000 names rewritten)', 'change'],
  ['raw ceiling: nsupdate, 1 record per UPDATE (500 names)', 'raw1'],
  ['raw ceiling: nsupdate, 500 records per UPDATE (1,000 names)', 'raw500'],
  ['PowerDNS HTTP API, cold (claim 1,000 names: marker + A + AAAA)', 'pdnsCold'],
  ['PowerDNS HTTP API, no-op (nothing changed)', 'pdnsNoop'],
  ['PowerDNS HTTP API, 100 targets moved (1,000 names rewritten)', 'pdnsChange'],
  ['route53 into moto, cold (claim 1,000 names)', 'r53cold'],
  ['route53 into moto, no-op (nothing changed)', 'r53noop'],
  ['route53 into moto, 100 targets moved (1,000 names rewritten)', 'r53change'],
] as const;

const table = rows.map(([label, key]) => {
  const ms = rounds.map((r) => r[key]!);
  const seconds = median(ms.map((m) => m.seconds));
  const updates = median(ms.map((m) => m.updates));
  const records = ms[0]!.records;
  return {
    scenario: label,
    key,
    medianSeconds: Number(seconds.toFixed(3)),
    allSeconds: ms.map((m) => Number(m.seconds.toFixed(3))),
    updateMessages: updates,
    records,
    lookups: ms[0]!.lookups,
    recordsPerSecond: records ? Math.round(records / seconds) : undefined,
    apiRequests: ms[0]!.api,
  };
});

const change = table.find((r) => r.key === 'change')!;
const perThousand = (change.updateMessages * 1000) / ALIASES;
const syncTable = markdownTable(
  ['scenario', 'median s (all)', 'UPDATE msgs', 'RRs sent (incl. prerequisites)', 'lookups', 'RRs/s'],
  table.map((r) => [
    r.scenario,
    `${r.medianSeconds} (${r.allSeconds.join(', ')})`,
    String(r.updateMessages),
    String(r.records ?? ''),
    String(r.lookups ?? ''),
    String(r.recordsPerSecond ?? ''),
  ]),
);
const powerDnsTable = markdownTable(
  ['scenario', 'GET', 'PATCH'],
  table
    .filter((r) => r.key.startsWith('pdns'))
    .map((r) => [r.scenario, String(r.apiRequests?.GET ?? 0), String(r.apiRequests?.PATCH ?? 0)]),
);
const route53Table = markdownTable(
  ['scenario', 'ListHostedZonesByName', 'ListResourceRecordSets', 'ChangeResourceRecordSets'],
  table
    .filter((r) => r.key.startsWith('r53'))
    .map((r) => [
      r.scenario,
      String(r.apiRequests!.ListHostedZonesByName ?? 0),
      String(r.apiRequests!.ListResourceRecordSets ?? 0),
      String(r.apiRequests!.ChangeResourceRecordSets ?? 0),
    ]),
);
const md = `# sync against BIND, PowerDNS and Route 53 (moto): ${ALIASES} aliases over ${TARGETS} targets, ${ROUNDS} rounds

Measured ${new Date().toISOString()} on ${process.platform}/${process.arch}, Node ${process.version}
(load average ${LOAD_AT_START} when it started: other work on the machine slows every row).
Wall times include starting the CLI process (Node start-up, config and manifest loading).

${syncTable}

UPDATE messages per 1,000 changed names: **${perThousand}**. For the PowerDNS rows the UPDATE
column counts PATCH requests, for the route53 rows ChangeResourceRecordSets batches, and "RRs sent"
the records apexalias reports (for PowerDNS: records written plus RRsets deleted).

PowerDNS 4.7.3 API requests per sync (gsqlite3, dnsupdate=no; counted in PowerDNS's own request
log). A read of more than 50 names is one GET of the whole zone; each PATCH is checked by a read
right before it and read back right after (the API has no prerequisites), and the engine reads the
names back once more:

${powerDnsTable}

Route 53 API requests per sync (1,000 names; ListHostedZonesByName once, then the zone's pages):

${route53Table}

moto is a local Python emulator: its times say nothing about Route 53's, which allows five
requests a second per account and takes its own time to apply each batch. The request counts hold
for Route 53 too.
The peer (external-dns 0.21 over RFC 2136) needs a kube-apiserver for its CRD source; it joins
this table with the controller-mode benchmark.
`;
await mkdir(RESULTS, { recursive: true });
await writeFile(
  join(RESULTS, 'sync-bind.json'),
  JSON.stringify({ aliases: ALIASES, targets: TARGETS, rounds: ROUNDS, perThousand, table }, null, 2) + '\n',
);
await writeFile(join(RESULTS, 'sync-bind.md'), md);
process.stdout.write(md);
