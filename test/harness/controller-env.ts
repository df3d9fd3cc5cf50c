/**
 * What the controller integration tests share: starting a kube-apiserver with BIND and an upstream
 * server for the targets, writing the controller's configuration for an rfc2136 backend, applying
 * ApexAlias objects with kubectl and reading back their status, conditions and Events.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import YAML from 'yaml';

import { API_VERSION, KIND } from '../../src/api/schema.ts';
import type { ApexAliasSpecInput, ApexAliasStatus, Condition } from '../../src/api/schema.ts';
import type { AllowRule, RefreshConfig } from '../../src/config/schema.ts';
import { TestAuthServer } from './authserver.ts';
import { startBind } from './bind.ts';
import type { BindServer } from './bind.ts';
import type { ControllerProcess } from './controller.ts';
import { startKube } from './kube.ts';
import type { KubeCluster } from './kube.ts';
import { freePort } from './ports.ts';
import type { TestDnsServer } from './server-common.ts';

/** A kube-apiserver, a BIND primary and an upstream server that answers for the targets. */
export interface KubeBindEnv {
  kube: KubeCluster;
  bind: BindServer;
  upstream: TestAuthServer;
}

/** Starts a kube-apiserver (CRDs applied), BIND as the primary of `zone` and a TestAuthServer, together. */
export async function startKubeAndBind(zone: string): Promise<KubeBindEnv> {
  const [kube, bind, upstream] = await Promise.all([
    startKube(),
    startBind({ zones: [{ name: zone }] }),
    TestAuthServer.start(),
  ]);
  return { kube, bind, upstream };
}

/** A kube-apiserver, a BIND primary with two secondaries and an upstream server for the targets. */
export interface KubeSecondariesEnv {
  kube: KubeCluster;
  /** Primary of the zone; sends NOTIFY to `fresh` only. */
  primary: BindServer;
  /** A secondary kept current by NOTIFY and IXFR. */
  fresh: BindServer;
  /** A secondary that gets no NOTIFY: with the one-hour SOA refresh it stays at its first transfer. */
  stale: BindServer;
  upstream: TestAuthServer;
}

/**
 * Starts BIND as the primary of `zone`, then its two secondaries (see {@link KubeSecondariesEnv}), a
 * kube-apiserver and a TestAuthServer together. The primary is stopped again when the rest fails.
 */
export async function startKubeAndBindSecondaries(zone: string): Promise<KubeSecondariesEnv> {
  const [primaryPort, freshPort] = [await freePort(), await freePort()];
  const primary = await startBind({
    zones: [{ name: zone }],
    port: primaryPort,
    alsoNotify: [{ host: '127.0.0.1', port: freshPort }],
  });
  const secondaryOf = { host: '127.0.0.1', port: primaryPort, zones: [zone] };
  try {
    const [fresh, stale, kube, upstream] = await Promise.all([
      startBind({ zones: [], port: freshPort, secondaryOf }),
      startBind({ zones: [], secondaryOf }),
      startKube(),
      TestAuthServer.start(),
    ]);
    return { kube, primary, fresh, stale, upstream };
  } catch (err) {
    await primary.stop();
    throw err;
  }
}

/** What {@link writeControllerConfig} writes. */
export interface ControllerConfigOptions {
  /** `ownerId`: this controller's id in the ownership markers. */
  ownerId: string;
  /** The only resolver the controller asks (`resolver.servers`); `resolver.timeoutMs` is 500. */
  upstream: TestAuthServer;
  /** `resolver.attempts`. Default: the controller's. */
  attempts?: number;
  /** `refresh`. Default: the controller's. */
  refresh?: RefreshConfig;
  /** The primary the backend named `bind` updates, signed with the server's first TSIG key. */
  server: TestDnsServer;
  /** The zones of the `bind` backend. */
  zones: string[];
  /** The `bind` backend's `nameservers`. Default: none configured. */
  nameservers?: TestDnsServer[];
  /** `allow`. Default: none, so every namespace may manage every zone. */
  allow?: AllowRule[];
  /** More rfc2136 backends, each with the same server and key as `bind`. */
  extraBackends?: Array<{ name: string; zones: string[] }>;
}

/** One rfc2136 backend as {@link writeControllerConfig} writes it: every other field defaulted. */
interface Rfc2136Backend {
  name: string;
  type: 'rfc2136';
  server: string;
  zones: string[];
  nameservers?: string[];
  tsig: { keyName: string; algorithm: string; secretFile: string };
}

