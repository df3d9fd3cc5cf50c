/**
 * The checks Grafana's dashboard-linter would make (it cannot be had here), plus a few it cannot:
 * every metric and label the queries name exists in src/observe/metrics.ts, every query parses
 * and returns data in Prometheus's own evaluator (`promtool test rules`, Debian's prometheus
 * package, which `npm test` installs) over series that src/observe/metrics.ts really exports, and
 * the committed generated files are exactly what dashboards/apexalias.ts builds, so CI fails on drift.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  buildDashboard,
  DASHBOARD_CONFIGMAP_KEY,
  DASHBOARD_CONFIGMAP_NAME,
  DASHBOARD_CONFIGMAP_PATH,
  DASHBOARD_JSON_PATH,
  renderDashboardConfigMap,
  renderDashboardJson,
  scoped,
} from '../../../dashboards/apexalias.ts';
import {
  dashboardPanels,
  dashboardQueries,
  dashboardVariables,
  panelTargets,
  substituteVariables,
} from '../../../dashboards/queries.ts';
import type { PanelJson } from '../../../dashboards/queries.ts';
import { createMetrics } from '../../../src/observe/metrics.ts';
import { requireBinary } from '../../harness/process.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const SECTIONS = ['Overview', 'Drift', 'Resolution', 'Backend', 'Workqueue', 'Per-alias drill-down'];
const DRILL_DOWN = 'Per-alias drill-down';
const DEPRECATED_TYPES = [
  'graph',
  'singlestat',
  'table-old',
  'grafana-piechart-panel',
  'grafana-worldmap-panel',
];
const PANEL_TYPES_WITH_UNIT = ['timeseries', 'stat'];
const DATASOURCE_UIDS = ['${datasource}', '$datasource'];
/** Metrics labelled by namespace and alias; outside the Overview row they must be filtered. */
const PER_ALIAS_METRICS = [
  'apexalias_zone_drift',
  'apexalias_zone_drift_nameserver',
  'apexalias_out_of_sync_seconds',
  'apexalias_last_sync_timestamp_seconds',
];

const dashboard = buildDashboard();
const placed = dashboardPanels(dashboard);
const panels = placed.map((p) => p.panel);
const variables = dashboardVariables(dashboard);

function title(panel: PanelJson): string {
  return typeof panel.title === 'string' ? panel.title : `panel ${String(panel.id)}`;
}

function exprs(panel: PanelJson): string[] {
  return panelTargets(panel).map((t) => (typeof t.expr === 'string' ? t.expr : ''));
}

function usesDatasourceVariable(ref: unknown): boolean {
  if (typeof ref !== 'object' || ref === null) return false;
  const { type, uid } = ref as { type?: unknown; uid?: unknown };
  return type === 'prometheus' && typeof uid === 'string' && DATASOURCE_UIDS.includes(uid);
}

/** The argument text of every call of `fn`s in `expr` (balanced parentheses). */
function callArguments(expr: string, fns: readonly string[]): Array<{ fn: string; args: string }> {
  const calls: Array<{ fn: string; args: string }> = [];
  const pattern = new RegExp(`\\b(${fns.join('|')})\\s*\\(`, 'g');
  for (const match of expr.matchAll(pattern)) {
    const open = match.index + match[0].length - 1;
    let depth = 0;
    let end = -1;
    for (let i = open; i < expr.length; i++) {
      if (expr[i] === '(') depth++;
      else if (expr[i] === ')' && --depth === 0) {
        end = i;
        break;
      }
    }
    if (end < 0) throw new Error(`unbalanced parentheses after ${match[1]}( in ${expr}`);
    calls.push({ fn: match[1]!, args: expr.slice(open + 1, end) });
  }
  return calls;
}

/** `metric{matchers}` selectors of apexalias metrics, with their label matchers. */
function selectors(expr: string): Array<{ metric: string; matchers: Map<string, string> }> {
  const found: Array<{ metric: string; matchers: Map<string, string> }> = [];
  for (const m of expr.matchAll(/\b(apexalias_\w+)\s*(?:\{([^}]*)\})?/g)) {
    const matchers = new Map<string, string>();
    for (const lm of (m[2] ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
      matchers.set(lm[1]!, `${lm[2]}"${lm[3]}"`);
    }
    found.push({ metric: m[1]!, matchers });
  }
  return found;
}

