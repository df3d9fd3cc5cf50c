/**
 * The controller's core without servers, for fast tests: the real Reconciler and WorkQueue on a
 * fake clock, over the engine world of {@link engineWorld} (a real Resolver answered in-process
 * and the zone-file backend), with the API server's part played by {@link MemoryApi}: objects
 * kept in memory with resourceVersion, generation, finalizers and deletion the way the API
 * server treats them. The real API server is tested by the integration suites.
 */
import type { ApexAlias, ApexAliasStatus, Condition } from '../../src/api/schema.ts';
import { API_VERSION, KIND } from '../../src/api/schema.ts';
import { keyOf } from '../../src/api/names.ts';
import { validateConfig } from '../../src/config/load.ts';
import type { AllowRule, Config } from '../../src/config/schema.ts';
import { Reconciler } from '../../src/controller/reconciler.ts';
import type { ReconcilerDeps } from '../../src/controller/reconciler.ts';
import { ItemExponentialRateLimiter } from '../../src/controller/ratelimit.ts';
import { WorkQueue } from '../../src/controller/workqueue.ts';
import { RepairLimiter } from '../../src/drift/zone.ts';
import type { ApexAliasWriter } from '../../src/sources/kube-client.ts';
import { needsReconcile } from '../../src/sources/kubernetes.ts';
import { engineWorld, OWNER_ID, ZONE } from './engine-world.ts';
import type { EngineWorld } from './engine-world.ts';
import { FakeClock } from './fake-clock.ts';

/** An error shaped like client-node's ApiException, which the controller reads `code` from. */
class HttpError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(`HTTP ${code}: ${message}`);
    this.code = code;
  }
}

/** One recorded Event. */
export interface RecordedEvent {
  key: string;
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

/**
 * ApexAlias objects in memory, with the API server's bookkeeping: every write bumps
 * resourceVersion, a spec change bumps generation, a delete of an object with finalizers only
 * sets deletionTimestamp, and removing the last finalizer of a deleted object removes it. Every
 * change is reported to `onChange` the way the informer reports it.
 */
export class MemoryApi implements ApexAliasWriter {
  readonly objects = new Map<string, ApexAlias>();
  readonly events: RecordedEvent[] = [];
  /** API writes by kind, to count them. */
  readonly writes = { finalizers: 0, status: 0, events: 0 };
  onChange: (key: string, before: ApexAlias | undefined, after: ApexAlias | undefined) => void = () => {};
  #version = 1;
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** The informer cache's view: what a watch would have delivered by now (everything, at once). */
  readonly cache = {
    get: (key: string): ApexAlias | undefined => this.objects.get(key),
    list: (): ApexAlias[] => [...this.objects.values()],
  };

  async get(namespace: string, name: string): Promise<ApexAlias | undefined> {
    return this.objects.get(`${namespace}/${name}`);
  }

  /** `kubectl apply`: creates the object, or replaces its spec. */
  apply(
    name: string,
    spec: Record<string, unknown>,
    opts: { namespace?: string; createdAt?: string } = {},
  ): void {
    const namespace = opts.namespace ?? 'default';
    const key = `${namespace}/${name}`;
    const before = this.objects.get(key);
    const specChanged = JSON.stringify(before?.spec) !== JSON.stringify(spec);
    const after = {
      apiVersion: API_VERSION,
      kind: KIND,
      ...before,
      metadata: {
        ...before?.metadata,
        name,
        namespace,
        uid: before?.metadata.uid ?? `uid-${key}`,
        creationTimestamp: before?.metadata.creationTimestamp ?? opts.createdAt ?? this.#timestamp(),
        generation: (before?.metadata.generation ?? 0) + (specChanged || !before ? 1 : 0),
        resourceVersion: String(this.#version++),
      },
      spec,
    } as ApexAlias;
    this.#store(key, before, after);
  }

  /** `kubectl delete`: marks the object for deletion, or removes it when it has no finalizers. */
  delete(name: string, namespace = 'default'): void {
    const key = `${namespace}/${name}`;
    const before = this.objects.get(key);
    if (!before) return;
    if (!(before.metadata.finalizers ?? []).length) return this.#store(key, before, undefined);
    if (before.metadata.deletionTimestamp) return;
    this.#store(key, before, {
      ...before,
      metadata: {
        ...before.metadata,
        deletionTimestamp: this.#timestamp(),
        resourceVersion: String(this.#version++),
      },
    });
  }

