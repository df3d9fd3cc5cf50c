import { readFile } from 'node:fs/promises';
import { createBackend } from '../backends/factory.ts';
import type { DnsBackend } from '../backends/types.ts';
import { loadConfig } from '../config/load.ts';
import { parseHostPort, readResolvConf } from '../config/resolvconf.ts';
import type { Config } from '../config/schema.ts';
import { backendForZone } from '../config/select.ts';
import { parseEndpoint } from '../dns/transport.ts';
import { NetTransport } from '../dns/transport.ts';
import type { Endpoint } from '../dns/transport.ts';
import { ValidationError } from '../errors.ts';
import type { BackendLookup } from './types.ts';
import type { Logger } from '../observe/logger.ts';
import { Resolver } from '../resolve/resolver.ts';
import type { ResolverOptions } from '../resolve/resolver.ts';

/** Options shared by the commands that resolve and write. */
export interface RuntimeOptions {
  config?: string;
  resolver?: string[];
  backend?: string;
  zoneDir?: string;
}

/** Everything a command needs, built once from the configuration and flags. */
export interface Runtime {
  config: Config;
  transport: NetTransport;
  resolver: Resolver;
  backendFor: BackendLookup;
  backends: DnsBackend[];
  close(): Promise<void>;
}

/** Upstream resolvers: the flag, else the configuration, else /etc/resolv.conf. */
export async function resolverServers(flag: string[] | undefined, config: Config): Promise<Endpoint[]> {
  const listed = (flag ?? [])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  // The same rule as resolver.servers: a hostname would need a resolver to be found, and a typo
  // would otherwise surface only as a lookup timeout.
  const bad = listed.filter((s) => !parseHostPort(s));
  if (bad.length > 0) {
    throw new ValidationError(
      `--resolver ${bad.map((s) => JSON.stringify(s)).join(', ')}: must be an IP address with an optional port ("ip", "ip:port" or "[ipv6]:port")`,
    );
  }
  let servers = listed.length ? listed : config.resolver.servers;
  if (servers.length === 0) {
    const text = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
    servers = readResolvConf(text);
  }
  if (servers.length === 0) {
    throw new ValidationError(
      'no resolver to look targets up with: /etc/resolv.conf lists no nameserver; pass --resolver <ip[:port]> or set resolver.servers in the configuration',
    );
  }
  try {
    return servers.map((s) => parseEndpoint(s));
  } catch (err) {
    throw new ValidationError(`invalid resolver address: ${(err as Error).message}`);
  }
}

/** Loads the configuration (or the built-in default) and applies the command-line overrides. */
export async function loadRuntimeConfig(opts: RuntimeOptions): Promise<Config> {
  const config = await loadConfig(opts.config, { readFile: (p) => readFile(p) });
  if (opts.zoneDir !== undefined) {
    if (opts.config)
      throw new ValidationError(
        '--zone-dir sets the built-in zonefile backend; with --config, set backends[].directory instead',
      );
    for (const b of config.backends) if (b.type === 'zonefile') b.directory = opts.zoneDir;
  }
  if (opts.backend && !config.backends.some((b) => b.name === opts.backend)) {
    throw new ValidationError(
      `--backend ${opts.backend}: no such backend; configured: ${config.backends.map((b) => b.name).join(', ')}`,
    );
  }
  return config;
}

/**
 * The resolver of the configuration (servers, timeouts, cache, DNSSEC mode) and the flags: the
 * one place a command turns `resolver.*` into a Resolver.
 */
export async function createResolver(
  opts: RuntimeOptions,
  config: Config,
  deps: Pick<ResolverOptions, 'transport' | 'now' | 'observe'> & { cacheMaxEntries?: number },
): Promise<Resolver> {
  return new Resolver({
    servers: await resolverServers(opts.resolver, config),
    timeoutMs: config.resolver.timeoutMs,
    attempts: config.resolver.attempts,
    cacheMaxEntries: deps.cacheMaxEntries ?? config.resolver.cacheMaxEntries,
    dnssec: config.resolver.dnssec,
    trustedValidators: config.resolver.trustedValidators,
    maxCacheSeconds: config.refresh.maxSeconds,
    ...deps,
  });
}

/** Builds the resolver and the backends a command runs with. */
export async function createRuntime(
  opts: RuntimeOptions,
  logger: Logger,
  observeLookup?: ResolverOptions['observe'],
): Promise<Runtime> {
  const config = await loadRuntimeConfig(opts);
  const transport = new NetTransport({
    onDrop: (server, reason) =>
      logger.debug('dropped a DNS reply', { server: `${server.host}:${server.port}`, reason }),
  });
  const now = (): number => Date.now();
  const resolver = await createResolver(opts, config, { transport, now, observe: observeLookup });
  const backends = new Map<string, DnsBackend>();
  for (const b of config.backends) {
    backends.set(b.name, await createBackend(b, { transport, readFile: (p) => readFile(p), now }));
  }
  const backendFor: BackendLookup = (zone, requested) =>
    backends.get(backendForZone(config, zone, opts.backend ?? requested).name)!;
  return {
    config,
    transport,
    resolver,
    backendFor,
    backends: [...backends.values()],
    close: async () => {
      await Promise.all([...backends.values()].map((b) => b.close()));
    },
  };
}
