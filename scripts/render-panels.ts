/**
 * Draws a few panels of the apexalias dashboard as SVG line charts, from data a real Prometheus
 * recorded during the end-to-end test (test/integration/prometheus-e2e.test.ts). Hand-written
 * SVG, no dependencies: the pictures in docs/dashboard.md show what an operator sees.
 *
 *   node scripts/render-panels.ts [dump.json] [out-dir]
 *
 * Defaults: docs/img/e2e-panels.json and docs/img. The test writes the dump and calls
 * `renderPanels` itself when run with APEXALIAS_RENDER_PANELS=1; this command re-draws the
 * pictures from a dump without running the test again. The output depends only on the dump.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One line of a panel: its legend and `[unix seconds, value]` points; null is a gap. */
export interface DumpSeries {
  name: string;
  points: Array<[number, number | null]>;
}

/** One panel's data over the dump's time range. */
export interface DumpPanel {
  /** The SVG's base name in the output folder, e.g. `zone-drift`. */
  file: string;
  /** The dashboard panel's title. */
  title: string;
  /** What the picture shows, in one line (the SVG's <desc>). */
  caption: string;
  /** The panel's Grafana unit: `s`, `ops`, `reqps`, `short`, `percentunit`. */
  unit: string;
  /** Draw steps (0/1 gauges) instead of straight lines. */
  steps?: boolean;
  min?: number;
  max?: number;
  /** The PromQL expressions the data came from, for the record. */
  queries: string[];
  series: DumpSeries[];
}

/** A moment marked on every chart (a hand edit, a repair). */
export interface DumpAnnotation {
  at: number;
  label: string;
}

/** What the e2e test writes: the time range, the marks and the panels. */
export interface PanelDump {
  /** Unix seconds of the range's start and end, and the range query's step. */
  start: number;
  end: number;
  step: number;
  /** What `$__rate_interval` was replaced with. */
  rateInterval: string;
  annotations: DumpAnnotation[];
  panels: DumpPanel[];
}

const WIDTH = 720;
const HEIGHT = 330;
const LEFT = 64;
const RIGHT = 16;
/** Title at the top, then three rows for annotation labels, then the plot. */
const TOP = 62;
const LABEL_ROW_Y = [36, 47, 58];
const PLOT_BOTTOM = 252;
/** Grafana's classic palette, then darker shades, so that up to 12 series never share a colour. */
const COLORS = [
  '#73BF69',
  '#F2CC0C',
  '#5794F2',
  '#FF780A',
  '#F2495C',
  '#B877D9',
  '#37872D',
  '#C4162A',
  '#1F60C4',
  '#8F3BB8',
  '#E0B400',
  '#FA6400',
];
const FONT = 'font-family="Inter, Helvetica, Arial, sans-serif"';

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A number as short, stable text: at most 3 significant digits, no float noise. */
function num(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return String(Number(value.toFixed(Math.max(digits, abs < 0.01 ? 5 : digits))));
}

/** A value with the panel's unit, as Grafana would label an axis. */
export function formatValue(value: number, unit: string): string {
  switch (unit) {
    case 's':
      if (value !== 0 && Math.abs(value) < 1) return `${num(value * 1000)} ms`;
      return `${num(value)} s`;
    case 'ops':
      return `${num(value)} ops/s`;
    case 'reqps':
      return `${num(value)} req/s`;
    case 'percentunit':
      return `${num(value * 100)}%`;
    default:
      return num(value);
  }
}

