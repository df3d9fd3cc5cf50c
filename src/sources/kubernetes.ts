import { ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
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
  logger: Logger;
  /** Called with `namespace/name` for every add, change and delete. Keys only, never objects. */
  onKey(key: string): void;
  /** Called on every watch failure, for metrics. */
  onError?(err: unknown): void;
}

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 60_000;
/**
 * A watch that has sent nothing for this long, not even a bookmark, is taken for dead and
 * resumed from its last resourceVersion. kube-apiserver sends a bookmark about once a minute
 * (the first one can take two), so a healthy quiet watch never gets this far.
 */
const WATCH_SILENCE_MS = 180_000;
/** The server ends each watch after 5 to 10 minutes, as client-go's reflector asks. */
const WATCH_TIMEOUT_MIN_S = 300;

/**
 * client-node's Watch asking for bookmarks (so a quiet watch keeps a fresh resourceVersion
 * and never needs a relist to resume) and for a server-side timeout, with each object slimmed
 * before the informer caches it.
 */
export class BookmarkWatch extends Watch {
  constructor(kc: KubeConfig) {
    super(kc);
    // client-node 2.x's inactivity timeout (30 s) is private; 30 s is less than the time to the
    // first bookmark, so a quiet watch would keep resuming from an ever older resourceVersion
    // until the server answers 410 and a full LIST follows. test/unit/sources pins the field.
    (this as unknown as { requestTimeoutMs: number }).requestTimeoutMs = WATCH_SILENCE_MS;
  }

  override watch(
    path: string,
    queryParams: Record<string, unknown>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const timeoutSeconds = WATCH_TIMEOUT_MIN_S + Math.floor(Math.random() * WATCH_TIMEOUT_MIN_S);
    return super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true, timeoutSeconds },
      (phase, obj, raw) => callback(phase, phase === 'BOOKMARK' ? obj : slim(obj as ApexAlias), raw),
      done,
    );
  }
}

/**
 * Drops what the controller never reads and the API server adds to every object:
 * managedFields (about half of a cached object's memory) and kubectl's copy of the last applied
 * manifest.
 */
export function slim(a: ApexAlias): ApexAlias {
  if (a?.metadata) {
    delete (a.metadata as { managedFields?: unknown }).managedFields;
    const annotations = a.metadata.annotations;
    if (annotations && LAST_APPLIED in annotations) {
      const { [LAST_APPLIED]: _lastApplied, ...rest } = annotations;
      a.metadata.annotations = rest;
    }
  }
  return a;
}
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The ApexAlias source in controller mode: client-node's list-watch, made robust. A watch that
 * fails is restarted, with a fresh paginated LIST, after exponential backoff; a watch that ends
 * or goes silent resumes from its last resourceVersion, which bookmarks keep fresh. The source
 * keeps its own cache, diffed on every fresh LIST, so that a delete missed while disconnected
 * is still reported. Handlers receive keys only.
 */
export class ApexAliasSource {
  readonly #opts: KubeSourceOptions;
  readonly #cache = new Map<string, ApexAlias>();
  // client-node types timestamps as Date, but custom objects arrive as raw JSON with strings.
  #informer: ListWatch<KubernetesObject> | undefined;
  #generation = 0;
  #stopped = false;
  #synced = false;
  #failures = 0;
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
    const informer = new ListWatch<KubernetesObject>(
      path,
      new BookmarkWatch(kubeConfig),
      async () =>
        (await client.list(
          namespace,
          labelSelector,
          slim,
        )) as unknown as KubernetesListObject<KubernetesObject>,
      false,
      labelSelector,
    );
    const current = (): boolean => generation === this.#generation && !this.#stopped;
    const upsert = (obj: KubernetesObject): void => {
      if (!current()) return;
      const a = obj as unknown as ApexAlias;
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
    logger.debug('watching ApexAliases', { why, objects: listed.size, namespace: namespace ?? '*' });
    return true;
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
 * deletion starting, or our finalizer removed. Status and finalizer updates (mostly the
 * controller's own writes) are not,
 * which saves two extra reconciles per alias; TTL refreshes come from the workqueue's timers.
 */
export function needsReconcile(before: ApexAlias | undefined, after: ApexAlias): boolean {
  if (!before) return true;
  if (before.metadata.resourceVersion === after.metadata.resourceVersion) return false;
  return (
    before.metadata.generation !== after.metadata.generation ||
    before.metadata.deletionTimestamp !== after.metadata.deletionTimestamp ||
    // Someone took our finalizer off: put it back. Its absence alone is no reason, since a new
    // alias's status lands before its finalizer.
    ((before.metadata.finalizers ?? []).includes(FINALIZER) &&
      !(after.metadata.finalizers ?? []).includes(FINALIZER))
  );
}
