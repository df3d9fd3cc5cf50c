import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.ts';

/** A liveness answer: a boolean, or a verdict that says why the process is unhealthy. */
export type HealthVerdict = boolean | { ok: boolean; reason?: string };

/** Options for {@link startObservabilityServer}. */
export interface ObservabilityServerOptions {
  /** Address to listen on. Default `0.0.0.0`, so kubelet and Prometheus can reach the pod. */
  host?: string;
  /** TCP port; 0 picks a free one (the real port is returned). */
  port: number;
  /** The registry `/metrics` exposes. */
  registry: Registry;
  /** Readiness for `/readyz`. A throw, a rejection or a timeout counts as not ready. */
  ready: () => boolean | Promise<boolean>;
  /** Liveness for `/healthz`; default always healthy. A throw counts as unhealthy. */
  healthy?: () => HealthVerdict;
  logger?: Logger;
  /** How long `ready()` may take before `/readyz` answers 503. Default 5000 ms. */
  readyTimeoutMs?: number;
}

/** A running observability server. */
export interface ObservabilityServer {
  /** The port it listens on (the real one when 0 was asked for). */
  readonly port: number;
  /** Stops accepting connections and resolves once the server is closed. Safe to call twice. */
  close(): Promise<void>;
}

const ALLOW = 'GET, HEAD';
const TEXT = 'text/plain; charset=utf-8';
/** In-flight scrapes get this long to finish on close before their connections are cut. */
const CLOSE_GRACE_MS = 2_000;

/**
 * Serves `GET /healthz` (liveness), `GET /readyz` (readiness) and `GET /metrics` (Prometheus
 * text format) over plain HTTP. Unknown paths answer 404, other methods 405. To put the probes
 * and the metrics on separate ports, call it twice.
 */
export async function startObservabilityServer(
  opts: ObservabilityServerOptions,
): Promise<ObservabilityServer> {
  const host = opts.host ?? '0.0.0.0';
  const readyTimeoutMs = opts.readyTimeoutMs ?? 5_000;
  const routes: Record<string, (res: ServerResponse) => Promise<void>> = {
    '/healthz': async (res) => {
      const { ok, reason } = checkHealth(opts.healthy);
      if (ok) send(res, 200, TEXT, 'ok\n');
      else send(res, 500, TEXT, `unhealthy: ${reason}\n`);
    },
    '/readyz': async (res) => {
      const { ok, reason } = await checkReady(opts.ready, readyTimeoutMs);
      if (ok) send(res, 200, TEXT, 'ok\n');
      else send(res, 503, TEXT, reason ? `not ready: ${reason}\n` : 'not ready\n');
    },
    '/metrics': async (res) => {
      let body: string;
      try {
        body = await opts.registry.metrics();
      } catch (err) {
        opts.logger?.error('collecting metrics failed', { error: messageOf(err) });
        send(res, 500, TEXT, 'collecting metrics failed\n');
        return;
      }
      send(res, 200, opts.registry.contentType, body);
    },
  };

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      opts.logger?.error('observability request failed', { url: req.url, error: messageOf(err) });
      if (!res.headersSent) send(res, 500, TEXT, 'internal error\n');
      else res.destroy();
    });
  });
  // A probe or scrape is small; do not let a stalled client hold a socket for minutes.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      send(res, 400, TEXT, 'bad request\n');
      return;
    }
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (!route) {
      send(res, 404, TEXT, 'not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', ALLOW);
      send(res, 405, TEXT, 'method not allowed\n');
      return;
    }
    await route(res);
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port: opts.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => opts.logger?.error('observability server error', { error: err.message }));
  const port = (server.address() as AddressInfo).port;
  opts.logger?.info('observability server listening', { host, port });

  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        cut.unref();
        server.close((err) => {
          clearTimeout(cut);
          if (err) reject(err);
          else resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  // Node drops the body of a HEAD response by itself; the headers stay those of GET.
  res.end(body);
}

function checkHealth(healthy: ObservabilityServerOptions['healthy']): { ok: boolean; reason: string } {
  if (!healthy) return { ok: true, reason: '' };
  try {
    const verdict = healthy();
    if (typeof verdict === 'boolean') return { ok: verdict, reason: verdict ? '' : 'health check failed' };
    return { ok: verdict.ok, reason: verdict.reason ?? 'health check failed' };
  } catch (err) {
    return { ok: false, reason: messageOf(err) };
  }
}

async function checkReady(
  ready: ObservabilityServerOptions['ready'],
  timeoutMs: number,
): Promise<{ ok: boolean; reason?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: boolean; reason: string }>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, reason: `readiness check took over ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  try {
    const check = Promise.resolve()
      .then(ready)
      .then((ok) => ({ ok: ok === true }));
    return await Promise.race([check, timeout]);
  } catch (err) {
    return { ok: false, reason: messageOf(err) };
  } finally {
    clearTimeout(timer);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