describe('dashboard lint: data source', () => {
  it('has a datasource variable of type prometheus', () => {
    const ds = variables.get('datasource');
    expect(ds).toBeDefined();
    expect(ds!.type).toBe('datasource');
    expect(ds!.query).toBe('prometheus');
  });

  it('points every panel, rows included, at the datasource variable', () => {
    const offenders = panels.filter((p) => !usesDatasourceVariable(p.datasource)).map(title);
    expect(offenders).toEqual([]);
  });

  it('points every target at the datasource variable', () => {
    const offenders = panels.flatMap((p) =>
      panelTargets(p)
        .filter((t) => !usesDatasourceVariable(t.datasource))
        .map((t) => `${title(p)} ${String(t.refId)}`),
    );
    expect(offenders).toEqual([]);
    expect(panels.flatMap(panelTargets).length).toBeGreaterThan(30);
  });

  it('queries the cluster, job, namespace and alias variables through the datasource variable too', () => {
    for (const name of ['cluster', 'job', 'namespace', 'alias']) {
      expect(usesDatasourceVariable(variables.get(name)?.datasource), name).toBe(true);
    }
  });
});

describe('dashboard lint: queries', () => {
  it('uses $__rate_interval, and only it, in every rate, irate and increase', () => {
    const offenders: string[] = [];
    let calls = 0;
    for (const panel of panels) {
      for (const expr of exprs(panel)) {
        for (const { fn, args } of callArguments(expr, ['rate', 'irate', 'increase'])) {
          calls++;
          const ranges = [...args.matchAll(/\[([^\]]*)\]/g)].map((r) => r[1]);
          if (ranges.length !== 1 || ranges[0] !== '$__rate_interval') {
            offenders.push(`${title(panel)}: ${fn}(${args})`);
          }
        }
      }
    }
    expect(offenders).toEqual([]);
    expect(calls).toBeGreaterThan(20);
  });

  it('has no range selector other than [$__rate_interval] anywhere', () => {
    const ranges = panels.flatMap((p) =>
      exprs(p).flatMap((e) => [...e.matchAll(/\[([^\]]*)\]/g)].map((r) => r[1])),
    );
    expect(new Set(ranges)).toEqual(new Set(['$__rate_interval']));
  });

  it('gives every target an expression with balanced parentheses and braces', () => {
    for (const panel of panels) {
      for (const expr of exprs(panel)) {
        expect(expr, title(panel)).not.toBe('');
        for (const [open, close] of [
          ['(', ')'],
          ['{', '}'],
          ['[', ']'],
        ] as const) {
          let depth = 0;
          for (const ch of expr) {
            if (ch === open) depth++;
            if (ch === close) depth--;
            expect(depth, `${title(panel)}: ${expr}`).toBeGreaterThanOrEqual(0);
          }
          expect(depth, `${title(panel)}: ${expr}`).toBe(0);
        }
      }
    }
  });

  it('names only metrics and labels that src/observe/metrics.ts exports', () => {
    const registry = new Registry();
    createMetrics(registry, { defaultMetrics: false });
    const labelsOf = new Map<string, Set<string>>();
    for (const metric of registry.getMetricsAsArray()) {
      const { name, labelNames, type } = metric as unknown as {
        name: string;
        labelNames: string[];
        type: string;
      };
      const labels = new Set(labelNames);
      labelsOf.set(name, labels);
      if (type === 'histogram') {
        labelsOf.set(`${name}_bucket`, new Set([...labels, 'le']));
        labelsOf.set(`${name}_sum`, labels);
        labelsOf.set(`${name}_count`, labels);
      }
    }
    // Labels Prometheus adds to every series: the scrape job and, in many setups, the cluster.
    const targetLabels = new Set(['job', 'cluster']);
    const problems: string[] = [];
    for (const panel of panels) {
      for (const expr of exprs(panel)) {
        const used = selectors(expr);
        const known = new Set<string>(['le', ...targetLabels]);
        for (const { metric, matchers } of used) {
          const labels = labelsOf.get(metric);
          if (!labels) {
            problems.push(`${title(panel)}: unknown metric ${metric}`);
            continue;
          }
          for (const l of labels) known.add(l);
          for (const label of matchers.keys()) {
            if (!labels.has(label) && !targetLabels.has(label))
              problems.push(`${title(panel)}: ${metric} has no label ${label}`);
          }
        }
        for (const by of expr.matchAll(/\b(?:by|on|without|ignoring)\s*\(([^)]*)\)/g)) {
          for (const label of by[1]!.split(',').map((s) => s.trim())) {
            if (label && !known.has(label)) problems.push(`${title(panel)}: no metric has label ${label}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('dashboard lint: template variables', () => {
  it('defines cluster, job, namespace and alias from label_values, in that order, multi-select with All', () => {
    expect([...variables.keys()]).toEqual(['datasource', 'cluster', 'job', 'namespace', 'alias']);
    const query = (name: string): unknown => variables.get(name)?.query;
    expect(query('cluster')).toBe('label_values(apexalias_build_info, cluster)');
    expect(query('job')).toBe('label_values(apexalias_build_info{cluster=~"$cluster"}, job)');
    expect(query('namespace')).toBe(
      'label_values(apexalias_last_sync_timestamp_seconds{cluster=~"$cluster",job=~"$job"}, namespace)',
    );
    expect(query('alias')).toBe(
      'label_values(apexalias_last_sync_timestamp_seconds{cluster=~"$cluster",job=~"$job",namespace=~"$namespace"}, alias)',
    );
    for (const name of ['cluster', 'job', 'namespace', 'alias']) {
      const v = variables.get(name);
      expect(v?.type, name).toBe('query');
      expect(v?.multi, name).toBe(true);
      expect(v?.includeAll, name).toBe(true);
      // "All" is `.*`, which also matches series without the label (no cluster label at all).
      expect(v?.allValue, name).toBe('.*');
    }
  });

  it('scopes every apexalias selector of every query by $cluster and $job', () => {
    const offenders: string[] = [];
    let count = 0;
    for (const panel of panels) {
      for (const expr of exprs(panel)) {
        for (const { metric, matchers } of selectors(expr)) {
          count++;
          if (matchers.get('cluster') !== '=~"$cluster"' || matchers.get('job') !== '=~"$job"')
            offenders.push(`${title(panel)}: ${metric}`);
        }
      }
    }
    expect(offenders).toEqual([]);
    expect(count).toBeGreaterThan(40);
    expect(scoped('sum(rate(apexalias_x_total[$__rate_interval])) / max(apexalias_y{a="b"})')).toBe(
      'sum(rate(apexalias_x_total{cluster=~"$cluster",job=~"$job"}[$__rate_interval])) / ' +
        'max(apexalias_y{a="b",cluster=~"$cluster",job=~"$job"})',
    );
  });

  it('filters every query of every drill-down panel by namespace and alias', () => {
    const drill = placed.filter((p) => p.row === DRILL_DOWN).map((p) => p.panel);
    expect(drill.length).toBeGreaterThanOrEqual(3);
    const offenders: string[] = [];
    for (const panel of drill) {
      const all = exprs(panel);
      if (all.length === 0) offenders.push(`${title(panel)}: no queries`);
      for (const expr of all) {
        const used = selectors(expr);
        if (used.length === 0) offenders.push(`${title(panel)}: no apexalias metric in ${expr}`);
        for (const { metric, matchers } of used) {
          if (matchers.get('namespace') !== '=~"$namespace"' || matchers.get('alias') !== '=~"$alias"') {
            offenders.push(`${title(panel)}: ${metric} not filtered by $namespace and $alias`);
          }
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('filters per-alias metrics by namespace and alias in every row but the Overview', () => {
    const offenders: string[] = [];
    for (const { panel, row } of placed) {
      if (row === 'Overview') continue;
      for (const expr of exprs(panel)) {
        for (const { metric, matchers } of selectors(expr)) {
          if (!PER_ALIAS_METRICS.includes(metric)) continue;
          if (matchers.get('namespace') !== '=~"$namespace"' || matchers.get('alias') !== '=~"$alias"') {
            offenders.push(`${row} / ${title(panel)}: ${metric}`);
          }
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('uses no template variable the dashboard does not define', () => {
    const defined = new Set([...variables.keys(), '__rate_interval', '__interval', '__range']);
    const used = panels.flatMap((p) =>
      exprs(p).flatMap((e) => [...e.matchAll(/\$\{?(\w+)/g)].map((m) => m[1]!)),
    );
    expect(used.filter((name) => !defined.has(name))).toEqual([]);
  });
});

describe('dashboard lint: panels', () => {
  it('gives every panel, rows included, a unique numeric id', () => {
    const ids = panels.map((p) => p.id);
    for (const id of ids) expect(Number.isInteger(id) && (id as number) > 0, String(id)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives every target a unique refId within its panel', () => {
    for (const panel of panels) {
      const refIds = panelTargets(panel).map((t) => t.refId);
      for (const refId of refIds) expect(typeof refId === 'string' && refId !== '', title(panel)).toBe(true);
      expect(new Set(refIds).size, title(panel)).toBe(refIds.length);
    }
  });

  it('sets a unit on every timeseries and stat panel', () => {
    const checked = panels.filter((p) => PANEL_TYPES_WITH_UNIT.includes(String(p.type)));
    const offenders = checked
      .filter((p) => {
        const defaults = (p.fieldConfig as { defaults?: { unit?: unknown } } | undefined)?.defaults;
        return typeof defaults?.unit !== 'string' || defaults.unit === '';
      })
      .map(title);
    expect(offenders).toEqual([]);
    expect(checked.length).toBe(panels.filter((p) => p.type !== 'row').length);
  });

  it('uses no deprecated panel type (graph, singlestat, table-old)', () => {
    const types = new Set(panels.map((p) => String(p.type)));
    for (const deprecated of DEPRECATED_TYPES) expect(types.has(deprecated), deprecated).toBe(false);
    expect([...types].sort()).toEqual(['row', 'stat', 'timeseries']);
  });

  it('gives every panel a title and a description, and no two panels the same title', () => {
    const titles = panels.filter((p) => p.type !== 'row').map(title);
    expect(new Set(titles).size).toBe(titles.length);
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect(typeof panel.description === 'string' && panel.description !== '', title(panel)).toBe(true);
    }
  });

  it('has every section, in order, each with panels', () => {
    const rows = panels.filter((p) => p.type === 'row').map(title);
    expect(rows).toEqual(SECTIONS);
    for (const section of SECTIONS) {
      expect(placed.filter((p) => p.row === section).length, section).toBeGreaterThan(0);
    }
    expect(placed.filter((p) => p.row === undefined && p.panel.type !== 'row')).toEqual([]);
  });

  it('lays panels out on the 24-column grid without overlaps', () => {
    const boxes = panels.map((p) => ({
      t: title(p),
      ...(p.gridPos as { x: number; y: number; w: number; h: number }),
    }));
    for (const b of boxes) expect(b.x + b.w, b.t).toBeLessThanOrEqual(24);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `${a.t} overlaps ${b.t}`).toBe(false);
      }
    }
  });

  it('covers the overview, drift, resolution, backend and workqueue metrics the issue asks for', () => {
    const all = panels.flatMap(exprs).join('\n');
    for (const needle of [
      'apexalias_aliases{state="ready",',
      'apexalias_aliases{state="not_ready",',
      'apexalias_out_of_sync_seconds',
      'apexalias_leader',
      'apexalias_build_info',
      'apexalias_zone_drift{',
      'apexalias_zone_drift_nameserver{',
      'apexalias_target_drift_total',
      'histogram_quantile(0.99, sum by (le) (rate(apexalias_resolve_duration_seconds_bucket{cluster=~"$cluster",job=~"$job"}[$__rate_interval])))',
      'apexalias_resolve_errors_total',
      'apexalias_backend_request_duration_seconds_bucket',
      'apexalias_backend_errors_total',
      'apexalias_update_messages_total',
      'apexalias_update_records_per_message',
      'apexalias_workqueue_depth',
      'apexalias_workqueue_queue_duration_seconds_bucket',
      'apexalias_workqueue_work_duration_seconds_bucket',
      'apexalias_workqueue_retries_total',
      'time() - max by (namespace, alias) (apexalias_last_sync_timestamp_seconds{namespace=~"$namespace",alias=~"$alias",cluster=~"$cluster",job=~"$job"})',
    ]) {
      expect(all, needle).toContain(needle);
    }
  });
});

describe('generated files', () => {
  it('builds the same dashboard every time', () => {
    expect(buildDashboard()).toEqual(dashboard);
  });

  it('commits charts/apexalias/files/dashboard.json exactly as generated', () => {
    const committed = readFileSync(join(root, DASHBOARD_JSON_PATH), 'utf8');
    expect(committed, 'run `node scripts/gen-dashboard.ts`').toBe(renderDashboardJson(dashboard));
    expect(JSON.parse(committed)).toEqual(dashboard);
  });

  it('commits the sidecar ConfigMap exactly as generated, labelled grafana_dashboard: "1"', () => {
    const committed = readFileSync(join(root, DASHBOARD_CONFIGMAP_PATH), 'utf8');
    expect(committed, 'run `node scripts/gen-dashboard.ts`').toBe(renderDashboardConfigMap(dashboard));
    const cm = parseYaml(committed) as {
      kind: string;
      metadata: { name: string; labels: Record<string, unknown> };
      data: Record<string, string>;
    };
    expect(cm.kind).toBe('ConfigMap');
    expect(cm.metadata.name).toBe(DASHBOARD_CONFIGMAP_NAME);
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(cm.data[DASHBOARD_CONFIGMAP_KEY]!)).toEqual(dashboard);
  });

  it('passes `node scripts/gen-dashboard.ts --check`', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(root, 'scripts/gen-dashboard.ts'), '--check'],
      {
        cwd: root,
      },
    );
    expect(stdout).toContain('is up to date');
  });
});

describe('dashboardQueries', () => {
  it('substitutes the variables in every query and leaves no $ behind', () => {
    const queries = dashboardQueries(dashboard, {
      cluster: 'eu-1',
      job: 'apexalias-metrics',
      namespace: 'web',
      alias: 'example-com',
    });
    expect(queries.length).toBe(panels.flatMap(panelTargets).length);
    for (const q of queries) {
      expect(q.expr, q.panel).not.toContain('$');
      expect(q.expr, q.panel).not.toMatch(/\[\[/);
    }
    const lastSync = queries.find((q) => q.panel === 'Time since last sync');
    expect(lastSync?.expr).toBe(
      'time() - max by (namespace, alias) (apexalias_last_sync_timestamp_seconds{namespace=~"web",alias=~"example-com",cluster=~"eu-1",job=~"apexalias-metrics"})',
    );
    expect(lastSync?.row).toBe(DRILL_DOWN);
    expect(queries.find((q) => q.panel === 'Reconciles by result')?.expr).toBe(
      'sum by (result) (rate(apexalias_reconcile_total{cluster=~"eu-1",job=~"apexalias-metrics"}[1m]))',
    );
  });

  it('uses the All value when a variable is not given, and joins several values as Grafana does', () => {
    expect(substituteVariables('x{namespace=~"$namespace",alias=~"${alias}"}', {}, variables)).toBe(
      'x{namespace=~".*",alias=~".*"}',
    );
    expect(
      substituteVariables('x{alias=~"$alias"}[$__rate_interval]', { alias: ['a', 'b'], rateInterval: '30s' }),
    ).toBe('x{alias=~"(a|b)"}[30s]');
  });

  it('refuses a variable it does not know', () => {
    expect(() => substituteVariables('rate(x[$__unknown])', {})).toThrow(
      /unknown template variable \$__unknown/,
    );
  });
});

const SCRAPE_JOB = 'apexalias-metrics';
const CLUSTER = 'eu-1';

/**
 * Series as src/observe/metrics.ts exports them after one of each event, in `promtool test rules`
 * input form: counters and histograms grow by their value every interval, gauges stay.
 */
async function exportedSeries(): Promise<Array<{ series: string; values: string }>> {
  const nowMs = 1_000_000;
  const m = createMetrics(new Registry(), { defaultMetrics: false, version: '0.1.0', now: () => nowMs });
  m.setAliasCounts(3, 1);
  m.setLeader(true);
  m.observeReconcile('success', 0.2);
  m.observeReconcile('error', 0.4);
  m.observeResolve(0.01);
  m.observeResolve(0.2, 'servfail');
  m.bindResolverStats({ queries: 3, cacheHits: 2, cacheMisses: 1 });
  m.countTargetDrift();
  m.setZoneDrift('web', 'example-com', 'IPv4', true);
  m.setZoneDrift('web', 'example-com', 'IPv6', false);
  m.setNameserverDrift('web', 'example-com', 'IPv4', { 'ns1.example.com.': false, 'ns2.example.com.': true });
  m.setInSync('web', 'example-com', false, nowMs - 90_000);
  m.markSynced('web', 'example-com', nowMs - 120_000);
  m.setRecordsManaged([{ zone: 'example.com.', family: 'IPv4', records: 1 }]);
  m.observeBackend('bind', 'read', 0.003);
  m.observeBackend('bind', 'apply', 0.02, 'REFUSED');
  m.observeUpdate('bind', 2);
  m.workqueueDepth.set(2);
  m.workqueueQueueDuration.observe(0.05);
  m.workqueueWorkDuration.observe(0.3);
  m.workqueueRetries.inc();

  const input: Array<{ series: string; values: string }> = [];
  for (const metric of await m.registry.getMetricsAsJSON()) {
    const grows = String(metric.type) !== 'gauge';
    for (const v of metric.values) {
      const name = (v as { metricName?: string }).metricName ?? metric.name;
      // As scraped: Prometheus adds the job, and the set-up a cluster label.
      const labels = Object.entries({ ...v.labels, job: SCRAPE_JOB, cluster: CLUSTER })
        .map(([k, val]) => `${k}="${String(val)}"`)
        .join(',');
      input.push({ series: `${name}{${labels}}`, values: grows ? `0+${v.value}x40` : `${v.value}x40` });
    }
  }
  return input;
}

describe('every panel query in Prometheus', () => {
  it('parses and returns data over the series apexalias exports (promtool test rules)', async () => {
    const promtool = requireBinary('promtool', 'prometheus');
    const queries = dashboardQueries(dashboard, {
      cluster: CLUSTER,
      job: SCRAPE_JOB,
      namespace: 'web',
      alias: 'example-com',
      rateInterval: '1m',
    });
    const input = await exportedSeries();
    const yaml = [
      'rule_files: []',
      'evaluation_interval: 15s',
      'tests:',
      '  - interval: 15s',
      '    input_series:',
      ...input.flatMap((s) => [`      - series: '${s.series}'`, `        values: '${s.values}'`]),
      '    promql_expr_test:',
      // 1 when the query returns at least one series (NaN values count: the series is there), else 0.
      ...queries.flatMap((q) => [
        `      - expr: ${JSON.stringify(`(count(${q.expr}) > bool 0) or vector(0)`)}`,
        '        eval_time: 5m',
        '        exp_samples:',
        "          - labels: '{}'",
        '            value: 1',
      ]),
      '',
    ].join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'apexalias-dashboard-'));
    try {
      writeFileSync(join(dir, 'queries.test.yml'), yaml);
      const result = await promisify(execFile)(promtool, ['test', 'rules', 'queries.test.yml'], {
        cwd: dir,
      }).then(
        (r) => ({ ok: true, output: r.stdout + r.stderr }),
        (err: { stdout?: string; stderr?: string; message: string }) => ({
          ok: false,
          output: `${err.stdout ?? ''}${err.stderr ?? ''}` || err.message,
        }),
      );
      expect(result.output, 'queries without data or with syntax errors').toContain('SUCCESS');
      expect(result.ok).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(queries.length).toBeGreaterThan(30);
  });
});
