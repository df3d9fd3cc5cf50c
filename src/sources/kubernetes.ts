import { makeInformer } from '@kubernetes/client-node';
import type {
  Informer,
  KubeConfig,
  KubernetesListObject,
  KubernetesObject,
  ObjectCache,
} from '@kubernetes/client-node';
import { FINALIZER, GROUP, PLURAL, VERSION } from '../api/schema.ts';
import type { ApexAlias } from '../api/schema.ts';
import { keyOf } from '../api/names.ts';
import type { ApexAliasClient } from './kube-client.ts';
import { apiErrorMessage } from './kube-client.ts';
import type { Logger } from '../observe/logger.ts';

export interface KubeSourceOptions {
  kubeConfig: KubeConfig;
  client: ApexAliasClient;
  /** Watch one namespace; undefined watches all. */
  namespace?: string;
  labelSelector?: string;
  /** A full LIST, replacing the watch, this often (default 5 min). */
  relistIntervalMs?: number;
  /** With no watch event for this long, check the collection's resourceVersion (default 60 s). */
  watchdogMs?: number;
  logger: Logger;
  /** Called with `namespace/name` for every add, change and delete. Keys only, never objects. */
  onKey(key: string): void;
  /** Called on every watch failure, for metrics. */
  onError?(err: unknown): void;
}

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 60_000;

/**
 * The ApexAlias source in controller mode: client-node's list-watch, made robust. A watch that
 * fails is restarted with exponential backoff; a watch that goes silent is caught by a
 * watchdog that compares the collection's resourceVersion with the last one seen; and a full
 * relist runs periodically. The source keeps its own cache, diffed on every relist, so that a
 * delete missed while disconnected is still reported. Handlers receive keys only.
 */
export class ApexAliasSource {
  readonly #opts: KubeSourceOptions;
  readonly #cache = new Map<string, ApexAlias>();
  // client-node types timestamps as Date, but custom objects arrive as raw JSON with strings.
  #informer: (Informer<KubernetesObject> & ObjectCache<KubernetesObject>) | undefined;
  #generation = 0;
  #stopped = false;
  #synced = false;
  #failures = 0;
  #lastEventAt = Date.now();
  #timers = new Set<NodeJS.Timeout>();
  #wakers = new Set<() => void>();

  constructor(opts: KubeSourceOptions) {
    this.#opts = opts;
  }

  /** True once the first LIST has been applied to the cache. */
  get synced(): boolean {
    return this.#synced;
  }

  get(key: string): ApexAlias | undefined {
    return this.#cache.get(key);
  }

