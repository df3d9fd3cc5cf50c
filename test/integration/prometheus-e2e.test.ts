/**
 * The proof of issue 7 through a real Prometheus: one controller against a real kube-apiserver,
 * driving a BIND primary with a NOTIFYed secondary and a stale one, scraped every second by
 * Debian's Prometheus. Every assertion about metrics is a PromQL query on that Prometheus.
 *
 * With APEXALIAS_RENDER_PANELS=1 the test also writes the tracked artifacts of the run:
 * bench/results/drift-e2e.json (edit → metric and edit → repair times), docs/img/e2e-panels.json
 * (the panels' data) and docs/img/*.svg (scripts/render-panels.ts). Without it, the times are only
 * printed, so CI never modifies tracked files.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard } from '../../dashboards/apexalias.ts';
import { dashboardPanels, dashboardQueries, panelTargets } from '../../dashboards/queries.ts';
import type { DumpPanel, PanelDump } from '../../scripts/render-panels.ts';
import { renderPanels, writeDump } from '../../scripts/render-panels.ts';
import type { ApexAliasSpecInput } from '../../src/api/schema.ts';
import type { TestAuthServer } from '../harness/authserver.ts';
import type { BindServer } from '../harness/bind.ts';
import { startController, waitFor } from '../harness/controller.ts';
import type { ControllerProcess } from '../harness/controller.ts';
import {
  applyAlias,
  startKubeAndBindSecondaries,
  writeControllerConfig,
  writeDebugLogs,
} from '../harness/controller-env.ts';
import type { KubeCluster } from '../harness/kube.ts';
import { requireBinary, runCommand } from '../harness/process.ts';
import { startPrometheus } from '../harness/prometheus.ts';
import type { PrometheusServer } from '../harness/prometheus.ts';

const ZONE = 'example.test';
/** A zone the `refusing` backend is configured for but BIND does not serve: reads get REFUSED. */
const REFUSED_ZONE = 'refused.test';
const RENDER = process.env.APEXALIAS_RENDER_PANELS === '1';
const REPO = resolve(import.meta.dirname, '..', '..');
/** The alias the dashboard's `$alias` variable selects. */
const DASHBOARD_ALIAS = 'edited';

const nowSec = (): number => Date.now() / 1000;

/** {@link waitFor}, by default every 50 ms, with the moment the check held. */
async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  everyMs = 50,
): Promise<{ value: T; at: number }> {
  const value = await waitFor(what, check, { everyMs });
  return { value, at: Date.now() };
}

