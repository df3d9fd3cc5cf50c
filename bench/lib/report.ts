/** Writing results: markdown tables, an SVG line plot, and what the run measured on. */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { kubeBinDir } from '../../test/harness/kube.ts';
import { requireBinary, runCommand } from '../../test/harness/process.ts';
import { REPO_ROOT } from './cli.ts';

/** A markdown table: a header row, the `|---|` row, then one row per entry (cells as given). */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(headers), `|${headers.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/** A number with `digits` decimals, or an en dash for none. */
export function fmt(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits);
}

/** The machine a run measured on (2 shared cores here: say so next to every number). */
export function machineInfo(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    platform: `${process.platform}/${process.arch}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    note: '2 shared cores; other jobs (builds, e2e tests) may run at the same time',
  };
}

/** Versions of apexalias, Node, BIND, kube-apiserver and etcd (as tools/build.sh recorded them). */
export async function toolVersions(): Promise<Record<string, string>> {
  const cached = async (name: string): Promise<string> =>
    (await readFile(path.join(kubeBinDir(), `${name}.version`), 'utf8').catch(() => 'unknown')).trim();
  const named = await runCommand(requireBinary('named', 'bind9'), ['-v']);
  const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  return {
    apexalias: pkg.version,
    node: process.version,
    bind: named.stdout.trim(),
    kubeApiserver: await cached('kube-apiserver'),
    etcd: await cached('etcd'),
  };
}

/** The commit the working tree is at, its subject, and whether files differ from it. */
export async function gitCommit(): Promise<{ commit: string; subject: string; dirty: boolean }> {
  const git = async (args: string[]): Promise<string> => {
    const r = await runCommand('git', args, { cwd: REPO_ROOT });
    return r.code === 0 ? r.stdout.trim() : '';
  };
  return {
    commit: (await git(['rev-parse', 'HEAD'])) || 'unknown',
    subject: await git(['log', '-1', '--format=%s']),
    dirty: (await git(['status', '--porcelain', '--untracked-files=no'])) !== '',
  };
}

/** One line of a plot. */
export interface PlotSeries {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** Dashed, for a reference line such as a raw ceiling. */
  dashed?: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/** 1, 2 or 5 times a power of ten: a tick step that gives about `count` ticks over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * pow >= raw) ?? 10) * pow;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A self-contained SVG line plot (step lines: a count holds until the next reading), linear
 * axes from 0, a legend under the title. Written by hand: a dependency would not earn its place
 * for a few polylines.
 */
export function svgLinePlot(opts: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly PlotSeries[];
  width?: number;
  height?: number;
}): string {
  const width = opts.width ?? 880;
  const height = opts.height ?? 480;
  const legendRows = Math.ceil(opts.series.length / 2);
  const m = { left: 78, right: 24, top: 44 + legendRows * 18, bottom: 52 };
  const all = opts.series.flatMap((s) => s.points);
  const xMax = Math.max(1e-9, ...all.map((p) => p[0]));
  const yMax = Math.max(1, ...all.map((p) => p[1]));
  const xStep = niceStep(xMax, 8);
  const yStep = niceStep(yMax, 5);
  const xTop = Math.ceil(xMax / xStep) * xStep;
  const yTop = Math.ceil(yMax / yStep) * yStep;
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const X = (x: number): number => m.left + (x / xTop) * pw;
  const Y = (y: number): number => m.top + ph - (y / yTop) * ph;
  const num = (v: number, step: number): string =>
    step >= 1
      ? v.toLocaleString('en-US', { maximumFractionDigits: 0 })
      : v.toFixed(Math.ceil(-Math.log10(step)));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(opts.title)}</text>`,
  ];
  for (let v = 0; v <= yTop + yStep / 2; v += yStep) {
    out.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${m.left - 6}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end">${num(v, yStep)}</text>`,
    );
  }
  for (let v = 0; v <= xTop + xStep / 2; v += xStep) {
    out.push(
      `<line x1="${X(v).toFixed(1)}" x2="${X(v).toFixed(1)}" y1="${m.top}" y2="${m.top + ph}" stroke="#f0f0f0"/>`,
      `<text x="${X(v).toFixed(1)}" y="${m.top + ph + 16}" text-anchor="middle">${num(v, xStep)}</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`,
    `<text x="${m.left + pw / 2}" y="${height - 12}" text-anchor="middle">${esc(opts.xLabel)}</text>`,
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`,
  );
  opts.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const pts: string[] = [];
    s.points.forEach(([x, y], k) => {
      if (k > 0) pts.push(`${X(x).toFixed(1)},${Y(s.points[k - 1]![1]).toFixed(1)}`);
      pts.push(`${X(x).toFixed(1)},${Y(y).toFixed(1)}`);
    });
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (pts.length)
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.join(' ')}"/>`);
    const lx = m.left + (i % 2) * (pw / 2);
    const ly = 36 + Math.floor(i / 2) * 18;
    out.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 30}" y="${ly}">${esc(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
