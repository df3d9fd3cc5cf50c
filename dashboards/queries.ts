/**
 * Reads a Grafana dashboard as plain JSON (what `buildDashboard()` returns, or the committed
 * charts/apexalias/files/dashboard.json) and lists its panels and their PromQL queries.
 *
 * `dashboardQueries` substitutes the template variables the way Grafana would for a chosen
 * selection, so that every query can be run as is against a real Prometheus.
 */

/** A panel of the dashboard JSON; only the fields read here are typed. */
export interface PanelJson {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  datasource?: unknown;
  targets?: unknown;
  panels?: unknown;
  fieldConfig?: unknown;
  gridPos?: unknown;
  [key: string]: unknown;
}

/** A query (target) of a panel. */
export interface TargetJson {
  refId?: unknown;
  expr?: unknown;
  datasource?: unknown;
  [key: string]: unknown;
}

/** A panel together with the title of the row it sits in (undefined for rows and panels above any row). */
export interface PlacedPanel {
  panel: PanelJson;
  row: string | undefined;
}

/** One query of the dashboard, ready to run. */
export interface DashboardQuery {
  /** The panel's title. */
  panel: string;
  /** The PromQL expression with its template variables substituted. */
  expr: string;
  refId: string;
  /** The title of the row that holds the panel. */
  row: string | undefined;
}

/** A selection of the dashboard's variables. */
export interface QueryVariables {
  /** As `namespace`, for `$cluster`. */
  cluster?: string | readonly string[];
  /** As `namespace`, for `$job`. */
  job?: string | readonly string[];
  /**
   * Inserted verbatim into `namespace=~"$namespace"`, so a value is a regex; an array becomes
   * `(a|b)` as Grafana does for a multi-value selection. Omitted: the variable's "All" value
   * (its `allValue`, `.*` here).
   */
  namespace?: string | readonly string[];
  /** As `namespace`, for `$alias`. */
  alias?: string | readonly string[];
  /** `$__rate_interval`; default `1m`. */
  rateInterval?: string;
  /** `$__interval`; default `1m`. */
  interval?: string;
  /** `$__range`; default `1h`. */
  range?: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/**
 * Every panel in document order, rows included. Panels that follow an expanded row belong to
 * it; a collapsed row keeps its panels in its own `panels` list, and those are listed right after it.
 */
export function dashboardPanels(dashboard: object): PlacedPanel[] {
  const placed: PlacedPanel[] = [];
  let row: string | undefined;
  for (const item of arrayOf((dashboard as Record<string, unknown>).panels)) {
    if (!isObject(item)) continue;
    const panel = item as PanelJson;
    if (panel.type === 'row') {
      row = typeof panel.title === 'string' ? panel.title : '';
      placed.push({ panel, row: undefined });
      for (const nested of arrayOf(panel.panels)) {
        if (isObject(nested)) placed.push({ panel: nested as PanelJson, row });
      }
    } else {
      placed.push({ panel, row });
    }
  }
  return placed;
}

/** The targets of a panel (none for a row). */
export function panelTargets(panel: PanelJson): TargetJson[] {
  return arrayOf(panel.targets).filter(isObject) as TargetJson[];
}

/** The dashboard's template variables, by name. */
export function dashboardVariables(dashboard: object): Map<string, Record<string, unknown>> {
  const templating = (dashboard as Record<string, unknown>).templating;
  const list = isObject(templating) ? arrayOf(templating.list) : [];
  const byName = new Map<string, Record<string, unknown>>();
  for (const v of list) {
    if (isObject(v) && typeof v.name === 'string') byName.set(v.name, v);
  }
  return byName;
}

/** `$name`, `${name}`, `${name:format}` and `[[name]]`, Grafana's variable syntaxes. */
const VARIABLE = /\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)/g;

function selection(
  value: string | readonly string[] | undefined,
  variable: Record<string, unknown> | undefined,
): string {
  if (value === undefined) {
    const all = variable?.allValue;
    return typeof all === 'string' && all !== '' ? all : '.*';
  }
  if (typeof value === 'string') return value;
  if (value.length === 1) return value[0]!;
  return `(${value.join('|')})`;
}

/**
 * Substitutes the template variables in one expression. Throws on a variable it does not know,
 * so that a query can never reach Prometheus with a `$` left in it.
 */
export function substituteVariables(
  expr: string,
  vars: QueryVariables,
  variables: ReadonlyMap<string, Record<string, unknown>> = new Map(),
): string {
  const values: Record<string, string> = {
    cluster: selection(vars.cluster, variables.get('cluster')),
    job: selection(vars.job, variables.get('job')),
    namespace: selection(vars.namespace, variables.get('namespace')),
    alias: selection(vars.alias, variables.get('alias')),
    __rate_interval: vars.rateInterval ?? '1m',
    __interval: vars.interval ?? '1m',
    __range: vars.range ?? '1h',
  };
  return expr.replace(VARIABLE, (match, braced?: string, bracketed?: string, bare?: string) => {
    const name = braced ?? bracketed ?? bare ?? '';
    const value = values[name];
    if (value === undefined) throw new Error(`unknown template variable ${match} in: ${expr}`);
    return value;
  });
}

/**
 * Every target expression of the dashboard, with `$cluster`, `$job`, `$namespace`, `$alias`, `$__rate_interval`
 * (default `1m`), `$__interval` and `$__range` substituted, in panel order.
 */
export function dashboardQueries(dashboard: object, vars: QueryVariables = {}): DashboardQuery[] {
  const variables = dashboardVariables(dashboard);
  const queries: DashboardQuery[] = [];
  for (const { panel, row } of dashboardPanels(dashboard)) {
    for (const target of panelTargets(panel)) {
      if (typeof target.expr !== 'string') continue;
      queries.push({
        panel: typeof panel.title === 'string' ? panel.title : `panel ${String(panel.id)}`,
        expr: substituteVariables(target.expr, vars, variables),
        refId: typeof target.refId === 'string' ? target.refId : '',
        row,
      });
    }
  }
  return queries;
}
