/**
 * The apexalias Grafana dashboard, built with @grafana/grafana-foundation-sdk's typed builders.
 *
 * `node scripts/gen-dashboard.ts` writes it into the Helm chart (charts/apexalias/files/dashboard.json)
 * and into a plain ConfigMap (deploy/monitoring/grafana-dashboard-configmap.yaml);
 * test/unit/dashboard/lint.test.ts checks it as Grafana's dashboard-linter would and fails when
 * the committed files differ from what this module builds. docs/dashboard.md describes the panels
 * and docs/metrics.md the metrics they read.
 *
 * Every panel and every query uses the `datasource` template variable, and every apexalias
 * selector is scoped by the `cluster` and `job` variables (one installation among several that
 * one Prometheus scrapes). Per-alias queries are also filtered by the `namespace` and `alias`
 * variables; the Overview row deliberately is not, since it summarises the whole installation
 * (and `apexalias_aliases` has no per-alias labels).
 */
import {
  BigValueColorMode,
  BigValueGraphMode,
  BigValueTextMode,
  LegendDisplayMode,
  LegendPlacement,
  LineInterpolation,
  ReduceDataOptionsBuilder,
  SortOrder,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { Threshold, ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/** Where the generated dashboard lives, relative to the repository root. */
export const DASHBOARD_JSON_PATH = 'charts/apexalias/files/dashboard.json';
/** The plain-manifest ConfigMap that carries the same JSON, for the Grafana sidecar. */
export const DASHBOARD_CONFIGMAP_PATH = 'deploy/monitoring/grafana-dashboard-configmap.yaml';
/** Name, namespace and data key of that ConfigMap (the key matches the chart's template). */
export const DASHBOARD_CONFIGMAP_NAME = 'apexalias-dashboard';
export const DASHBOARD_CONFIGMAP_NAMESPACE = 'apexalias-system';
export const DASHBOARD_CONFIGMAP_KEY = 'apexalias.json';
export const DASHBOARD_UID = 'apexalias';

/** Every panel and target points at the dashboard's `datasource` variable. */
const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** The label matchers every per-alias query carries. */
const ALIAS_FILTER = 'namespace=~"$namespace",alias=~"$alias"';
/**
 * The matchers that pick one installation: `cluster` (an external or target label many setups
 * add; "All" also matches series without it) and the scrape `job`.
 */
export const SCOPE_FILTER = 'cluster=~"$cluster",job=~"$job"';

/**
 * `expr` with {@link SCOPE_FILTER} added to every apexalias selector in it, so that no panel can
 * forget it: `apexalias_leader` becomes `apexalias_leader{cluster=~"$cluster",job=~"$job"}`.
 */
export function scoped(expr: string): string {
  return expr.replace(
    /\b(apexalias_\w+)(?:\{([^}]*)\})?/g,
    (_match, metric: string, matchers: string | undefined) =>
      `${metric}{${matchers ? `${matchers},` : ''}${SCOPE_FILTER}}`,
  );
}
const RATE = '$__rate_interval';

/** One PromQL query of a panel; its refId is assigned when the panel is built (A, B, …). */
interface QuerySpec {
  expr: string;
  legend: string;
}

interface PanelSpec {
  kind: 'timeseries' | 'stat';
  title: string;
  description: string;
  unit: string;
  /** Grid columns (of 24) and rows. Each line of a row's panels adds up to 24 columns. */
  width: number;
  height: number;
  queries: QuerySpec[];
  min?: number;
  max?: number;
  /** Threshold steps for stat colours; the first step's value is the base (null). */
  thresholds?: Threshold[];
  mappings?: ValueMapping[];
  /** Stat only: what the big text shows. */
  textMode?: BigValueTextMode;
  /** Timeseries only: draw steps (for 0/1 gauges) instead of lines. */
  steps?: boolean;
}

interface SectionSpec {
  title: string;
  panels: PanelSpec[];
}

/** `histogram_quantile(q, sum by (le, …) (rate(<metric>_bucket[$__rate_interval])))`. */
function quantile(q: number, histogram: string, by: readonly string[] = []): string {
  const labels = ['le', ...by].join(', ');
  return `histogram_quantile(${q}, sum by (${labels}) (rate(${histogram}_bucket[${RATE}])))`;
}

/** p50, p90 and p99 of a histogram without labels. */
function quantiles(histogram: string): QuerySpec[] {
  return [0.5, 0.9, 0.99].map((q) => ({ expr: quantile(q, histogram), legend: `p${Math.round(q * 100)}` }));
}

const GREEN = 'green';
const RED = 'red';

/** Base colour green, red from `from` on: for counts that should be zero. */
function redFrom(from: number): Threshold[] {
  return [
    { value: null, color: GREEN },
    { value: from, color: RED },
  ];
}

const OVERVIEW: SectionSpec = {
  title: 'Overview',
  panels: [
    {
      kind: 'stat',
      title: 'Aliases ready',
      description:
        'ApexAlias objects whose Ready condition is True (apexalias_aliases{state="ready"}; the highest value any replica reports).',
      unit: 'short',
      width: 4,
      height: 4,
      queries: [{ expr: 'max(apexalias_aliases{state="ready"})', legend: 'ready' }],
      thresholds: [{ value: null, color: GREEN }],
    },
    {
      kind: 'stat',
      title: 'Aliases not ready',
      description:
        'ApexAlias objects whose Ready condition is not True (apexalias_aliases{state="not_ready"}).',
      unit: 'short',
      width: 4,
      height: 4,
      queries: [{ expr: 'max(apexalias_aliases{state="not_ready"})', legend: 'not ready' }],
      thresholds: redFrom(1),
    },
    {
      kind: 'stat',
      title: 'Aliases out of sync',
      description:
        'Aliases that do not serve what they should right now (apexalias_out_of_sync_seconds > 0), over the whole installation.',
      unit: 'short',
      width: 4,
      height: 4,
      queries: [
        {
          expr: 'count(max by (namespace, alias) (apexalias_out_of_sync_seconds) > 0) or vector(0)',
          legend: 'out of sync',
        },
      ],
      thresholds: redFrom(1),
    },
    {
      kind: 'stat',
      title: 'Aliases with zone drift',
      description:
        'Aliases where the backend serves something other than what apexalias wrote, for at least one family (apexalias_zone_drift).',
      unit: 'short',
      width: 4,
      height: 4,
      queries: [
        {
          expr: 'count(max by (namespace, alias) (apexalias_zone_drift) > 0) or vector(0)',
          legend: 'drifted',
        },
      ],
      thresholds: redFrom(1),
    },
    {
      kind: 'stat',
      title: 'Leaders',
      description:
        'Replicas holding the leader lease (sum of apexalias_leader). Exactly 1 is healthy; 0 means nobody writes.',
      unit: 'short',
      width: 4,
      height: 4,
      queries: [{ expr: 'sum(apexalias_leader)', legend: 'leaders' }],
      thresholds: [
        { value: null, color: RED },
        { value: 1, color: GREEN },
        { value: 2, color: RED },
      ],
      mappings: [
        {
          type: MappingType.ValueToText,
          options: { '0': { text: 'no leader', color: RED, index: 0 } },
        },
      ],
    },
    {
      kind: 'stat',
      title: 'Build',
      description:
        'Running replicas per apexalias version and Node.js version (apexalias_build_info). More than one line during a rollout is expected.',
      unit: 'short',
      width: 4,
      height: 4,
      queries: [
        {
          expr: 'count by (version, node_version) (apexalias_build_info)',
          legend: '{{version}} (Node.js {{node_version}})',
        },
      ],
      thresholds: [{ value: null, color: 'blue' }],
      textMode: BigValueTextMode.ValueAndName,
    },
    {
      kind: 'timeseries',
      title: 'Reconciles by result',
      description:
        'Reconciles per second by how they ended: success (in sync until the next TTL refresh), requeue (a lookup or backend failure, retried with backoff), error (the reconcile threw, e.g. an API error), terminal (apexalias_reconcile_total).',
      unit: 'ops',
      width: 12,
      height: 8,
      queries: [
        {
          expr: `sum by (result) (rate(apexalias_reconcile_total[${RATE}]))`,
          legend: '{{result}}',
        },
      ],
      min: 0,
    },
    {
      kind: 'timeseries',
      title: 'Records managed',
      description: 'Address records apexalias owns, per zone and family (apexalias_records_managed).',
      unit: 'short',
      width: 12,
      height: 8,
      queries: [
        {
          expr: 'max by (zone, family) (apexalias_records_managed)',
          legend: '{{zone}} {{family}}',
        },
      ],
      min: 0,
    },
  ],
};

const DRIFT: SectionSpec = {
  title: 'Drift',
  panels: [
    {
      kind: 'timeseries',
      title: 'Zone drift by alias and family',
      description:
        'Is 1 while the backend serves something other than what apexalias last wrote for the alias and family (a hand edit, a lost write); 0 when it matches (apexalias_zone_drift).',
      unit: 'short',
      width: 8,
      height: 8,
      queries: [
        {
          expr: `max by (namespace, alias, family) (apexalias_zone_drift{${ALIAS_FILTER}})`,
          legend: '{{namespace}}/{{alias}} {{family}}',
        },
      ],
      min: 0,
      max: 1,
      steps: true,
    },
    {
      kind: 'timeseries',
      title: 'Nameserver drift by nameserver',
      description:
        'For each authoritative nameserver, how many alias families it does not serve as written: a secondary that lags behind or missed a NOTIFY (apexalias_zone_drift_nameserver).',
      unit: 'short',
      width: 8,
      height: 8,
      queries: [
        {
          expr: `sum by (nameserver) (max by (namespace, alias, family, nameserver) (apexalias_zone_drift_nameserver{${ALIAS_FILTER}}))`,
          legend: '{{nameserver}}',
        },
      ],
      min: 0,
      steps: true,
    },
    {
      kind: 'timeseries',
      title: 'Target drift',
      description:
        "Writes per second caused by a target's addresses changing: expected drift, not an error (apexalias_target_drift_total).",
      unit: 'ops',
      width: 8,
      height: 8,
      queries: [
        {
          expr: `sum(rate(apexalias_target_drift_total[${RATE}]))`,
          legend: 'target changes',
        },
      ],
      min: 0,
    },
  ],
};

const RESOLUTION: SectionSpec = {
  title: 'Resolution',
  panels: [
    {
      kind: 'timeseries',
      title: 'Target resolution latency',
      description:
        'Time to resolve one family of a target, following its CNAME chain; cache hits included (apexalias_resolve_duration_seconds).',
      unit: 's',
      width: 12,
      height: 8,
      queries: quantiles('apexalias_resolve_duration_seconds'),
      min: 0,
    },
    {
      kind: 'timeseries',
      title: 'Resolution errors by reason',
      description:
        'Target lookups per second that gave no addresses, by reason: nxdomain, nodata, servfail, refused, timeout, loop, chain_too_long, malformed, rcode, dnssec_unvalidated, dnssec_bogus (apexalias_resolve_errors_total).',
      unit: 'ops',
      width: 12,
      height: 8,
      queries: [
        {
          expr: `sum by (reason) (rate(apexalias_resolve_errors_total[${RATE}]))`,
          legend: '{{reason}}',
        },
      ],
      min: 0,
    },
    {
      kind: 'timeseries',
      title: 'Resolver cache hit ratio',
      description:
        'Share of lookups answered from the resolver cache or joined to one in flight. Empty (NaN) while there are no lookups.',
      unit: 'percentunit',
      width: 12,
      height: 8,
      queries: [
        {
          expr:
            `sum(rate(apexalias_resolver_cache_hits_total[${RATE}])) / ` +
            `(sum(rate(apexalias_resolver_cache_hits_total[${RATE}])) + sum(rate(apexalias_resolver_cache_misses_total[${RATE}])))`,
          legend: 'hit ratio',
        },
      ],
      min: 0,
      max: 1,
    },
    {
      kind: 'timeseries',
      title: 'Resolver lookups and upstream queries',
      description:
        'Cache hits and misses per second, and DNS queries sent upstream per second, retries included (apexalias_resolver_*_total).',
      unit: 'ops',
      width: 12,
      height: 8,
      queries: [
        { expr: `sum(rate(apexalias_resolver_cache_hits_total[${RATE}]))`, legend: 'cache hits' },
        { expr: `sum(rate(apexalias_resolver_cache_misses_total[${RATE}]))`, legend: 'cache misses' },
        { expr: `sum(rate(apexalias_resolver_queries_total[${RATE}]))`, legend: 'upstream queries' },
      ],
      min: 0,
    },
  ],
};

const BACKEND_BY = ['backend', 'operation'] as const;

const BACKEND: SectionSpec = {
  title: 'Backend',
  panels: [
    {
      kind: 'timeseries',
      title: 'Backend request latency',
      description:
        'p50 and p99 time of one backend request, by backend and operation (read or apply); failed requests included (apexalias_backend_request_duration_seconds).',
      unit: 's',
      width: 12,
      height: 8,
      queries: [
        {
          expr: quantile(0.5, 'apexalias_backend_request_duration_seconds', BACKEND_BY),
          legend: 'p50 {{backend}} {{operation}}',
        },
        {
          expr: quantile(0.99, 'apexalias_backend_request_duration_seconds', BACKEND_BY),
          legend: 'p99 {{backend}} {{operation}}',
        },
      ],
      min: 0,
    },
    {
      kind: 'timeseries',
      title: 'Backend requests',
      description: 'Backend requests per second, by backend and operation.',
      unit: 'reqps',
      width: 12,
      height: 8,
      queries: [
        {
          expr: `sum by (backend, operation) (rate(apexalias_backend_request_duration_seconds_count[${RATE}]))`,
          legend: '{{backend}} {{operation}}',
        },
      ],
      min: 0,
    },
    {
      kind: 'timeseries',
      title: 'Backend errors by rcode',
      description:
        "Failed backend requests per second, by backend, operation and the backend's result code (apexalias_backend_errors_total). A backend and operation without errors shows a line at 0 with an empty rcode.",
      unit: 'ops',
      width: 8,
      height: 8,
      queries: [
        {
          expr:
            `sum by (backend, operation, rcode) (rate(apexalias_backend_errors_total[${RATE}])) ` +
            `or on (backend, operation) ` +
            `(0 * sum by (backend, operation) (rate(apexalias_backend_request_duration_seconds_count[${RATE}])))`,
          legend: '{{backend}} {{operation}} {{rcode}}',
        },
      ],
      min: 0,
    },
    {
      kind: 'timeseries',
      title: 'UPDATE messages',
      description:
        'Atomic writes sent per second, by backend: RFC 2136 UPDATE messages, API change batches, zone-file renames (apexalias_update_messages_total).',
      unit: 'ops',
      width: 8,
      height: 8,
      queries: [
        {
          expr: `sum by (backend) (rate(apexalias_update_messages_total[${RATE}]))`,
          legend: '{{backend}}',
        },
      ],
      min: 0,
    },
    {
      kind: 'timeseries',
      title: 'Records per UPDATE message',
      description:
        'Resource records carried by one atomic write: the mean and p99 (apexalias_update_records_per_message). Empty while nothing is written.',
      unit: 'short',
      width: 8,
      height: 8,
      queries: [
        {
          expr:
            `sum(rate(apexalias_update_records_per_message_sum[${RATE}])) / ` +
            `sum(rate(apexalias_update_records_per_message_count[${RATE}]))`,
          legend: 'mean',
        },
        { expr: quantile(0.99, 'apexalias_update_records_per_message'), legend: 'p99' },
      ],
      min: 0,
    },
  ],
};

const WORKQUEUE: SectionSpec = {
  title: 'Workqueue',
  panels: [
    {
      kind: 'timeseries',
      title: 'Workqueue depth',
      description: 'Alias keys ready and waiting in the workqueue; delayed requeues are not counted.',
      unit: 'short',
      width: 8,
      height: 8,
      queries: [{ expr: 'sum(apexalias_workqueue_depth)', legend: 'depth' }],
      min: 0,
    },
    {
      kind: 'timeseries',
      title: 'Workqueue retries',
      description: 'Keys put back per second with rate-limited backoff after a failure.',
      unit: 'ops',
      width: 8,
      height: 8,
      queries: [{ expr: `sum(rate(apexalias_workqueue_retries_total[${RATE}]))`, legend: 'retries' }],
      min: 0,
    },
    {
      kind: 'timeseries',
      title: 'Reconcile duration',
      description:
        'Time one reconcile took, from dequeue to status written (apexalias_reconcile_duration_seconds).',
      unit: 's',
      width: 8,
      height: 8,
      queries: quantiles('apexalias_reconcile_duration_seconds'),
      min: 0,
    },
    {
      kind: 'timeseries',
      title: 'Workqueue wait',
      description:
        'Time a key waited between becoming ready and being picked up (apexalias_workqueue_queue_duration_seconds).',
      unit: 's',
      width: 12,
      height: 8,
      queries: quantiles('apexalias_workqueue_queue_duration_seconds'),
      min: 0,
    },
    {
      kind: 'timeseries',
      title: 'Workqueue work duration',
      description:
        'Time spent processing one key taken from the workqueue (apexalias_workqueue_work_duration_seconds).',
      unit: 's',
      width: 12,
      height: 8,
      queries: quantiles('apexalias_workqueue_work_duration_seconds'),
      min: 0,
    },
  ],
};

const DRILL_DOWN: SectionSpec = {
  title: 'Per-alias drill-down',
  panels: [
    {
      kind: 'timeseries',
      title: 'Time since last sync',
      description:
        'Seconds since the last reconcile that left the alias in sync (time() - apexalias_last_sync_timestamp_seconds). Alert on it against N × TTL.',
      unit: 's',
      width: 8,
      height: 8,
      queries: [
        {
          expr: `time() - max by (namespace, alias) (apexalias_last_sync_timestamp_seconds{${ALIAS_FILTER}})`,
          legend: '{{namespace}}/{{alias}}',
        },
      ],
      min: 0,
    },
    {
      kind: 'timeseries',
      title: 'Time out of sync',
      description:
        'Seconds since the alias last served what it should; 0 while it is in sync (apexalias_out_of_sync_seconds).',
      unit: 's',
      width: 8,
      height: 8,
      queries: [
        {
          expr: `max by (namespace, alias) (apexalias_out_of_sync_seconds{${ALIAS_FILTER}})`,
          legend: '{{namespace}}/{{alias}}',
        },
      ],
      min: 0,
    },
    {
      kind: 'timeseries',
      title: 'Zone and nameserver drift',
      description:
        'Zone drift of the selected aliases per family (apexalias_zone_drift), and per authoritative nameserver (apexalias_zone_drift_nameserver): 1 while drifted, 0 when matching.',
      unit: 'short',
      width: 8,
      height: 8,
      queries: [
        {
          expr: `max by (namespace, alias, family) (apexalias_zone_drift{${ALIAS_FILTER}})`,
          legend: 'zone {{namespace}}/{{alias}} {{family}}',
        },
        {
          expr: `max by (namespace, alias, family, nameserver) (apexalias_zone_drift_nameserver{${ALIAS_FILTER}})`,
          legend: '{{nameserver}} {{namespace}}/{{alias}} {{family}}',
        },
      ],
      min: 0,
      max: 1,
      steps: true,
    },
  ],
};

/** The dashboard's rows, top to bottom. */
const SECTIONS: readonly SectionSpec[] = [OVERVIEW, DRIFT, RESOLUTION, BACKEND, WORKQUEUE, DRILL_DOWN];

/** A, B, …, Z, AA, AB, … */
function refId(index: number): string {
  let n = index;
  let id = '';
  do {
    id = String.fromCharCode(65 + (n % 26)) + id;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return id;
}

function targets(queries: readonly QuerySpec[]): DataqueryBuilder[] {
  return queries.map((q, i) =>
    new DataqueryBuilder()
      .refId(refId(i))
      .datasource(DATASOURCE)
      .expr(scoped(q.expr))
      .legendFormat(q.legend)
      .range(),
  );
}

function statPanel(spec: PanelSpec, id: number): StatPanelBuilder {
  const panel = new StatPanelBuilder()
    .id(id)
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .targets(targets(spec.queries))
    .unit(spec.unit)
    .span(spec.width)
    .height(spec.height)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .graphMode(BigValueGraphMode.Area)
    .colorMode(BigValueColorMode.Value)
    .textMode(spec.textMode ?? BigValueTextMode.Auto);
  if (spec.thresholds) {
    panel.thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(spec.thresholds));
  }
  if (spec.mappings) panel.mappings(spec.mappings);
  if (spec.min !== undefined) panel.min(spec.min);
  if (spec.max !== undefined) panel.max(spec.max);
  return panel;
}

function timeseriesPanel(spec: PanelSpec, id: number): TimeseriesPanelBuilder {
  const panel = new TimeseriesPanelBuilder()
    .id(id)
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .targets(targets(spec.queries))
    .unit(spec.unit)
    .span(spec.width)
    .height(spec.height)
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.List)
        .placement(LegendPlacement.Bottom)
        .calcs([]),
    )
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending))
    .lineWidth(1)
    .fillOpacity(10)
    .lineInterpolation(spec.steps ? LineInterpolation.StepAfter : LineInterpolation.Linear);
  if (spec.min !== undefined) panel.min(spec.min);
  if (spec.max !== undefined) panel.max(spec.max);
  return panel;
}

