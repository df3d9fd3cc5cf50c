import {
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  PatchStrategy,
  V1MicroTime,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { RequestContext } from '@kubernetes/client-node';
import type { AgentOptions, RequestOptions } from 'node:https';
import { Agent, buildConnector } from 'undici';
import type { Dispatcher } from 'undici';
import { randomBytes } from 'node:crypto';
import { GROUP, KIND, PLURAL, VERSION } from '../api/schema.ts';
import type { ApexAlias, ApexAliasStatus } from '../api/schema.ts';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * A KubeConfig whose API requests share one bounded pool of keep-alive connections. client-node
 * 2.0 builds a new undici Agent, and so a new TLS connection, for every request: a controller
 * writing thousands of statuses held hundreds of connections open and spent its CPU on TLS
 * handshakes. Watches, LISTs, PATCHes and the Lease all go through the pool.
 */
export class PooledKubeConfig extends KubeConfig {
  readonly #connections: number;
  #pool: Promise<Dispatcher | undefined> | undefined;
  /** Connections opened so far (for tests and metrics). */
  connectionsOpened = 0;

  /** `connections`: the most connections to the API server at once (watches hold one each). */
  constructor(connections = 16) {
    super();
    this.#connections = connections;
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const pool = await (this.#pool ??= this.#createPool());
    if (pool) context.setDispatcher(pool);
  }

  /** The pool for the current cluster and user, with client-node's own TLS options. */
  async #createPool(): Promise<Dispatcher | undefined> {
    const tls: RequestOptions = {};
    await this.applyToHTTPSOptions(tls);
    const options = this.createDispatcherOptions(this.getCurrentCluster(), tls as AgentOptions);
    // Proxies and plain HTTP keep client-node's own dispatcher.
    if (options.type !== 'agent') return undefined;
    const connect = buildConnector(options.connect as buildConnector.BuildOptions);
    return new Agent({
      connections: this.#connections,
      connect: (opts, callback) => {
        this.connectionsOpened++;
        connect(opts, callback);
      },
    });
  }
}

/** A short, readable message for a failed API call: the Status message, not headers and all. */
export function apiErrorMessage(err: unknown): string {
  const e = err as { code?: unknown; body?: unknown; message?: unknown };
  if (typeof e.code === 'number') {
    let body: unknown = e.body;
    try {
      if (typeof body === 'string') body = JSON.parse(body);
    } catch {
      // not JSON: fall through to the raw text
    }
    const message = (body as { message?: unknown } | undefined)?.message;
    return `HTTP ${e.code}: ${typeof message === 'string' ? message : String(body ?? '').slice(0, 300)}`;
  }
  if (err instanceof Error) {
    // fetch reports "fetch failed" and puts the reason (ECONNREFUSED, a TLS error) in the cause.
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

/** The HTTP status of a failed API call, when there is one. */
export function httpStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** The writes the reconciler makes to the API server: finalizers, status and Events. */
export interface ApexAliasWriter {
  /** The object as the API server has it now, or undefined when it is gone. */
  get(namespace: string, name: string): Promise<ApexAlias | undefined>;
  /** Sets the finalizer list, guarded by the object's resourceVersion (409 on a lost race). */
  setFinalizers(alias: ApexAlias, finalizers: string[]): Promise<ApexAlias>;
  /** Replaces the status through the status subresource. */
  patchStatus(namespace: string, name: string, status: ApexAliasStatus): Promise<ApexAlias>;
  /** Records an Event about the alias. */
  event(
    alias: ApexAlias,
    type: 'Normal' | 'Warning',
    reason: string,
    action: string,
    note: string,
  ): Promise<void>;
}

/** Objects per LIST page; client-go's reflector uses the same. */
export const LIST_PAGE_SIZE = 500;

/** The operations the controller needs on ApexAlias objects and Events, and nothing more. */
export class ApexAliasClient implements ApexAliasWriter {
  readonly #objects: CustomObjectsApi;
  readonly #events: EventsV1Api;
  readonly #identity: string;

  constructor(kc: KubeConfig, identity: string) {
    this.#objects = kc.makeApiClient(CustomObjectsApi);
    this.#events = kc.makeApiClient(EventsV1Api);
    this.#identity = identity;
  }

  /**
   * Lists ApexAliases in one namespace, or in all when `namespace` is undefined, in pages of
   * {@link LIST_PAGE_SIZE} (as client-go's reflector does), so a LIST of 100,000 objects never
   * holds one response of hundreds of megabytes. Every page comes from the snapshot of the first,
   * so the list is consistent and its resourceVersion is the first page's. Each object is
   * passed through `map` as its page arrives (the cache drops managedFields there).
   */
  async list(
    namespace: string | undefined,
    labelSelector?: string,
    map: (a: ApexAlias) => ApexAlias = (a) => a,
  ): Promise<{ items: ApexAlias[]; metadata?: { resourceVersion?: string } }> {
    const items: ApexAlias[] = [];
    let resourceVersion: string | undefined;
    let next: string | undefined;
    do {
      const common = {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        labelSelector,
        limit: LIST_PAGE_SIZE,
        _continue: next,
      };
      const page = (
        namespace
          ? await this.#objects.listNamespacedCustomObject({ ...common, namespace })
          : await this.#objects.listClusterCustomObject(common)
      ) as { items: ApexAlias[]; metadata?: { resourceVersion?: string; continue?: string } };
      resourceVersion ??= page.metadata?.resourceVersion;
      for (const item of page.items) items.push(map(item));
      next = page.metadata?.continue || undefined;
    } while (next !== undefined);
    return { items, metadata: { resourceVersion } };
  }

  /** The object as the API server has it now, or undefined when it is gone. */
  async get(namespace: string, name: string): Promise<ApexAlias | undefined> {
    try {
      return (await this.#objects.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name,
      })) as ApexAlias;
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw err;
    }
  }

  /** Replaces the status through the status subresource (merge patch). */
  async patchStatus(namespace: string, name: string, status: ApexAliasStatus): Promise<ApexAlias> {
    return (await this.#objects.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name,
        body: { status },
        fieldManager: 'apexalias',
      },
      mergePatch,
    )) as ApexAlias;
  }

  /**
   * Sets the finalizer list, guarded by resourceVersion so that a concurrent change is never
   * lost (409 Conflict: the caller re-reads and tries again).
   */
  async setFinalizers(alias: ApexAlias, finalizers: string[]): Promise<ApexAlias> {
    const { namespace = 'default', name, resourceVersion } = alias.metadata;
    return (await this.#objects.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name,
        body: { metadata: { finalizers, resourceVersion } },
        fieldManager: 'apexalias',
      },
      mergePatch,
    )) as ApexAlias;
  }

  /** Records a Kubernetes Event (events.k8s.io/v1) about an alias. */
  async event(
    alias: ApexAlias,
    type: 'Normal' | 'Warning',
    reason: string,
    action: string,
    note: string,
  ): Promise<void> {
    const namespace = alias.metadata.namespace ?? 'default';
    await this.#events.createNamespacedEvent({
      namespace,
      body: {
        metadata: {
          name: eventName(alias.metadata.name, Date.now(), randomBytes(3).toString('hex')),
          namespace,
        },
        eventTime: new V1MicroTime(),
        type,
        reason,
        action,
        note: note.slice(0, 1024),
        reportingController: `${GROUP}/controller`,
        reportingInstance: this.#identity.slice(0, 128),
        regarding: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: KIND,
          name: alias.metadata.name,
          namespace,
          uid: alias.metadata.uid,
          resourceVersion: alias.metadata.resourceVersion,
        },
      },
    });
  }
}

/** Longest object name: a DNS subdomain (RFC 1123), as the API server checks it. */
const MAX_NAME = 253;

/**
 * The name of an Event about the object `name`: named like client-go's recorder, the object's
 * name and a unique suffix, with the object's name shortened so that the whole stays a valid
 * object name (an alias named with 236 characters or more made every Event fail with 422).
 */
export function eventName(name: string, now: number, unique: string): string {
  const suffix = `.${now.toString(16)}${unique}`;
  return `${name.slice(0, MAX_NAME - suffix.length).replace(/[.-]+$/, '')}${suffix}`;
}