describe('a real Prometheus scraping the controller (issue 7 proof)', () => {
  let kube: KubeCluster;
  let primary: BindServer;
  let fresh: BindServer;
  let stale: BindServer;
  let upstream: TestAuthServer;
  let controller: ControllerProcess;
  let prom: PrometheusServer;
  let dir: string;
  let metricsPort: number;
  /** Unix seconds when Prometheus started: the start of every range query. */
  let promStart: number;
  /** Unix seconds just before the first successful scrape: where the rendered panels start. */
  let firstScrape: number;
  const marks: Array<{ at: number; label: string }> = [];
  const timings: Record<string, number> = {};

  const nameserver = (s: BindServer): string => `127.0.0.1:${s.port}`;
  const apply = (name: string, spec: Partial<ApexAliasSpecInput>): Promise<void> =>
    applyAlias(kube, name, { zone: ZONE, name, target: 'lb.demo.test', addressFamilies: ['IPv4'], ...spec });
  /** The value of a single-series instant query, or undefined when it returns nothing. */
  const value = async (expr: string): Promise<string | undefined> => {
    const result = await prom.query(expr);
    if (result.length > 1) throw new Error(`${expr} returned ${result.length} series`);
    return result[0]?.value[1];
  };
  const served = async (name: string): Promise<string> =>
    (await primary.dig(`${name}.${ZONE}`, 'A')).answers.join();

  /**
   * Dumps a few panels' data over the run (from the first scrape on) into docs/img/e2e-panels.json
   * and draws them with scripts/render-panels.ts. Series are labelled by the panel's legend format.
   */
  const renderArtifacts = async (dashboard: object, end: number): Promise<void> => {
    // Grafana's $__rate_interval for a 1 s scrape interval over a short range: 4 × scrape interval.
    const rateInterval = '4s';
    const placed = dashboardPanels(dashboard);
    const roles = new Map([
      [nameserver(primary), 'primary'],
      [nameserver(fresh), 'NOTIFYed secondary'],
      [nameserver(stale), 'stale secondary'],
    ]);
    const pick = async (
      title: string,
      file: string,
      caption: string,
      aliases?: string[],
    ): Promise<DumpPanel> => {
      const panel = placed.find((p) => p.panel.title === title)?.panel;
      if (!panel) throw new Error(`no panel ${title}`);
      const queries = dashboardQueries(
        { panels: [panel], templating: (dashboard as { templating?: unknown }).templating },
        { namespace: 'default', rateInterval, ...(aliases ? { alias: aliases } : {}) },
      );
      const defaults = (panel.fieldConfig as { defaults?: Record<string, unknown> } | undefined)?.defaults;
      const custom = defaults?.custom as { lineInterpolation?: string } | undefined;
      const out: DumpPanel = {
        file,
        title: aliases ? `${title} (alias: ${aliases.join(', ')})` : title,
        caption,
        unit: String(defaults?.unit ?? 'short'),
        steps: custom?.lineInterpolation === 'stepAfter',
        queries: [],
        series: [],
      };
      if (typeof defaults?.min === 'number') out.min = defaults.min;
      if (typeof defaults?.max === 'number') out.max = defaults.max;
      for (const target of panelTargets(panel)) {
        const expr = queries.find((q) => q.refId === target.refId)!.expr;
        out.queries.push(expr);
        const legend = String(target.legendFormat ?? '');
        for (const s of await prom.queryRange(expr, firstScrape, end, 1)) {
          const role = roles.get(s.metric.nameserver ?? '');
          out.series.push({
            name:
              legend.replace(/\{\{\s*(\w+)\s*\}\}/g, (_m, l: string) => s.metric[l] ?? '') +
              (role ? ` (${role})` : ''),
            points: s.values.map(([t, v]) => [t, v === 'NaN' ? null : Number(v)]),
          });
        }
      }
      out.series.sort((x, y) => x.name.localeCompare(y.name));
      return out;
    };
    const dump: PanelDump = {
      start: firstScrape,
      end,
      step: 1,
      rateInterval,
      annotations: marks.map((m) => ({ at: Math.round(m.at * 10) / 10, label: m.label })),
      panels: [
        await pick(
          'Zone drift by alias and family',
          'zone-drift',
          'The Correct alias (edited) rises to 1 at the hand edit and is back at 0 one look later, already repaired; the Report alias (reported) stays at 1.',
          ['edited', 'reported'],
        ),
        await pick(
          'Nameserver drift by nameserver',
          'nameserver-drift',
          'Only the stale secondary climbs: it does not serve the 4 aliases written after its last transfer; the primary and the NOTIFYed secondary stay at 0.',
        ),
        await pick(
          'Reconciles by result',
          'reconciles-by-result',
          'Every pass that schedules its next look counts as requeue: about 5 aliases / 2 s TTL, and more after writes (verification looks).',
        ),
        await pick(
          'Resolution errors by reason',
          'resolution-errors',
          'The SERVFAIL window of one target shows up as servfail; every other reason stays at 0.',
        ),
        await pick(
          'Backend request latency',
          'backend-latency',
          'p50 and p99 of backend requests by backend and operation: reads of a few ms, UPDATEs (apply) when something is written.',
        ),
        await pick(
          'Backend errors by rcode',
          'backend-errors',
          'The misconfigured backend (refusing) gets REFUSED on every read; the healthy one (bind) shows its 0 line.',
        ),
        await pick(
          'Workqueue depth',
          'workqueue-depth',
          'Stays at 0: with 64 workers every key is picked up within milliseconds, so no scrape finds one waiting.',
        ),
      ],
    };
    await writeDump(dump, join(REPO, 'docs', 'img', 'e2e-panels.json'));
    const files = await renderPanels(dump, join(REPO, 'docs', 'img'));
    process.stdout.write(`rendered ${files.length} panels into docs/img\n`);
  };

  beforeAll(async () => {
    // No NOTIFY reaches `stale` and its SOA refresh is an hour: it stays at the first transfer.
    ({ kube, primary, fresh, stale, upstream } = await startKubeAndBindSecondaries(ZONE));
    upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 2);
    upstream.setAddresses('flaky.demo.test', 'A', ['192.0.2.20'], 2);
    upstream.setAddresses('elsewhere.demo.test', 'A', ['192.0.2.30'], 2);
    dir = await mkdtemp(join(tmpdir(), 'apexalias-prom-e2e-'));
    const config = await writeControllerConfig(dir, {
      ownerId: 'prom-e2e',
      upstream,
      refresh: { minSeconds: 1, maxSeconds: 60, jitter: 0.1 },
      server: primary,
      zones: [ZONE],
      nameservers: [primary, fresh, stale],
      // A real misconfiguration: pointed at a server that is not the primary of REFUSED_ZONE.
      extraBackends: [{ name: 'refusing', zones: [REFUSED_ZONE] }],
    });
    controller = startController({
      config,
      kubeconfig: kube.kubeconfig,
      identity: 'prom-e2e',
      extra: ['--no-leader-elect'],
    });
    metricsPort = await controller.port();
    // Everything is created at once, so the writes overlap Prometheus's slow first scrape.
    await Promise.all([
      apply('lagging', {}),
      apply('edited', {}),
      apply('reported', { driftPolicy: 'Report' }),
      apply('flaky', { target: 'flaky.demo.test' }),
      // Its own target: an alias that never publishes re-announces a "target change" on every
      // reconcile and so re-reconciles every alias sharing its target at once (see the report of
      // this test), which would cut the drift gauge's 1 down to a few milliseconds.
      apply('misplaced', { zone: REFUSED_ZONE, target: 'elsewhere.demo.test' }),
    ]);
    promStart = Math.floor(nowSec());
    prom = await startPrometheus({ targets: [`127.0.0.1:${metricsPort}`], scrapeIntervalSeconds: 1 });
    await prom.waitForTarget();
    firstScrape = Math.floor(nowSec()) - 1;
  }, 120_000);

  afterAll(async () => {
    await writeDebugLogs(controller);
    await prom?.stop();
    await controller?.stop();
    await Promise.all([kube?.stop(), primary?.stop(), fresh?.stop(), stale?.stop(), upstream?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('apexalias_zone_drift_nameserver is 1 for exactly the stale secondary', async () => {
    await waitFor('the write reaches the NOTIFYed secondary', async () =>
      (await fresh.dig(`lagging.${ZONE}`, 'A')).answers.length ? true : undefined,
    );
    const selector = 'apexalias_zone_drift_nameserver{namespace="default",alias="lagging",family="IPv4"}';
    const byNameserver = await waitFor('Prometheus to see the per-nameserver drift', async () => {
      const series = await prom.query(selector);
      const map = Object.fromEntries(series.map((s) => [s.metric.nameserver ?? '', s.value[1]]));
      return map[nameserver(stale)] === '1' && map[nameserver(fresh)] === '0' ? map : undefined;
    });
    expect(byNameserver).toEqual({
      [nameserver(primary)]: '0',
      [nameserver(fresh)]: '0',
      [nameserver(stale)]: '1',
    });
    const drifting = await prom.query(`${selector} == 1`);
    expect(drifting.map((s) => s.metric.nameserver)).toEqual([nameserver(stale)]);
    expect(drifting[0]?.metric.job).toBe('apexalias');
  });

  it('a hand edit (driftPolicy Correct): the drift gauge rises, the record is repaired, the gauge falls', async () => {
    const selector = `apexalias_zone_drift{namespace="default",alias="edited",family="IPv4"}`;
    await waitFor('written', async () => ((await served('edited')) === '192.0.2.1' ? true : undefined));
    await waitFor('a verified pass scraped (gauge 0)', async () =>
      (await value(selector)) === '0' ? true : undefined,
    );

    const before = Date.now();
    const nsupdate = await primary.nsupdate(
      `update delete edited.${ZONE}. A\nupdate add edited.${ZONE}. 60 IN A 203.0.113.66\n`,
    );
    expect(nsupdate.code).toBe(0);
    // The edit is in the zone once nsupdate has returned; times are measured from then.
    const editAt = Date.now();
    marks.push({ at: editAt / 1000, label: 'hand edit (Correct)' });

    // The controller's own /metrics, sampled every 50 ms, to tell a gauge that never rose from
    // one Prometheus missed between two scrapes.
    const direct: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
          .then((r) => r.text())
          .catch(() => '');
        const line = text
          .split('\n')
          .find((l) => /^apexalias_zone_drift\{.*alias="edited".*family="IPv4"/.test(l));
        direct.push(`+${Date.now() - editAt} ms ${line?.split(' ').at(-1) ?? 'absent'}`);
        await sleep(50);
      }
    })();
    const [risen, repaired] = await Promise.all([
      // `timestamp()` gives the scrape time of the first sample at 1.
      pollUntil('apexalias_zone_drift to rise to 1 in Prometheus', async () => {
        const r = await prom.query(`timestamp(${selector} == 1)`);
        return r[0] ? Number(r[0].value[1]) : undefined;
      }).catch((err: Error) => {
        sampling = false;
        const changes = direct.filter(
          (d, i) => i === 0 || d.split(' ').at(-1) !== direct[i - 1]!.split(' ').at(-1),
        );
        throw new Error(`${err.message}; the controller's /metrics showed: ${changes.join(', ')}`);
      }),
      pollUntil('the repair, seen by dig', async () =>
        (await served('edited')) === '192.0.2.1' ? true : undefined,
      ),
    ]);
    sampling = false;
    await sampler;
    marks.push({ at: repaired.at / 1000, label: 'repaired' });
    const cleared = await pollUntil(
      'apexalias_zone_drift to fall back to 0',
      async () => ((await value(selector)) === '0' ? true : undefined),
      100,
    );
    expect(await served('edited')).toBe('192.0.2.1');

    timings.nsupdateMs = editAt - before;
    timings.editToMetricMs = risen.at - editAt;
    timings.editToScrapeMs = Math.round(risen.value * 1000 - editAt);
    timings.editToRepairMs = repaired.at - editAt;
    timings.editToMetricClearedMs = cleared.at - editAt;
    process.stdout.write(
      `\ndrift e2e: hand edit → apexalias_zone_drift=1 seen in Prometheus ${timings.editToMetricMs} ms ` +
        `(sample scraped at +${timings.editToScrapeMs} ms); hand edit → repair seen by dig ` +
        `${timings.editToRepairMs} ms; gauge back to 0 after ${timings.editToMetricClearedMs} ms\n`,
    );
    expect(timings.editToMetricMs).toBeLessThan(15_000);
    expect(timings.editToRepairMs).toBeLessThan(15_000);
    if (RENDER) {
      await writeFile(
        join(REPO, 'bench', 'results', 'drift-e2e.json'),
        `${JSON.stringify(
          {
            measuredAt: new Date(editAt).toISOString(),
            node: process.version,
            setup:
              'controller (kube-apiserver) → BIND primary with a NOTIFYed and a stale secondary; target TTL 2 s, ' +
              'refresh.minSeconds 1; Prometheus 2.42 scraping /metrics every 1 s; edit by nsupdate, driftPolicy Correct',
            measuredFrom: 'nsupdate returned (the edit is in the zone)',
            editToMetricMs: timings.editToMetricMs,
            editToMetricNote:
              'first instant query on Prometheus (polled every 50 ms) returning apexalias_zone_drift == 1',
            editToScrapeMs: timings.editToScrapeMs,
            editToScrapeNote: 'timestamp of the first scraped sample at 1',
            editToRepairMs: timings.editToRepairMs,
            editToRepairNote: 'first dig (polled every 50 ms) on the primary returning the written address',
            editToMetricClearedMs: timings.editToMetricClearedMs,
            nsupdateMs: timings.nsupdateMs,
          },
          null,
          2,
        )}\n`,
      );
    }
  });

  it('driftPolicy Report: the drift gauge stays 1 over several scrapes and the zone is not touched', async () => {
    const selector = `apexalias_zone_drift{namespace="default",alias="reported",family="IPv4"}`;
    await waitFor('written', async () => ((await served('reported')) === '192.0.2.1' ? true : undefined));
    await waitFor('a verified pass scraped (gauge 0)', async () =>
      (await value(selector)) === '0' ? true : undefined,
    );
    const nsupdate = await primary.nsupdate(
      `update delete reported.${ZONE}. A\nupdate add reported.${ZONE}. 60 IN A 203.0.113.77\n`,
    );
    expect(nsupdate.code).toBe(0);
    marks.push({ at: nowSec(), label: 'hand edit (Report)' });
    await waitFor('the drift reported in Prometheus', async () =>
      (await value(selector)) === '1' ? true : undefined,
    );
    const risen = nowSec();
    // Several refreshes (TTL 2 s) and scrapes (1 s) later…
    await sleep(5_000);
    const samples = await prom.query(`count_over_time(${selector}[5s])`);
    const lowest = await prom.query(`min_over_time(${selector}[5s])`);
    expect(Number(samples[0]?.value[1])).toBeGreaterThanOrEqual(4);
    expect(lowest[0]?.value[1]).toBe('1');
    const range = await prom.queryRange(selector, Math.ceil(risen), Math.floor(nowSec()), 1);
    expect(range).toHaveLength(1);
    expect(range[0]!.values.length).toBeGreaterThanOrEqual(4);
    expect(new Set(range[0]!.values.map(([, v]) => v))).toEqual(new Set(['1']));
    // …the zone still holds the hand edit.
    expect((await primary.dig(`reported.${ZONE}`, 'A')).answers).toEqual(['203.0.113.77']);
    expect(await value('count(max by (namespace, alias) (apexalias_zone_drift) > 0)')).toBe('1');
  });

  it('lookup failures, target changes and backend errors are counted', async () => {
    upstream.setBehaviour('flaky.demo.test', 'servfail');
    marks.push({ at: nowSec(), label: 'target SERVFAIL' });
    await waitFor('a SERVFAIL lookup counted', async () =>
      Number(await value('apexalias_resolve_errors_total{reason="servfail"}')) > 0 ? true : undefined,
    );
    const drifts = Number(await value('apexalias_target_drift_total'));
    upstream.setBehaviour('flaky.demo.test', 'normal');
    marks.push({ at: nowSec(), label: 'target answers again' });
    upstream.setAddresses('flaky.demo.test', 'A', ['192.0.2.21'], 2);
    await waitFor('the target change written', async () =>
      (await served('flaky')) === '192.0.2.21' ? true : undefined,
    );
    await waitFor('the target change counted', async () =>
      Number(await value('apexalias_target_drift_total')) > drifts ? true : undefined,
    );
    const errors = await waitFor('backend errors of the misconfigured backend', async () => {
      const r = await prom.query('apexalias_backend_errors_total{backend="refusing"} > 0');
      return r.length ? r : undefined;
    });
    expect(errors.map((s) => [s.metric.operation, s.metric.rcode])).toEqual([['read', 'REFUSED']]);
    expect(Number(await value('apexalias_aliases{state="not_ready"}'))).toBeGreaterThanOrEqual(1);
  });

  it('every dashboard panel query returns data from Prometheus', async () => {
    // At least two scrapes after the last activity, so every rate() has a point after it.
    await sleep(2_000);
    const end = Math.ceil(nowSec());
    const dashboard = buildDashboard();
    const queries = dashboardQueries(dashboard, { namespace: 'default', alias: DASHBOARD_ALIAS });
    expect(queries.length).toBeGreaterThan(30);
    const empty: string[] = [];
    /** Queries with data that stayed at 0 over the whole run (fallbacks, counters without increments). */
    const flat: string[] = [];
    await Promise.all(
      queries.map(async (q) => {
        const [range, instant] = await Promise.all([
          prom.queryRange(q.expr, promStart, end, 1),
          prom.query(q.expr, end),
        ]);
        const numbers = range.some((s) => s.values.some(([, v]) => v !== 'NaN'));
        if (numbers && !range.some((s) => s.values.some(([, v]) => v !== 'NaN' && Number(v) !== 0)))
          flat.push(`${q.panel} [${q.refId}]`);
        if (instant.length === 0 || !numbers) {
          const why =
            range.length === 0
              ? 'no series'
              : !numbers
                ? 'only NaN over the run'
                : 'no series at the end of the run';
          empty.push(`${q.row ?? '-'} / ${q.panel} [${q.refId}] (${why}): ${q.expr}`);
        }
      }),
    );
    process.stdout.write(
      `dashboard: ${queries.length} queries, ${queries.length - empty.length} with data; ` +
        `at 0 throughout: ${flat.sort().join(', ') || 'none'}\n`,
    );
    expect(empty, `dashboard queries without data:\n${empty.join('\n')}`).toEqual([]);

    if (RENDER) await renderArtifacts(dashboard, end);
  });

  it('promtool check metrics passes on the live /metrics output', async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('apexalias_zone_drift_nameserver{');
    const promtool = requireBinary('promtool', 'prometheus');
    const check = await runCommand(promtool, ['check', 'metrics'], { input: text });
    expect(check.code, `promtool check metrics:\n${check.stdout}${check.stderr}`).toBe(0);
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
  });
});