  async setFinalizers(alias: ApexAlias, finalizers: string[]): Promise<ApexAlias> {
    this.writes.finalizers++;
    const key = keyOf(alias);
    const before = this.objects.get(key);
    if (!before) throw new HttpError(404, `${key} not found`);
    if (alias.metadata.resourceVersion !== before.metadata.resourceVersion)
      throw new HttpError(409, `${key} was modified`);
    const after = {
      ...before,
      metadata: { ...before.metadata, finalizers, resourceVersion: String(this.#version++) },
    };
    this.#store(
      key,
      before,
      before.metadata.deletionTimestamp && finalizers.length === 0 ? undefined : after,
    );
    return after;
  }

  async patchStatus(namespace: string, name: string, status: ApexAliasStatus): Promise<ApexAlias> {
    this.writes.status++;
    const key = `${namespace}/${name}`;
    const before = this.objects.get(key);
    if (!before) throw new HttpError(404, `${key} not found`);
    const after = {
      ...before,
      status,
      metadata: { ...before.metadata, resourceVersion: String(this.#version++) },
    };
    this.#store(key, before, after);
    return after;
  }

  /** Events fail with HTTP 503 while this is above 0, counting down. */
  failEvents = 0;

  async event(alias: ApexAlias, type: 'Normal' | 'Warning', reason: string, _action: string, note: string) {
    this.writes.events++;
    if (this.failEvents > 0) {
      this.failEvents--;
      throw new HttpError(503, 'the API server is restarting');
    }
    this.events.push({ key: keyOf(alias), type, reason, note });
  }

  #store(key: string, before: ApexAlias | undefined, after: ApexAlias | undefined): void {
    if (after) this.objects.set(key, after);
    else this.objects.delete(key);
    this.onChange(key, before, after);
  }

  #timestamp(): string {
    return new Date(this.#now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}

export interface ControllerWorld extends EngineWorld {
  api: MemoryApi;
  fakeClock: FakeClock;
  queue: WorkQueue;
  reconciler: Reconciler;
  config: Config;
  /** Runs the queue until nothing is due within `ms` from now, moving the clock that far in steps. */
  settle(ms?: number): Promise<void>;
  condition(name: string, type: string, namespace?: string): Condition | undefined;
  /** The reasons of the Events recorded about an alias. */
  eventReasons(name: string, namespace?: string): string[];
  stop(): Promise<void>;
}

/** A running controller core; `allow` as in the configuration (default: everyone may do everything). */
export async function controllerWorld(
  opts: { allow?: AllowRule[]; deps?: Partial<ReconcilerDeps> } = {},
): Promise<ControllerWorld> {
  const world = await engineWorld();
  const fakeClock = new FakeClock(world.clock.now);
  // The engine world's clock follows the fake one, so TTLs, timestamps and timers agree.
  Object.defineProperty(world.clock, 'now', { get: () => fakeClock.now() });
  const now = (): number => fakeClock.now();
  const checked = validateConfig({
    ownerId: OWNER_ID,
    backends: [{ name: 'local', type: 'zonefile', directory: world.dir, zones: [ZONE] }],
    refresh: { minSeconds: 1, maxSeconds: 86_400, jitter: 0 },
    ...(opts.allow ? { allow: opts.allow } : {}),
  });
  if (!checked.ok) throw new Error(checked.problems.join('; '));
  const config = checked.value;
  const api = new MemoryApi(now);
  const queue = new WorkQueue({
    clock: fakeClock,
    concurrency: 4,
    rateLimiter: new ItemExponentialRateLimiter({ baseMs: 1000, maxMs: 60_000 }),
  });
  const reconciler: Reconciler = new Reconciler({
    source: api.cache,
    client: api,
    config,
    resolver: world.resolver,
    backendFor: () => world.backend,
    logger: world.log.logger,
    now,
    random: () => 0.5,
    enqueue: (key) => queue.add(key),
    repairs: new RepairLimiter(),
    timers: fakeClock,
    ...opts.deps,
  });
  api.onChange = (key, before, after) => {
    if (after && !needsReconcile(before, after)) return;
    reconciler.noteChanged(key);
    queue.add(key);
  };
  queue.startBatches((keys) => reconciler.reconcileBatch(keys), { maxKeys: 100 });
  const world2: ControllerWorld = {
    ...world,
    api,
    fakeClock,
    queue,
    reconciler,
    config,
    async settle(ms = 0) {
      // API writes land after the DNS work and may queue more keys: settle both until quiet.
      const quiet = async (): Promise<void> => {
        do {
          await queue.idle();
          await reconciler.flushApiWrites();
        } while (queue.depth > 0 || queue.inFlight > 0 || reconciler.apiBacklog > 0);
      };
      await quiet();
      const step = 250;
      for (let left = ms; left > 0; left -= step) {
        fakeClock.advance(Math.min(step, left));
        await quiet();
      }
    },
    condition: (name, type, namespace = 'default') =>
      api.cache.get(`${namespace}/${name}`)?.status?.conditions?.find((c) => c.type === type),
    eventReasons: (name, namespace = 'default') =>
      api.events.filter((e) => e.key === `${namespace}/${name}`).map((e) => e.reason),
    async stop() {
      await queue.shutDown();
      reconciler.stop();
      await world.close();
    },
  };
  return world2;
}
