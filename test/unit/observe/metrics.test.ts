import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  createMetrics,
  DNSSEC_RESULTS,
  METRIC_PREFIX,
  RECONCILE_RESULTS,
  RESOLVE_ERROR_REASONS,
} from '../../../src/observe/metrics.ts';
import type { Metrics } from '../../../src/observe/metrics.ts';

/** Every apexalias metric (process metrics aside) and its Prometheus type. */
const EXPECTED: Record<string, 'counter' | 'gauge' | 'histogram'> = {
  apexalias_reconcile_total: 'counter',
  apexalias_reconcile_duration_seconds: 'histogram',
  apexalias_resolve_duration_seconds: 'histogram',
  apexalias_resolve_errors_total: 'counter',
  apexalias_dnssec_validations_total: 'counter',
  apexalias_resolver_cache_hits_total: 'counter',
  apexalias_resolver_cache_misses_total: 'counter',
  apexalias_resolver_queries_total: 'counter',
  apexalias_target_drift_total: 'counter',
  apexalias_api_writes_total: 'counter',
  apexalias_orphans_removed_total: 'counter',
  apexalias_events_dropped_total: 'counter',
  apexalias_zone_drift_detected_total: 'counter',
  apexalias_zone_drift: 'gauge',
  apexalias_zone_drift_nameserver: 'gauge',
  apexalias_out_of_sync_seconds: 'gauge',
  apexalias_records_managed: 'gauge',
  apexalias_backend_request_duration_seconds: 'histogram',
  apexalias_backend_errors_total: 'counter',
  apexalias_update_messages_total: 'counter',
  apexalias_update_records_per_message: 'histogram',
  apexalias_workqueue_depth: 'gauge',
  apexalias_workqueue_queue_duration_seconds: 'histogram',
  apexalias_workqueue_work_duration_seconds: 'histogram',
  apexalias_workqueue_retries_total: 'counter',
  apexalias_leader: 'gauge',
  apexalias_last_sync_timestamp_seconds: 'gauge',
  apexalias_build_info: 'gauge',
  apexalias_aliases: 'gauge',
};

function bare(now: () => number = Date.now): Metrics {
  return createMetrics(new Registry(), { defaultMetrics: false, version: '9.9.9', now });
}