/** Coordinates keep one decimal: enough for a 720 px picture and stable across runs. */
function px(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** A "nice" axis maximum and tick step for data up to `max`. */
function niceScale(min: number, max: number, ticks = 4): { min: number; max: number; step: number } {
  const span = max - min || Math.abs(max) || 1;
  const raw = span / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  return { min: Math.floor(min / step) * step, max: Math.ceil(max / step) * step || step, step };
}

/** The SVG of one panel. */
export function renderPanelSvg(panel: DumpPanel, dump: PanelDump): string {
  const plotRight = WIDTH - RIGHT;
  const span = Math.max(1, dump.end - dump.start);
  const x = (t: number): number => LEFT + ((t - dump.start) / span) * (plotRight - LEFT);

  const values = panel.series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => v !== null);
  const dataMin = values.length ? Math.min(...values) : 0;
  const dataMax = values.length ? Math.max(...values) : 1;
  const scale = niceScale(panel.min ?? Math.min(0, dataMin), panel.max ?? Math.max(dataMax, panel.min ?? 0));
  const yMin = scale.min;
  const yMax = panel.max ?? scale.max;
  const y = (v: number): number => PLOT_BOTTOM - ((v - yMin) / (yMax - yMin || 1)) * (PLOT_BOTTOM - TOP);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="title desc">`,
    `<title id="title">${esc(panel.title)}</title>`,
    `<desc id="desc">${esc(panel.caption)}</desc>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff" stroke="#d8d9da"/>`,
    `<text x="12" y="22" ${FONT} font-size="14" font-weight="600" fill="#1f1f20">${esc(panel.title)}</text>`,
  );

  // Horizontal grid and y labels.
  const yTicks: number[] = [];
  const yStep = panel.max !== undefined && panel.max <= 1 && yMin === 0 ? 0.5 : scale.step;
  for (let v = yMin; v <= yMax + yStep / 1000; v += yStep) yTicks.push(Number(v.toPrecision(10)));
  for (const v of yTicks) {
    out.push(
      `<line x1="${LEFT}" y1="${px(y(v))}" x2="${plotRight}" y2="${px(y(v))}" stroke="#e9e9eb" stroke-width="1"/>`,
      `<text x="${LEFT - 6}" y="${px(y(v) + 4)}" ${FONT} font-size="10" fill="#6e6e73" text-anchor="end">${esc(formatValue(v, panel.unit))}</text>`,
    );
  }
  // Vertical grid and time labels: seconds since the range's start.
  const xStep = niceScale(0, span, 6).step;
  for (let t = 0; t <= span + 1e-9; t += xStep) {
    const tx = x(dump.start + t);
    out.push(
      `<line x1="${px(tx)}" y1="${TOP}" x2="${px(tx)}" y2="${PLOT_BOTTOM}" stroke="#f1f1f3" stroke-width="1"/>`,
      `<text x="${px(tx)}" y="${PLOT_BOTTOM + 14}" ${FONT} font-size="10" fill="#6e6e73" text-anchor="middle">${num(t)} s</text>`,
    );
  }
  out.push(
    `<line x1="${LEFT}" y1="${PLOT_BOTTOM}" x2="${plotRight}" y2="${PLOT_BOTTOM}" stroke="#9fa0a4" stroke-width="1"/>`,
  );

  // Annotations: dashed vertical lines with a label, like Grafana's annotation markers. Labels go
  // into the first of three rows where they do not overlap the previous label of that row.
  const rowEnds: number[] = [];
  const marks = dump.annotations
    .filter((a) => a.at >= dump.start && a.at <= dump.end)
    .sort((a, b) => a.at - b.at || a.label.localeCompare(b.label));
  for (const a of marks) {
    const ax = x(a.at);
    const width = a.label.length * 5.2 + 4;
    const anchor = ax + width > plotRight ? 'end' : 'start';
    const [from, to] = anchor === 'end' ? [ax - width, ax] : [ax, ax + width];
    let row = rowEnds.findIndex((end) => end < from);
    if (row < 0) row = Math.min(rowEnds.length, 2);
    rowEnds[row] = Math.max(rowEnds[row] ?? 0, to);
    out.push(
      `<line x1="${px(ax)}" y1="${LABEL_ROW_Y[row]! - 8}" x2="${px(ax)}" y2="${PLOT_BOTTOM}" stroke="#8e8e93" stroke-width="1" stroke-dasharray="4 3"/>`,
    );
    out.push(
      `<text x="${px(ax + (anchor === 'end' ? -3 : 3))}" y="${LABEL_ROW_Y[row]}" ${FONT} font-size="9" fill="#5a5a5f" stroke="#ffffff" stroke-width="3" paint-order="stroke" text-anchor="${anchor}">${esc(a.label)}</text>`,
    );
  }

  // Series.
  for (const [i, s] of panel.series.entries()) {
    const color = COLORS[i % COLORS.length]!;
    const segments: string[] = [];
    let current = '';
    let prev: [number, number] | undefined;
    for (const [t, v] of s.points) {
      if (v === null || !Number.isFinite(v)) {
        if (current) segments.push(current);
        current = '';
        prev = undefined;
        continue;
      }
      const [cx, cy] = [x(t), y(Math.min(yMax, Math.max(yMin, v)))];
      if (!prev) current = `M${px(cx)} ${px(cy)}`;
      else if (panel.steps) current += ` H${px(cx)} V${px(cy)}`;
      else current += ` L${px(cx)} ${px(cy)}`;
      prev = [cx, cy];
    }
    if (current) segments.push(current);
    for (const d of segments) {
      out.push(
        `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.6" stroke-linejoin="round" stroke-linecap="round"/>`,
      );
    }
  }
  if (panel.series.length === 0) {
    out.push(
      `<text x="${(LEFT + plotRight) / 2}" y="${(TOP + PLOT_BOTTOM) / 2}" ${FONT} font-size="12" fill="#6e6e73" text-anchor="middle">No data</text>`,
    );
  }

  // Legend below the plot, wrapped into rows.
  let lx = LEFT;
  let ly = PLOT_BOTTOM + 34;
  for (const [i, s] of panel.series.entries()) {
    const w = 22 + s.name.length * 6.2;
    if (lx + w > plotRight && lx > LEFT) {
      lx = LEFT;
      ly += 16;
    }
    out.push(
      `<rect x="${px(lx)}" y="${px(ly - 8)}" width="14" height="3" fill="${COLORS[i % COLORS.length]}"/>`,
      `<text x="${px(lx + 18)}" y="${px(ly - 3)}" ${FONT} font-size="10" fill="#3d3d42">${esc(s.name)}</text>`,
    );
    lx += w + 12;
  }
  out.push('</svg>', '');
  return out.join('\n');
}

/** Writes `<file>.svg` for every panel of the dump into `outDir`; returns the paths written. */
export async function renderPanels(dump: PanelDump, outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const panel of dump.panels) {
    const file = join(outDir, `${panel.file}.svg`);
    await writeFile(file, renderPanelSvg(panel, dump));
    written.push(file);
  }
  return written;
}

/**
 * Writes the dump as JSON formatted the way the repository's prettier config wants it, so that
 * `prettier --check .` stays green with the dump committed.
 */
export async function writeDump(dump: PanelDump, file: string): Promise<void> {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(file)) ?? {};
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, await prettier.format(JSON.stringify(dump), { ...options, parser: 'json' }));
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const dumpPath = resolve(process.argv[2] ?? join(root, 'docs', 'img', 'e2e-panels.json'));
  const outDir = resolve(process.argv[3] ?? join(root, 'docs', 'img'));
  const dump = JSON.parse(await readFile(dumpPath, 'utf8')) as PanelDump;
  for (const file of await renderPanels(dump, outDir)) console.log(`wrote ${file}`);
}
