import { spawn, spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startObservabilityServer } from '../../src/observe/http.ts';
import type { ObservabilityServer } from '../../src/observe/http.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import type { Metrics } from '../../src/observe/metrics.ts';

// promtool lives in /usr/bin (Debian's prometheus package); a bare PATH may still lack sbin dirs.
const PATH = `${process.env.PATH ?? ''}:/usr/local/bin:/usr/bin:/usr/local/sbin:/usr/sbin`;

function requirePromtool(): void {
  const probe = spawnSync('promtool', ['--version'], { env: { ...process.env, PATH }, encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'promtool is not installed (Debian package "prometheus"). `npm test` installs it through ' +
        'scripts/install-test-deps.sh; run that script, then this test again.',
    );
  }
}

/** Runs `promtool check metrics` with the exposition text on stdin. */
function promtoolCheckMetrics(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { env: { ...process.env, PATH } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

/** Puts a value into every metric, with every helper, so each series shape is in the text. */
function exerciseEverything(m: Metrics): void {
  m.observeReconcile('success', 0.12);
  m.observeReconcile('error', 1.3);
  m.observeResolve(0.004);
  m.observeResolve(0.5, 'chain-too-long');
  m.countResolveError('timeout');
  m.bindResolverStats({ queries: 10, cacheHits: 30, cacheMisses: 10 });
  m.countTargetDrift();
  m.setZoneDrift('web', 'apex', 'IPv4', true);
  m.setZoneDrift('web', 'apex', 'AAAA', false);
  m.setNameserverDrift('web', 'apex', 'IPv4', { 'ns1.example.com.': false, 'ns2.example.com.': true });
  m.setInSync('web', 'apex', false, Date.now() - 30_000);
  m.setInSync('web', 'other', true);
  m.markSynced('web', 'apex');
  m.setRecordsManaged([
    { zone: 'example.com.', family: 'A', records: 2 },
    { zone: 'example.com.', family: 'AAAA', records: 1 },
  ]);
  m.observeBackend('primary', 'read', 0.003);
  m.observeBackend('primary', 'apply', 0.02, 'YXRRSET');
  m.observeUpdate('primary', 3);
  m.workqueueDepth.set(2);
  m.workqueueQueueDuration.observe(0.01);
  m.workqueueWorkDuration.observe(0.2);
  m.workqueueRetries.inc();
  m.setLeader(true);
  m.setAliasCounts(1, 1);
}

describe('promtool check metrics', () => {
  it('accepts the exposition text of every exercised metric, process metrics included', async () => {
    requirePromtool();
    const m = createMetrics(new Registry(), { version: '0.1.0-test' });
    exerciseEverything(m);
    const text = await m.registry.metrics();
    // Every apexalias metric is in the text, with samples.
    for (const metric of await m.registry.getMetricsAsJSON())
      expect(text).toContain(`# TYPE ${metric.name} `);
    // The process and Node.js metrics under their standard names.
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
    const { code, output } = await promtoolCheckMetrics(text);
    expect(output.trim(), 'promtool found problems').toBe('');
    expect(code).toBe(0);
  });

  it('would catch a bad name (the check is real)', async () => {
    requirePromtool();
    const { code, output } = await promtoolCheckMetrics(
      '# HELP apexalias_bad_total a gauge named like a counter\n# TYPE apexalias_bad_total gauge\napexalias_bad_total 1\n',
    );
    expect(code).not.toBe(0);
    expect(output).toContain('apexalias_bad_total');
  });
});

describe('observability HTTP server', () => {
  const servers: ObservabilityServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function start(
    opts: Partial<Parameters<typeof startObservabilityServer>[0]> = {},
  ): Promise<{ base: string; metrics: Metrics }> {
    const metrics = createMetrics(new Registry(), { defaultMetrics: false, version: '0.1.0-test' });
    const server = await startObservabilityServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      ready: () => true,
      ...opts,
    });
    servers.push(server);
    expect(server.port).toBeGreaterThan(0);
    return { base: `http://127.0.0.1:${server.port}`, metrics };
  }

  it('answers /healthz, /readyz as readiness flips, /metrics, 404 and 405', async () => {
    let ready = false;
    const { base } = await start({ ready: async () => ready });

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');

    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    await notReady.text();
    ready = true;
    const isReady = await fetch(`${base}/readyz?verbose=1`);
    expect(isReady.status).toBe(200);
    expect(await isReady.text()).toBe('ok\n');

    const scrape = await fetch(`${base}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toBe(new Registry().contentType);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await scrape.text();
    expect(body).toContain(`apexalias_build_info{version="0.1.0-test",node_version="${process.version}"} 1`);

    const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');

    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    await missing.text();

    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await fetch(`${base}/metrics`, { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
      await res.text();
    }
  });

  it('reports unhealthy with the reason, and a failing or hanging readiness check as not ready', async () => {
    let verdict: boolean | { ok: boolean; reason?: string } = { ok: false, reason: 'informer stalled' };
    const { base } = await start({
      healthy: () => verdict,
      ready: () => {
        throw new Error('cache not synced');
      },
    });
    const sick = await fetch(`${base}/healthz`);
    expect(sick.status).toBe(500);
    expect(await sick.text()).toBe('unhealthy: informer stalled\n');
    verdict = false;
    const plainSick = await fetch(`${base}/healthz`);
    expect(plainSick.status).toBe(500);
    await plainSick.text();
    verdict = true;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    const failing = await fetch(`${base}/readyz`);
    expect(failing.status).toBe(503);
    expect(await failing.text()).toBe('not ready: cache not synced\n');

    const hanging = await start({ ready: () => new Promise<boolean>(() => {}), readyTimeoutMs: 50 });
    const slow = await fetch(`${hanging.base}/readyz`);
    expect(slow.status).toBe(503);
    expect(await slow.text()).toMatch(/took over 50 ms/);
  });

  it('serves probes and metrics on separate ports when started twice, and closes idempotently', async () => {
    const { base: a, metrics } = await start();
    const b = await startObservabilityServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      ready: () => true,
    });
    expect(b.port).not.toBe(Number(new URL(a).port));
    expect((await fetch(`http://127.0.0.1:${b.port}/metrics`)).status).toBe(200);
    await b.close();
    await b.close();
    await expect(fetch(`http://127.0.0.1:${b.port}/healthz`)).rejects.toThrow();
  });

  it('fails to start on a port already taken', async () => {
    const first = await start();
    await expect(
      startObservabilityServer({
        host: '127.0.0.1',
        port: Number(new URL(first.base).port),
        registry: new Registry(),
        ready: () => true,
      }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});