/** The samples of one metric, as `{labels, value}` (histograms: their `_count` samples). */
async function samples(
  m: Metrics,
  name: string,
): Promise<Array<{ labels: Record<string, string | number>; value: number }>> {
  const metric = m.registry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not registered`);
  const { values } = await metric.get();
  return values
    .filter((v) => {
      // Histograms report _bucket, _sum and _count samples; keep _count (the observation count).
      const metricName = (v as { metricName?: string }).metricName;
      return metricName === undefined || metricName.endsWith('_count');
    })
    .map((v) => ({ labels: { ...v.labels } as Record<string, string | number>, value: v.value }));
}

async function value(
  m: Metrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const found = (await samples(m, name)).find((s) =>
    Object.entries(labels).every(([k, v]) => String(s.labels[k]) === v),
  );
  return found?.value;
}

describe('createMetrics', () => {
  it('registers every metric of issue 7 with its type, and nothing outside the prefix', async () => {
    const m = bare();
    const json = await m.registry.getMetricsAsJSON();
    const types = Object.fromEntries(json.map((j) => [j.name, String(j.type)]));
    expect(types).toEqual(EXPECTED);
    for (const name of Object.keys(types)) {
      expect(name.startsWith(METRIC_PREFIX)).toBe(true);
      if (types[name] === 'counter') expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
    }
  });

  it('exports the process and Node.js metrics under their standard names, without the _total gauges promtool rejects', async () => {
    const m = createMetrics();
    const json = await m.registry.getMetricsAsJSON();
    const names = json.map((j) => j.name);
    expect(names).toContain('process_cpu_seconds_total');
    expect(names).toContain('process_resident_memory_bytes');
    expect(names).toContain('process_start_time_seconds');
    expect(names).toContain('nodejs_eventloop_lag_seconds');
    expect(names).toContain('nodejs_heap_size_used_bytes');
    expect(names).toContain('nodejs_active_handles');
    expect(names).not.toContain('nodejs_active_handles_total');
    for (const j of json) {
      expect(j.name).toMatch(/^(apexalias|process|nodejs)_/);
      expect(
        j.name.startsWith(`${METRIC_PREFIX}process_`) || j.name.startsWith(`${METRIC_PREFIX}nodejs_`),
      ).toBe(false);
      if (String(j.type) !== 'counter') expect(j.name).not.toMatch(/_total$/);
    }
  });

  it('starts every reconcile result and resolve error reason at 0', async () => {
    const m = bare();
    for (const result of RECONCILE_RESULTS)
      expect(await value(m, 'apexalias_reconcile_total', { result })).toBe(0);
    for (const reason of RESOLVE_ERROR_REASONS) {
      expect(await value(m, 'apexalias_resolve_errors_total', { reason })).toBe(0);
    }
    expect(await value(m, 'apexalias_aliases', { state: 'ready' })).toBe(0);
    expect(await value(m, 'apexalias_aliases', { state: 'not_ready' })).toBe(0);
    expect(await value(m, 'apexalias_leader')).toBe(0);
  });

  it('stamps build_info with the version and the Node.js version', async () => {
    const m = bare();
    expect(await value(m, 'apexalias_build_info', { version: '9.9.9', node_version: process.version })).toBe(
      1,
    );
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const fromPackage = createMetrics(new Registry(), { defaultMetrics: false });
    expect(await value(fromPackage, 'apexalias_build_info', { version: pkg.version })).toBe(1);
  });

  it('counts the DNSSEC state of a lookup by result, and nothing for dnssec: off or other failures', async () => {
    const m = bare();
    for (const result of DNSSEC_RESULTS) {
      expect(await value(m, 'apexalias_dnssec_validations_total', { result })).toBe(0);
    }
    const chain = ['www.signed.test'];
    m.countDnssecValidation({ kind: 'addresses', addresses: ['192.0.2.1'], ttl: 60, chain, validated: true });
    m.countDnssecValidation({ kind: 'missing', reason: 'nxdomain', ttl: 60, chain, validated: true });
    m.countDnssecValidation({
      kind: 'addresses',
      addresses: ['192.0.2.1'],
      ttl: 60,
      chain,
      validated: false,
    });
    m.countDnssecValidation({ kind: 'failed', reason: 'dnssec-unvalidated', message: '', chain });
    m.countDnssecValidation({ kind: 'failed', reason: 'dnssec-bogus', message: '', chain });
    m.countDnssecValidation({ kind: 'addresses', addresses: ['192.0.2.1'], ttl: 60, chain });
    m.countDnssecValidation({ kind: 'failed', reason: 'timeout', message: '', chain });
    expect(await value(m, 'apexalias_dnssec_validations_total', { result: 'validated' })).toBe(2);
    expect(await value(m, 'apexalias_dnssec_validations_total', { result: 'unvalidated' })).toBe(2);
    expect(await value(m, 'apexalias_dnssec_validations_total', { result: 'bogus' })).toBe(1);
    expect(await samples(m, 'apexalias_dnssec_validations_total')).toHaveLength(DNSSEC_RESULTS.length);
    m.countResolveError('dnssec-bogus');
    expect(await value(m, 'apexalias_resolve_errors_total', { reason: 'dnssec_bogus' })).toBe(1);
  });

  it("maps the resolver's reasons onto the fixed label set", async () => {
    const m = bare();
    m.observeResolve(0.01, 'chain-too-long');
    m.observeResolve(0.02);
    m.countResolveError('servfail');
    m.countResolveError('something-new' as never);
    expect(await value(m, 'apexalias_resolve_errors_total', { reason: 'chain_too_long' })).toBe(1);
    expect(await value(m, 'apexalias_resolve_errors_total', { reason: 'servfail' })).toBe(1);
    expect(await value(m, 'apexalias_resolve_errors_total', { reason: 'rcode' })).toBe(1);
    expect(await value(m, 'apexalias_resolve_duration_seconds')).toBe(2);
    expect(await samples(m, 'apexalias_resolve_errors_total')).toHaveLength(RESOLVE_ERROR_REASONS.length);
  });

  it('counts backend errors by rcode, not NOERROR, and keeps odd rcodes out of the label', async () => {
    const m = bare();
    m.observeBackend('primary', 'apply', 0.05);
    m.observeBackend('primary', 'apply', 0.05, 'NOERROR');
    m.observeBackend('primary', 'apply', 0.05, 'YXRRSET');
    m.observeBackend('primary', 'read', 1.5, 'ECONNREFUSED');
    m.observeBackend('primary', 'read', 1.5, 'a message with spaces');
    expect(await value(m, 'apexalias_backend_request_duration_seconds', { operation: 'apply' })).toBe(3);
    const errors = await samples(m, 'apexalias_backend_errors_total');
    expect(errors.map((e) => `${e.labels.operation}:${e.labels.rcode}=${e.value}`).sort()).toEqual([
      'apply:YXRRSET=1',
      'read:ECONNREFUSED=1',
      'read:OTHER=1',
    ]);
  });

  it('counts UPDATE messages per backend and observes records per message', async () => {
    const m = bare();
    m.observeUpdate('primary', 3);
    m.observeUpdate('primary', 1000);
    expect(await value(m, 'apexalias_update_messages_total', { backend: 'primary' })).toBe(2);
    const text = await m.registry.getSingleMetricAsString('apexalias_update_records_per_message');
    expect(text).toContain('apexalias_update_records_per_message_bucket{le="1"} 0');
    expect(text).toContain('apexalias_update_records_per_message_bucket{le="5"} 1');
    expect(text).toContain('apexalias_update_records_per_message_bucket{le="1000"} 2');
  });

  it('names families as the spec does, whether given IPv4 or A', async () => {
    const m = bare();
    m.setZoneDrift('web', 'apex', 'A', true);
    m.setZoneDrift('web', 'apex', 'IPv6', false);
    expect(await value(m, 'apexalias_zone_drift', { family: 'IPv4' })).toBe(1);
    expect(await value(m, 'apexalias_zone_drift', { family: 'IPv6' })).toBe(0);
    expect(await samples(m, 'apexalias_zone_drift')).toHaveLength(2);
  });

  it('replaces the per-nameserver drift of an alias and family, dropping nameservers no longer listed', async () => {
    const m = bare();
    m.setNameserverDrift(
      'web',
      'apex',
      'IPv4',
      new Map([
        ['ns1.example.com.', false],
        ['ns2.example.com.', true],
      ]),
    );
    m.setNameserverDrift('web', 'apex', 'IPv6', { 'ns1.example.com.': false });
    m.setNameserverDrift('web', 'other', 'IPv4', { 'ns2.example.com.': true });
    m.setNameserverDrift('web', 'apex', 'IPv4', { 'ns1.example.com.': false, 'ns3.example.com.': true });
    const series = (await samples(m, 'apexalias_zone_drift_nameserver')).map(
      (s) => `${s.labels.alias}/${s.labels.family}/${s.labels.nameserver}=${s.value}`,
    );
    expect(series.sort()).toEqual([
      'apex/IPv4/ns1.example.com.=0',
      'apex/IPv4/ns3.example.com.=1',
      'apex/IPv6/ns1.example.com.=0',
      'other/IPv4/ns2.example.com.=1',
    ]);
  });

  it('grows out_of_sync_seconds from the first time an alias went out of sync until it is back', async () => {
    let t = 1_000_000;
    const m = bare(() => t);
    m.setInSync('web', 'apex', false);
    t += 5_000;
    m.setInSync('web', 'apex', false); // still out: the clock keeps its start
    t += 5_000;
    expect(await value(m, 'apexalias_out_of_sync_seconds', { alias: 'apex' })).toBe(10);
    t += 2_500;
    expect(await value(m, 'apexalias_out_of_sync_seconds', { alias: 'apex' })).toBe(12.5);
    m.setInSync('web', 'apex', true);
    t += 60_000;
    expect(await value(m, 'apexalias_out_of_sync_seconds', { alias: 'apex' })).toBe(0);
  });

  it('stamps the last sync in seconds', async () => {
    const m = bare(() => 1_700_000_000_500);
    m.markSynced('web', 'apex');
    m.markSynced('web', 'b', 1_600_000_000_000);
    expect(await value(m, 'apexalias_last_sync_timestamp_seconds', { alias: 'apex' })).toBe(1_700_000_000.5);
    expect(await value(m, 'apexalias_last_sync_timestamp_seconds', { alias: 'b' })).toBe(1_600_000_000);
  });

  it('forgetAlias removes every series of that alias and only those', async () => {
    let t = 0;
    const m = bare(() => t);
    for (const alias of ['apex', 'keep']) {
      m.setZoneDrift('web', alias, 'IPv4', true);
      m.setZoneDrift('web', alias, 'IPv6', false);
      m.setNameserverDrift('web', alias, 'IPv4', { 'ns1.': true, 'ns2.': false });
      m.setInSync('web', alias, false);
      m.markSynced('web', alias);
    }
    // Same alias name in another namespace is another alias.
    m.setZoneDrift('other', 'apex', 'IPv4', true);
    m.setNameserverDrift('web', 'apex', 'IPv6', { 'ns9.': true });
    t = 5_000;

    m.forgetAlias('web', 'apex');
    t = 10_000;

    const perAlias = [
      'apexalias_zone_drift',
      'apexalias_zone_drift_nameserver',
      'apexalias_out_of_sync_seconds',
      'apexalias_last_sync_timestamp_seconds',
    ];
    const left: string[] = [];
    for (const name of perAlias) {
      for (const s of await samples(m, name)) left.push(`${name}:${s.labels.namespace}/${s.labels.alias}`);
    }
    expect(left.filter((l) => l.endsWith(':web/apex'))).toEqual([]);
    expect(left).toContain('apexalias_zone_drift:web/keep');
    expect(left).toContain('apexalias_zone_drift:other/apex');
    expect(left).toContain('apexalias_zone_drift_nameserver:web/keep');
    expect(left).toContain('apexalias_out_of_sync_seconds:web/keep');
    expect(left).toContain('apexalias_last_sync_timestamp_seconds:web/keep');
    // The out-of-sync clock of the forgotten alias does not bring its series back at scrape time.
    expect(await m.registry.metrics()).not.toMatch(/alias="apex",namespace="web"/);
  });

  it('replaces records_managed as a whole, summing repeated zone and family', async () => {
    const m = bare();
    m.setRecordsManaged([
      { zone: 'example.com.', family: 'A', records: 2 },
      { zone: 'example.com.', family: 'IPv4', records: 1 },
      { zone: 'example.org.', family: 'AAAA', records: 4 },
    ]);
    m.setRecordsManaged([
      { zone: 'example.com.', family: 'A', records: 2 },
      { zone: 'example.com.', family: 'IPv4', records: 1 },
    ]);
    const series = (await samples(m, 'apexalias_records_managed')).map(
      (s) => `${s.labels.zone}/${s.labels.family}=${s.value}`,
    );
    expect(series).toEqual(['example.com./IPv4=3']);
  });

  it("reads the resolver's cumulative stats at scrape time, and continues across a new resolver", async () => {
    const m = bare();
    const stats = { queries: 3, cacheHits: 5, cacheMisses: 2 };
    m.bindResolverStats(stats);
    expect(await value(m, 'apexalias_resolver_queries_total')).toBe(3);
    stats.queries = 7;
    stats.cacheHits = 6;
    m.bindResolverStats(stats); // same resolver again: no double count
    expect(await value(m, 'apexalias_resolver_queries_total')).toBe(7);
    expect(await value(m, 'apexalias_resolver_cache_hits_total')).toBe(6);
    expect(await value(m, 'apexalias_resolver_cache_misses_total')).toBe(2);
    m.bindResolverStats({ queries: 1, cacheHits: 0, cacheMisses: 1 });
    expect(await value(m, 'apexalias_resolver_queries_total')).toBe(8);
    expect(await value(m, 'apexalias_resolver_cache_misses_total')).toBe(3);
  });

  it('sets reconcile, leader, alias counts and workqueue metrics through the helpers and handles', async () => {
    const m = bare();
    m.observeReconcile('success', 0.2);
    m.observeReconcile('requeue', 0.1);
    m.setLeader(true);
    m.setAliasCounts(7, 2);
    m.countTargetDrift();
    m.workqueueDepth.set(4);
    m.workqueueRetries.inc();
    expect(await value(m, 'apexalias_reconcile_total', { result: 'success' })).toBe(1);
    expect(await value(m, 'apexalias_reconcile_duration_seconds')).toBe(2);
    expect(await value(m, 'apexalias_leader')).toBe(1);
    expect(await value(m, 'apexalias_aliases', { state: 'ready' })).toBe(7);
    expect(await value(m, 'apexalias_aliases', { state: 'not_ready' })).toBe(2);
    expect(await value(m, 'apexalias_target_drift_total')).toBe(1);
    expect(await value(m, 'apexalias_workqueue_depth')).toBe(4);
    expect(await value(m, 'apexalias_workqueue_retries_total')).toBe(1);
  });

  it('is documented: docs/metrics.md names every metric', () => {
    const doc = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
    for (const name of Object.keys(EXPECTED)) expect(doc, name).toContain(`\`${name}\``);
  });
});