  list(): ApexAlias[] {
    return [...this.#cache.values()];
  }

  /** Starts watching; resolves after the first successful LIST (retrying with backoff until then). */
  async start(): Promise<void> {
    this.#stopped = false;
    while (!this.#stopped && !(await this.#connect('start'))) {
      await this.#sleep(this.#backoff());
    }
    this.#every(this.#opts.relistIntervalMs ?? 300_000, () => void this.#connect('relist'));
    this.#every(this.#opts.watchdogMs ?? 60_000, () => void this.#watchdog());
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const wake of this.#wakers) wake();
    this.#wakers.clear();
    const informer = this.#informer;
    this.#informer = undefined;
    await informer?.stop();
  }

  /** (Re)creates the list-watch; on success reconciles the cache with a fresh LIST. */
  async #connect(why: string): Promise<boolean> {
    if (this.#stopped) return false;
    const generation = ++this.#generation;
    const old = this.#informer;
    this.#informer = undefined;
    await old?.stop();
    const { namespace, labelSelector, client, kubeConfig, logger } = this.#opts;
    const path = namespace
      ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`
      : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
    const informer = makeInformer<KubernetesObject>(
      kubeConfig,
      path,
      async () =>
        (await client.list(namespace, labelSelector)) as unknown as KubernetesListObject<KubernetesObject>,
      labelSelector,
    );
    const current = (): boolean => generation === this.#generation && !this.#stopped;
    const upsert = (obj: KubernetesObject): void => {
      if (!current()) return;
      const a = obj as unknown as ApexAlias;
      this.#lastEventAt = Date.now();
      const key = keyOf(a);
      const before = this.#cache.get(key);
      this.#cache.set(key, a);
      if (needsReconcile(before, a)) this.#opts.onKey(key);
    };
    informer.on('add', upsert);
    informer.on('update', upsert);
    informer.on('delete', (obj) => {
      if (!current()) return;
      const a = obj as unknown as ApexAlias;
      this.#lastEventAt = Date.now();
      this.#cache.delete(keyOf(a));
      this.#opts.onKey(keyOf(a));
    });
    // client-node reports a failed LIST as an error event while start() resolves normally, so
    // an error seen while starting means the start failed, and the cache must not be touched.
    let starting = true;
    let startError: unknown;
    informer.on('error', (err) => {
      if (!current()) return;
      this.#opts.onError?.(err);
      if (starting) {
        startError = err ?? new Error('list failed');
        return;
      }
      this.#retry('watch failed; restarting', err);
    });
    this.#informer = informer;
    try {
      await informer.start();
    } catch (err) {
      startError = err;
    }
    starting = false;
    if (!current()) return false;
    if (startError !== undefined) {
      this.#informer = undefined;
      await informer.stop();
      // The first start is retried by start(); later ones (relist, restart) retry here.
      if (why === 'start') logger.warn('list failed', { error: describe(startError), why });
      else this.#retry('list failed', startError);
      return false;
    }
    // Deletes that happened while disconnected: gone from the fresh LIST, still in our cache.
    const listed = new Set(informer.list().map((o) => keyOf(o as unknown as ApexAlias)));
    for (const key of [...this.#cache.keys()]) {
      if (!listed.has(key)) {
        this.#cache.delete(key);
        this.#opts.onKey(key);
      }
    }
    this.#failures = 0;
    this.#synced = true;
    this.#lastEventAt = Date.now();
    logger.debug('watching ApexAliases', { why, objects: listed.size, namespace: namespace ?? '*' });
    return true;
  }

  /** A silent watch: nothing heard for a while, and the collection moved on without us. */
  async #watchdog(): Promise<void> {
    const informer = this.#informer;
    if (!informer || Date.now() - this.#lastEventAt < (this.#opts.watchdogMs ?? 60_000)) return;
    try {
      const list = await this.#opts.client.list(this.#opts.namespace, this.#opts.labelSelector);
      const seen = new Map(this.#cache);
      const moved =
        list.items.some((a) => seen.get(keyOf(a))?.metadata.resourceVersion !== a.metadata.resourceVersion) ||
        list.items.length !== seen.size;
      this.#lastEventAt = Date.now();
      if (moved) {
        this.#opts.logger.warn('watch missed changes; relisting', {});
        await this.#connect('watchdog');
      }
    } catch (err) {
      this.#opts.onError?.(err);
    }
  }

  /** Reconnects after a growing delay (1 s doubling to 60 s; reset by a successful LIST). */
  #retry(what: string, err: unknown): void {
    const delay = this.#backoff();
    this.#opts.logger.warn(what, { error: describe(err), retryInMs: delay });
    this.#after(delay, () => void this.#connect('restart'));
  }

  #backoff(): number {
    this.#failures++;
    return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(16, this.#failures - 1));
  }

  #after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#stopped) fn();
    }, ms);
    this.#timers.add(t);
  }

  #every(ms: number, fn: () => void): void {
    this.#after(ms, () => {
      fn();
      this.#every(ms, fn);
    });
  }

  /** A pause that `stop()` cuts short. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        this.#wakers.delete(resolve);
        resolve();
      }, ms);
      this.#timers.add(t);
      this.#wakers.add(resolve);
    });
  }
}

const describe = apiErrorMessage;

/**
 * Whether an update is worth a reconcile: a new object, a spec change (generation), or a
 * deletion starting. Status and finalizer updates (mostly the controller's own writes) are not,
 * which saves two extra reconciles per alias; TTL refreshes come from the workqueue's timers.
 */
export function needsReconcile(before: ApexAlias | undefined, after: ApexAlias): boolean {
  if (!before) return true;
  if (before.metadata.resourceVersion === after.metadata.resourceVersion) return false;
  return (
    before.metadata.generation !== after.metadata.generation ||
    before.metadata.deletionTimestamp !== after.metadata.deletionTimestamp ||
    !(after.metadata.finalizers ?? []).includes(FINALIZER)
  );
}