/**
 * Writes the TSIG secret of `opts.server`'s first key to `dir/secret` and a controller configuration
 * with rfc2136 backends that use it to `dir/config.yaml`; returns the configuration's path.
 */
export async function writeControllerConfig(dir: string, opts: ControllerConfigOptions): Promise<string> {
  const key = opts.server.keys[0]!;
  const hostPort = (s: TestDnsServer): string => `127.0.0.1:${s.port}`;
  const backend = (name: string, zones: string[], nameservers?: TestDnsServer[]): Rfc2136Backend => ({
    name,
    type: 'rfc2136',
    server: hostPort(opts.server),
    zones,
    ...(nameservers ? { nameservers: nameservers.map(hostPort) } : {}),
    tsig: { keyName: key.name, algorithm: key.algorithm, secretFile: 'secret' },
  });
  const config = {
    ownerId: opts.ownerId,
    resolver: {
      servers: [`127.0.0.1:${opts.upstream.endpoint.port}`],
      timeoutMs: 500,
      ...(opts.attempts !== undefined ? { attempts: opts.attempts } : {}),
    },
    ...(opts.refresh ? { refresh: opts.refresh } : {}),
    backends: [
      backend('bind', opts.zones, opts.nameservers),
      ...(opts.extraBackends ?? []).map((b) => backend(b.name, b.zones)),
    ],
    ...(opts.allow ? { allow: opts.allow } : {}),
  };
  await writeFile(join(dir, 'secret'), key.secret);
  const file = join(dir, 'config.yaml');
  await writeFile(file, YAML.stringify(config));
  return file;
}

/** When APEXALIAS_DEBUG_LOGS names a file, writes the controller's log lines to it, one JSON a line. */
export async function writeDebugLogs(controller: ControllerProcess | undefined): Promise<void> {
  if (process.env.APEXALIAS_DEBUG_LOGS)
    await writeFile(
      process.env.APEXALIAS_DEBUG_LOGS,
      controller
        ?.logs()
        .map((l) => JSON.stringify(l))
        .join('\n') ?? '',
    );
}

/** An ApexAlias object as kubectl applies it. */
export interface AliasManifest {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: { name: string; namespace: string };
  spec: ApexAliasSpecInput;
}

/** The ApexAlias `name` in `opts.namespace` (default `default`) with `spec`. */
export function aliasManifest(
  name: string,
  spec: ApexAliasSpecInput,
  opts: { namespace?: string } = {},
): AliasManifest {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace: opts.namespace ?? 'default' },
    spec,
  };
}

/** `kubectl apply` of {@link aliasManifest}; throws with kubectl's stderr when it fails. */
export async function applyAlias(
  kube: KubeCluster,
  name: string,
  spec: ApexAliasSpecInput,
  opts: { namespace?: string } = {},
): Promise<void> {
  const manifest = aliasManifest(name, spec, opts);
  const r = await kube.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
  if (r.code !== 0)
    throw new Error(`kubectl apply of ApexAlias ${manifest.metadata.namespace}/${name} failed: ${r.stderr}`);
}

/** The status of an ApexAlias; undefined when kubectl cannot get the object or it has no status yet. */
export async function aliasStatus(
  kube: KubeCluster,
  name: string,
  namespace = 'default',
): Promise<ApexAliasStatus | undefined> {
  const r = await kube.kubectl(['get', 'apexalias', name, '-n', namespace, '-o', 'json']);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { status?: ApexAliasStatus }).status;
}

/** The condition `type` (Ready, Resolved, Synced, InSync) of an ApexAlias, when it has one. */
export async function aliasCondition(
  kube: KubeCluster,
  name: string,
  type: string,
  namespace = 'default',
): Promise<Condition | undefined> {
  return (await aliasStatus(kube, name, namespace))?.conditions?.find((c) => c.type === type);
}

/** The reasons of the Events (events.k8s.io) about the object `name` in `namespace`. */
export async function aliasEventReasons(
  kube: KubeCluster,
  name: string,
  namespace = 'default',
): Promise<string[]> {
  const r = await kube.kubectl(['get', 'events.events.k8s.io', '-n', namespace, '-o', 'json']);
  const items = (JSON.parse(r.stdout) as { items: Array<{ reason: string; regarding: { name: string } }> })
    .items;
  return items.filter((e) => e.regarding.name === name).map((e) => e.reason);
}
