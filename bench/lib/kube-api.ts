/**
 * The bench's own requests to kube-apiserver: creating many objects quickly, counting Ready
 * objects with one LIST, and reading `apiserver_request_total` from /metrics. HTTPS with the
 * admin identity of the kubeconfig over a small pool of keep-alive connections.
 */
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

import type { KubeCluster } from '../../test/harness/kube.ts';

/** A reply: the HTTP status and the body as text. */
export interface ApiReply {
  status: number;
  body: string;
}

/** API requests counted by kube-apiserver, keyed `VERB resource[/subresource]`. */
export type RequestCounts = Record<string, number>;

/** kube-apiserver as the admin identity, with a count of the requests the bench itself sent. */
export class KubeApi {
  /** Requests this client sent, keyed like {@link RequestCounts} (take them out of the server's counts). */
  readonly sent: RequestCounts = {};
  readonly #server: string;
  readonly #options: https.RequestOptions;

  private constructor(server: string, options: https.RequestOptions) {
    this.#server = server;
    this.#options = options;
  }

  /** A client for the cluster's admin kubeconfig. */
  static async of(kube: KubeCluster): Promise<KubeApi> {
    const options: https.RequestOptions = {};
    await kube.kubeConfig().applyToHTTPSOptions(options);
    options.agent = new https.Agent({ keepAlive: true, maxSockets: 16 });
    return new KubeApi(kube.server, options);
  }

  /** One request; `count` is the key it is counted under in {@link sent}. */
  request(
    method: string,
    path: string,
    opts: { body?: unknown; accept?: string; count?: string; timeoutMs?: number } = {},
  ): Promise<ApiReply> {
    if (opts.count) this.sent[opts.count] = (this.sent[opts.count] ?? 0) + 1;
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${this.#server}${path}`,
        {
          ...this.#options,
          method,
          timeout: opts.timeoutMs ?? 120_000,
          headers: {
            accept: opts.accept ?? 'application/json',
            ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Creates a namespace. */
  async createNamespace(name: string): Promise<void> {
    const r = await this.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
    });
    if (r.status !== 201)
      throw new Error(`creating namespace ${name}: HTTP ${r.status} ${r.body.slice(0, 500)}`);
  }

  /**
   * POSTs every object to `collection` (e.g. `/apis/g/v1/namespaces/ns/things`), `concurrency`
   * at a time; `onProgress` is called every 1,000 objects. Throws on the first refusal.
   */
  async createAll(
    collection: string,
    objects: readonly object[],
    opts: { concurrency?: number; onProgress?: (created: number) => void } = {},
  ): Promise<void> {
    let next = 0;
    let created = 0;
    const worker = async (): Promise<void> => {
      while (next < objects.length) {
        const obj = objects[next++]!;
        const r = await this.request('POST', collection, { body: obj });
        if (r.status !== 201) throw new Error(`POST ${collection}: HTTP ${r.status} ${r.body.slice(0, 500)}`);
        if (++created % 1000 === 0) opts.onProgress?.(created);
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, objects.length) }, worker));
  }

  /**
   * One LIST of `collection` in Table form without the objects (`as=Table`, `includeObject=None`):
   * the number of rows, and how many have `True` in the printer column `column` (e.g. `Ready`;
   * every row when no column is given). `count` is the key the request is counted under.
   * The rows are what `kubectl get` shows, a small fraction of the objects' size.
   */
  async countColumn(
    collection: string,
    column: string | undefined,
    count: string,
  ): Promise<{ rows: number; matching: number }> {
    const r = await this.request('GET', `${collection}?includeObject=None`, {
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
      count,
    });
    if (r.status !== 200) throw new Error(`LIST ${collection}: HTTP ${r.status} ${r.body.slice(0, 500)}`);
    const table = JSON.parse(r.body) as {
      columnDefinitions: Array<{ name: string }>;
      rows?: Array<{ cells: unknown[] }>;
    };
    const rows = table.rows ?? [];
    if (column === undefined) return { rows: rows.length, matching: rows.length };
    const at = table.columnDefinitions.findIndex((c) => c.name.toLowerCase() === column.toLowerCase());
    if (at < 0) throw new Error(`LIST ${collection}: no printer column "${column}"`);
    return { rows: rows.length, matching: rows.filter((row) => row.cells[at] === 'True').length };
  }

