import type { BackendConfig } from '../config/schema.ts';
import { loadTsigKey } from '../config/tsig.ts';
import type { ReadFile } from '../config/load.ts';
import { parseEndpoint } from '../dns/transport.ts';
import type { DnsTransport } from '../dns/transport.ts';
import { registerSecret } from '../observe/logger.ts';
import { Rfc2136Backend } from './rfc2136/backend.ts';
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
      return new Rfc2136Backend({
        name: config.name,
        server: parseEndpoint(config.server),
        zones: config.zones,
        tsig: key,
        timeoutMs: config.timeoutMs,
        tcp: config.tcp,
        transport: deps.transport,
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
  }
}
