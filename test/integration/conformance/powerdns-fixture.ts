import { PowerDnsBackend } from '../../../src/backends/powerdns/backend.ts';
import type { PowerDnsBackendOptions } from '../../../src/backends/powerdns/backend.ts';
import type { PowerDnsServer } from '../../harness/powerdns.ts';
import type { ConformanceFixture, ConformanceOptions } from './suite.ts';

/** A PowerDNS HTTP API backend pointed at a real pdns_server from the harness. */
export function powerdnsApiBackend(
  server: PowerDnsServer,
  zones: string[],
  extra: Partial<PowerDnsBackendOptions> = {},
): PowerDnsBackend {
  return new PowerDnsBackend({
    name: 'pdns',
    url: server.apiUrl,
    apiKey: server.apiKey,
    zones,
    timeoutMs: 10_000,
    ...extra,
  });
}

/** What the PowerDNS API backend declares to the shared suite. */
export const POWERDNS_API_CONFORMANCE: ConformanceOptions = {
  lacks: {
    conditional: {
      reason:
        'the PowerDNS HTTP API has no prerequisites; ownership is checked by reading before and after the PATCH',
      docs: 'docs/backends.md#no-prerequisites-the-race-window',
    },
  },
};

/**
 * The conformance fixture for the API backend: hand edits through the API (merged into the
 * RRsets there), reads by real dig, and writes counted by the SOA serial, which the harness's
 * `soaEditApi: 'INCREASE'` raises by one per PATCH applied.
 */
export async function powerdnsApiFixture(server: PowerDnsServer, zone: string): Promise<ConformanceFixture> {
  const firstSerial = await server.serial(zone);
  return {
    backend: powerdnsApiBackend(server, [zone]),
    zone,
    handAdd: (lines) => server.apiAdd(zone, lines),
    async lookup(name, type) {
      const answer = await server.dig(name, type);
      return [...answer.answers].sort();
    },
    writeCount: async () => (await server.serial(zone)) - firstSerial,
    stop: () => server.stop(),
  };
}