  /**
   * `apiserver_request_total` from /metrics, summed by verb and resource (with its subresource:
   * a status patch is `PATCH apexaliases/status`). Requests without a resource (/metrics,
   * /healthz, discovery) are left out.
   */
  async requestCounts(): Promise<RequestCounts> {
    const r = await this.request('GET', '/metrics', { accept: 'text/plain' });
    if (r.status !== 200) throw new Error(`GET /metrics: HTTP ${r.status}`);
    return parseRequestTotals(r.body);
  }
}

/** Sums the `apiserver_request_total` samples of a Prometheus text exposition by verb and resource. */
export function parseRequestTotals(text: string): RequestCounts {
  const out: RequestCounts = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const close = line.lastIndexOf('}');
    const labels = Object.fromEntries(
      [...line.slice(line.indexOf('{') + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [
        m[1]!,
        m[2]!,
      ]),
    );
    if (!labels.resource) continue;
    const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
    out[key] = (out[key] ?? 0) + Number(line.slice(close + 1).trim());
  }
  return out;
}

/** `after - before - own`, key by key, keeping only the keys that moved. */
export function requestDelta(
  before: RequestCounts,
  after: RequestCounts,
  own: RequestCounts = {},
): RequestCounts {
  const out: RequestCounts = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const d = (after[key] ?? 0) - (before[key] ?? 0) - (own[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return Object.fromEntries(Object.entries(out).sort(([, a], [, b]) => b - a));
}

/** How many objects were Ready at a moment, in seconds since the watch began. */
export interface ReadyPoint {
  seconds: number;
  ready: number;
}

/**
 * Counts the Ready objects of a collection with one LIST (see {@link KubeApi.countColumn}) until
 * `total` are Ready or {@link ReadyWatcher.stop} is called, waiting 5× as long as the last LIST
 * took between LISTs (at least `minGapMs`). Never one GET per object.
 */
export class ReadyWatcher {
  readonly points: ReadyPoint[] = [];
  /** Seconds from the start until all were Ready, or null. */
  allReadySeconds: number | null = null;
  /** LIST requests sent, counted in {@link KubeApi.sent} under `LIST <resource>` too. */
  lists = 0;
  #ready = 0;
  #stopped = false;
  readonly #loop: Promise<void>;

  constructor(
    api: KubeApi,
    collection: string,
    resource: string,
    total: number,
    opts: { startedAt?: number; minGapMs?: number } = {},
  ) {
    const started = opts.startedAt ?? performance.now();
    const minGapMs = opts.minGapMs ?? 1000;
    this.#loop = (async () => {
      while (!this.#stopped && this.#ready < total) {
        const began = performance.now();
        const { matching } = await api.countColumn(collection, 'Ready', `LIST ${resource}`);
        this.lists++;
        const now = performance.now();
        if (this.points.length === 0 || matching !== this.#ready) {
          this.#ready = matching;
          this.points.push({ seconds: (now - started) / 1000, ready: matching });
          if (matching >= total) this.allReadySeconds = (now - started) / 1000;
        }
        if (this.#ready < total && !this.#stopped) await sleep(Math.max(minGapMs, 5 * (now - began)));
      }
    })();
  }

  /** Objects Ready at the last LIST. */
  get ready(): number {
    return this.#ready;
  }

  /** Resolves once all are Ready (or the watcher stopped); rejects when a LIST fails. */
  done(): Promise<void> {
    return this.#loop;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }
}
