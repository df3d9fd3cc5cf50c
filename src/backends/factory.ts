import type { BackendConfig } from '../config/schema.ts';
import { loadTokenFile } from '../config/secret-file.ts';
import { loadTsigKey } from '../config/tsig.ts';
import type { ReadFile } from '../config/load.ts';
import { parseEndpoint } from '../dns/transport.ts';
import { TcpPipelineTransport } from '../dns/tcp-pipeline.ts';
import type { DnsTransport } from '../dns/transport.ts';
import { registerSecret } from '../observe/logger.ts';
import { PowerDnsBackend } from './powerdns/backend.ts';
import { Rfc2136Backend } from './rfc2136/backend.ts';
import { Route53Backend } from './route53/backend.ts';
import { createRoute53Client } from './route53/client.ts';
import { ZoneFileBackend } from './zonefile/backend.ts';
import type { DnsBackend } from './types.ts';

export interface BackendDeps {
  transport: DnsTransport;
  readFile: ReadFile;
  now: () => number;
}

/** Builds the backend a configuration entry describes, reading its credentials from files. */
export async function createBackend(config: BackendConfig, deps: BackendDeps): Promise<DnsBackend> {
  switch (config.type) {
    case 'rfc2136': {
      const key = await loadTsigKey(config, deps.readFile);
      if (key) registerSecret(key.secret.toString('base64'));
      // Queries and UPDATEs to the primary share a few persistent, pipelined TCP connections,
      // unless the configuration asks for UDP (tcp: false).
      const tcp = config.tcp === false ? undefined : new TcpPipelineTransport();
      return new Rfc2136Backend({
        name: config.name,
        server: parseEndpoint(config.server),
        zones: config.zones,
        tsig: key,
        timeoutMs: config.timeoutMs,
        tcp: config.tcp,
        transport: tcp ?? deps.transport,
        ownsTransport: tcp,
        now: deps.now,
      });
    }
    case 'zonefile':
      return new ZoneFileBackend({
        name: config.name,
        directory: config.directory,
        zones: config.zones,
        nameservers: config.nameservers.length ? config.nameservers : undefined,
        now: () => new Date(deps.now()),
      });
    case 'route53':
      return new Route53Backend({
        name: config.name,
        zones: config.zones,
        client: createRoute53Client({
          region: config.region,
          endpoint: config.endpoint,
          credentialsFile: config.credentialsFile,
          profile: config.profile,
          timeoutMs: config.timeoutMs,
        }),
        hostedZoneIds: config.hostedZoneIds,
        privateZone: config.privateZone,
      });
    case 'powerdns': {
      const apiKey = await loadTokenFile(
        deps.readFile,
        config.apiKeyFile,
        `backend ${config.name}: apiKeyFile`,
      );
      registerSecret(apiKey);
      return new PowerDnsBackend({
        name: config.name,
        url: config.url,
        serverId: config.serverId,
        apiKey,
        zones: config.zones,
        timeoutMs: config.timeoutMs,
        filteredReadMaxNames: config.filteredReadMaxNames,
        maxRequestBytes: config.maxRequestBytes,
      });
    }
  }
}