/** A `label_values(…)` query variable, multi-select with "All" (which matches anything, or nothing). */
function queryVariable(
  name: 'cluster' | 'job' | 'namespace' | 'alias',
  label: string,
  query: string,
): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

/** Builds the apexalias dashboard as plain JSON (Grafana's classic dashboard model). */
export function buildDashboard(): object {
  const builder = new DashboardBuilder('apexalias')
    .uid(DASHBOARD_UID)
    .description(
      'ALIAS/ANAME records at zone apexes: sync state, zone and nameserver drift, target resolution, backend writes and the workqueue. Generated by dashboards/apexalias.ts; do not edit by hand.',
    )
    .tags(['apexalias', 'dns'])
    .readonly()
    .timezone('browser')
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-6h', to: 'now' })
    .refresh('30s')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(queryVariable('cluster', 'Cluster', 'label_values(apexalias_build_info, cluster)'))
    .withVariable(queryVariable('job', 'Job', 'label_values(apexalias_build_info{cluster=~"$cluster"}, job)'))
    .withVariable(
      queryVariable(
        'namespace',
        'Namespace',
        `label_values(apexalias_last_sync_timestamp_seconds{${SCOPE_FILTER}}, namespace)`,
      ),
    )
    .withVariable(
      queryVariable(
        'alias',
        'Alias',
        `label_values(apexalias_last_sync_timestamp_seconds{${SCOPE_FILTER},namespace=~"$namespace"}, alias)`,
      ),
    );

  let nextId = 1;
  for (const section of SECTIONS) {
    builder.withRow(new RowBuilder(section.title).id(nextId++).datasource(DATASOURCE).collapsed(false));
    for (const spec of section.panels) {
      const id = nextId++;
      builder.withPanel(spec.kind === 'stat' ? statPanel(spec, id) : timeseriesPanel(spec, id));
    }
  }
  // A JSON round trip drops undefined fields and class identity: what Grafana would store.
  return JSON.parse(JSON.stringify(builder.build())) as object;
}

/** The dashboard as committed to the chart: 2-space JSON with a final newline. */
export function renderDashboardJson(dashboard: object = buildDashboard()): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}

/** The ConfigMap the Grafana sidecar picks up (label grafana_dashboard: "1"). */
export function renderDashboardConfigMap(dashboard: object = buildDashboard()): string {
  const json = JSON.stringify(dashboard, null, 2)
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
  return [
    '# The apexalias Grafana dashboard for the Grafana sidecar (label grafana_dashboard: "1").',
    '# Generated by `node scripts/gen-dashboard.ts` from dashboards/apexalias.ts: do not edit.',
    '# The sidecar must watch this namespace (for kube-prometheus-stack:',
    '# grafana.sidecar.dashboards.searchNamespace). See docs/dashboard.md.',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    `  name: ${DASHBOARD_CONFIGMAP_NAME}`,
    `  namespace: ${DASHBOARD_CONFIGMAP_NAMESPACE}`,
    '  labels:',
    '    app.kubernetes.io/name: apexalias',
    '    app.kubernetes.io/part-of: apexalias',
    "    grafana_dashboard: '1'",
    'data:',
    `  ${DASHBOARD_CONFIGMAP_KEY}: |`,
    json,
    '',
  ].join('\n');
}
