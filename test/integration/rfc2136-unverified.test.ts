import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rfc2136Backend } from '../../src/backends/rfc2136/backend.ts';
import { NetTransport } from '../../src/dns/transport.ts';
import type { DnsTransport } from '../../src/dns/transport.ts';
import { TcpPipelineTransport } from '../../src/dns/tcp-pipeline.ts';
import { syncAliases } from '../../src/engine/sync.ts';
import { createLogger } from '../../src/observe/logger.ts';
import { Resolver } from '../../src/resolve/resolver.ts';
import { TestAuthServer } from '../harness/authserver.ts';
import { startBind } from '../harness/bind.ts';
import type { BindServer } from '../harness/bind.ts';
import { alias } from '../harness/engine-world.ts';
import { tsigKeyOf } from './conformance/rfc2136-fixture.ts';

const ZONE = 'example.test';

/** The real transport, but the MAC of every UPDATE reply arrives with one bit flipped. */
function corruptingMacs(inner: DnsTransport): DnsTransport {
  return {
    stats: inner.stats,
    async exchange(server, request, opts) {
      const reply = await inner.exchange(server, request, opts);
      const opcode = (request.readUInt16BE(2) >> 11) & 0xf;
      if (opcode !== 5) return reply;
      const corrupt = Buffer.from(reply);
      // The TSIG RR ends with the MAC, then original ID, error and other-length (2 octets each).
      corrupt[corrupt.length - 7]! ^= 0x01;
      return corrupt;
    },
  };
}

describe('a signed UPDATE reply whose MAC does not verify', () => {
  let bind: BindServer;
  let upstream: TestAuthServer;
  beforeAll(async () => {
    [bind, upstream] = await Promise.all([startBind({ zones: [{ name: ZONE }] }), TestAuthServer.start()]);
    upstream.setAddresses('lb.demo.test', 'A', ['192.0.2.1'], 60);
  });
  afterAll(() => Promise.all([bind?.stop(), upstream?.stop()]));

  it('regression: the update landed, so it is read back and reported as written, not as a wrong secret', async () => {
    const transport = new TcpPipelineTransport();
    const backend = new Rfc2136Backend({
      name: 'primary',
      server: { host: bind.host, port: bind.port },
      zones: [ZONE],
      tsig: tsigKeyOf(bind.keys[0]!),
      timeoutMs: 5000,
      transport: corruptingMacs(transport),
      now: () => Date.now(),
    });
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({
      format: 'json',
      stream: new Writable({
        write: (c: Buffer, _e, cb) => {
          for (const l of c.toString().split('\n'))
            if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
          cb();
        },
      }),
    });
    const { outcomes } = await syncAliases([alias('apex', { zone: ZONE, addressFamilies: ['IPv4'] })], {
      resolver: new Resolver({
        servers: [upstream.endpoint],
        transport: new NetTransport(),
        timeoutMs: 500,
        attempts: 1,
        cacheMaxEntries: 10,
        now: () => Date.now(),
      }),
      backendFor: () => backend,
      ownerId: 'mac',
      refresh: { minSeconds: 30, maxSeconds: 86_400, jitter: 0.1 },
      logger,
      now: () => Date.now(),
      random: () => 0.5,
      dryRun: false,
    });
    transport.close();
    expect((await bind.dig(ZONE, 'A')).answers).toEqual(['192.0.2.1']);
    expect(outcomes[0]!.failure).toBeUndefined();
    expect(outcomes[0]!.written).toBe(true);
    expect(lines.map((l) => l.message)).toContain(
      'the reply to the write did not verify, but the zone holds the change',
    );
    expect(JSON.stringify(lines)).not.toContain('the secret does not match');
  });
});
