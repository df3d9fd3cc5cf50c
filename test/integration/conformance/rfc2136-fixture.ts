import { Rfc2136Backend } from '../../../src/backends/rfc2136/backend.ts';
import type { TsigAlgorithm, TsigKey } from '../../../src/dns/tsig.ts';
import { TcpPipelineTransport } from '../../../src/dns/tcp-pipeline.ts';
import type { TestDnsServer } from '../../harness/server-common.ts';
import type { TsigKey as HarnessKey } from '../../harness/tsig.ts';
import type { ConformanceFixture } from './suite.ts';

/** The project's TSIG key for a harness key (whose secret is base64 text). */
export function tsigKeyOf(key: HarnessKey): TsigKey {
  return {
    name: key.name,
    algorithm: key.algorithm as TsigAlgorithm,
    secret: Buffer.from(key.secret, 'base64'),
  };
}

/** An RFC 2136 backend pointed at a real test server, signing with the given key (or none). */
export function rfc2136Backend(
  server: TestDnsServer,
  zone: string,
  key: TsigKey | undefined,
): Rfc2136Backend {
  return new Rfc2136Backend({
    name: 'primary',
    server: { host: server.host, port: server.port },
    zones: [zone],
    tsig: key,
    timeoutMs: 5000,
    // The production transport: persistent, pipelined TCP connections to the primary.
    transport: new TcpPipelineTransport(),
    now: () => Date.now(),
  });
}

/** The conformance fixture for an RFC 2136 server: hand edits by real nsupdate, reads by real dig. */
export function rfc2136Fixture(server: TestDnsServer, zone: string): ConformanceFixture {
  return {
    backend: rfc2136Backend(server, zone, tsigKeyOf(server.keys[0]!)),
    zone,
    async handAdd(lines) {
      const result = await server.nsupdate(
        `zone ${zone}\n${lines.map((l) => `update add ${l}`).join('\n')}\n`,
      );
      if (result.code !== 0) throw new Error(`nsupdate failed: ${result.stderr}`);
    },
    async lookup(name, type) {
      const answer = await server.dig(name, type);
      return [...answer.answers].sort();
    },
    writeCount: () => server.updateCount(),
    stop: () => server.stop(),
  };
}
