/**
 * A real Prometheus for tests (Debian's `prometheus` package, 2.42): started in its own temp dir on
 * a free loopback port, scraping the given targets, and stopped by PID. Queries go through its
 * HTTP API (`/api/v1/query`, `/api/v1/query_range`).
 *
 * Prometheus is ready in well under a second, but its first scrape comes about 5 s after the
 * start even with a 1 s scrape interval (the discovery manager hands targets over at most every
 * 5 s); `waitForTarget()` waits for that first successful scrape.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

import { freePort } from './ports.ts';
import { requireBinary, startProcess } from './process.ts';
import { ADDRESS_IN_USE, makeServerDir, withPortRetry } from './server-common.ts';

/** Options for {@link startPrometheus}. */
export interface StartPrometheusOptions {
  /** `host:port` of each /metrics endpoint to scrape, e.g. `127.0.0.1:12345`. */
  targets: string[];
  /** `scrape_interval` (and `scrape_timeout`) in seconds. Default 1. */
  scrapeIntervalSeconds?: number;
  /** The scrape job's name, which becomes the `job` label. Default `apexalias`. */
  job?: string;
  /** Keep the temp dir after `stop()` (for debugging). Default false. */
  keepDir?: boolean;
  /** Startup timeout. Default 15 s. */
  timeoutMs?: number;
}

/** One series of an instant query: its labels and `[unix seconds, value as text]`. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** One series of a range query: its labels and every `[unix seconds, value as text]`. */
export interface PromRangeSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

/** A scrape target as `/api/v1/targets` reports it. */
export interface PromTarget {
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  lastScrape: string;
  labels: Record<string, string>;
}

/** A running Prometheus. */
export interface PrometheusServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** The temp dir with prometheus.yml and the TSDB. Removed by `stop()` unless `keepDir`. */
  readonly dir: string;
  /** An instant query at `timeSec` (default: now). A scalar result comes back as one series without labels. */
  query(expr: string, timeSec?: number): Promise<PromSample[]>;
  /** A range query from `startSec` to `endSec` (unix seconds) every `stepSec`. */
  queryRange(expr: string, startSec: number, endSec: number, stepSec: number): Promise<PromRangeSeries[]>;
  /** The scrape targets and their health. */
  targets(): Promise<PromTarget[]>;
  /** Resolves once every target has been scraped successfully at least once (default timeout 30 s). */
  waitForTarget(timeoutMs?: number): Promise<void>;
  /** Prometheus's last 64 KiB of log output. */
  output(): string;
  /** SIGTERM (SIGKILL after 3 s), then removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

interface ApiResponse<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}

function configText(options: StartPrometheusOptions): string {
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  // JSON is YAML, and quotes every value safely.
  return `${JSON.stringify(
    {
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      scrape_configs: [
        {
          job_name: options.job ?? 'apexalias',
          metrics_path: '/metrics',
          static_configs: [{ targets: options.targets }],
        },
      ],
    },
    null,
    2,
  )}\n`;
}

/** A call of the HTTP API: queries are POSTed (no URL length limit), the rest is GET only. */
async function api<T>(
  url: string,
  params: Record<string, string>,
  method: 'GET' | 'POST' = 'POST',
): Promise<T> {
  const query = new URLSearchParams(params).toString();
  const res =
    method === 'POST'
      ? await fetch(url, {
          method,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: query,
          signal: AbortSignal.timeout(10_000),
        })
      : await fetch(`${url}?${query}`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: ApiResponse<T>;
  try {
    body = JSON.parse(text) as ApiResponse<T>;
  } catch {
    throw new Error(`Prometheus ${new URL(url).pathname} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
  if (body.status !== 'success' || body.data === undefined) {
    throw new Error(
      `Prometheus ${new URL(url).pathname} failed (HTTP ${res.status}, ${body.errorType ?? '?'}): ` +
        `${body.error ?? 'no data'}; params ${JSON.stringify(params)}`,
    );
  }
  return body.data;
}

/**
 * Starts `prometheus` on a free port of 127.0.0.1 with a config that scrapes `targets` every
 * `scrapeIntervalSeconds`, and resolves once `/-/ready` answers 200. A missing binary fails
 * (never skips) with the Debian package to install.
 */
export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer> {
  const bin = requireBinary('prometheus', 'prometheus');
  if (options.targets.length === 0) throw new Error('startPrometheus: at least one target is needed');

  return withPortRetry(async () => {
    const dir = await makeServerDir('prometheus');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const configPath = path.join(dir, 'prometheus.yml');
    await fs.writeFile(configPath, configText(options));
    let proc;
    try {
      proc = await startProcess(
        bin,
        [
          `--config.file=${configPath}`,
          `--storage.tsdb.path=${path.join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=warn',
        ],
        {
          cwd: dir,
          name: `prometheus (port ${port})`,
          timeoutMs: options.timeoutMs ?? 15_000,
          failOn: ADDRESS_IN_USE,
          ready: async () => (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok,
        },
      );
    } catch (err) {
      await fs.rm(dir, { recursive: true, force: true });
      throw err;
    }

    const targets = async (): Promise<PromTarget[]> =>
      (await api<{ activeTargets: PromTarget[] }>(`${url}/api/v1/targets`, { state: 'active' }, 'GET'))
        .activeTargets;

    const server: PrometheusServer = {
      url,
      port,
      pid: proc.pid,
      dir,
      async query(expr, timeSec) {
        const params: Record<string, string> = { query: expr };
        if (timeSec !== undefined) params.time = String(timeSec);
        const data = await api<{ resultType: string; result: unknown }>(`${url}/api/v1/query`, params);
        if (data.resultType === 'vector') return data.result as PromSample[];
        if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
        throw new Error(
          `query(${expr}) returned a ${data.resultType}; use an expression that yields a vector`,
        );
      },
      async queryRange(expr, startSec, endSec, stepSec) {
        const data = await api<{ resultType: string; result: PromRangeSeries[] }>(
          `${url}/api/v1/query_range`,
          { query: expr, start: String(startSec), end: String(endSec), step: String(stepSec) },
        );
        return data.result;
      },
      targets,
      async waitForTarget(timeoutMs = 30_000) {
        const deadline = Date.now() + timeoutMs;
        let last: PromTarget[] = [];
        let lastError: unknown;
        while (Date.now() < deadline) {
          if (proc.exited()) throw new Error(`prometheus exited. Last output:\n${proc.output()}`);
          try {
            last = await targets();
            if (last.length > 0 && last.every((t) => t.health === 'up')) return;
          } catch (err) {
            lastError = err;
          }
          await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error(
          `Prometheus did not scrape every target within ${timeoutMs} ms: ` +
            JSON.stringify(last.map((t) => ({ url: t.scrapeUrl, health: t.health, error: t.lastError }))) +
            (lastError ? `; last API error: ${(lastError as Error).message}` : ''),
        );
      },
      output: () => proc.output(),
      stop: async () => {
        await proc.stop();
        if (!options.keepDir) await fs.rm(dir, { recursive: true, force: true });
      },
    };
    return server;
  });
}
