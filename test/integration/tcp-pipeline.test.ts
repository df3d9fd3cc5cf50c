import dnsPacket from 'dns-packet';
import type { StringAnswer } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeQuery } from '../../src/dns/query.ts';
import { TcpPipelineTransport } from '../../src/dns/tcp-pipeline.ts';
import { TestAuthServer } from '../harness/authserver.ts';

describe('TcpPipelineTransport against a real TCP server', () => {
  let server: TestAuthServer;
  beforeAll(async () => {
    server = await TestAuthServer.start();
    for (let i = 0; i < 500; i++) server.setAddresses(`n${i}.pipe.test`, 'A', [`192.0.2.${i % 250}`], 60);
  });
  afterAll(() => server?.stop());

  it('500 queries at once share two connections, and each gets its own answer', async () => {
    const t = new TcpPipelineTransport({ connections: 2 });
    const before = server.tcpConnections;
    const answers = await Promise.all(
      Array.from({ length: 500 }, async (_, i) => {
        const reply = await t.exchange(server.endpoint, encodeQuery(i, `n${i}.pipe.test`, 'A'), {
          timeoutMs: 5000,
        });
        const packet = dnsPacket.decode(reply);
        return [packet.questions?.[0]?.name, (packet.answers?.[0] as StringAnswer | undefined)?.data];
      }),
    );
    expect(answers).toEqual(Array.from({ length: 500 }, (_, i) => [`n${i}.pipe.test`, `192.0.2.${i % 250}`]));
    expect(server.tcpConnections - before).toBe(2);
    expect(t.stats.tcpSent).toBe(500);
    t.close();
  });

  it('two requests with the same ID are both answered, one after the other', async () => {
    const t = new TcpPipelineTransport({ connections: 1 });
    const [a, b] = await Promise.all([
      t.exchange(server.endpoint, encodeQuery(7, 'n1.pipe.test', 'A'), { timeoutMs: 5000 }),
      t.exchange(server.endpoint, encodeQuery(7, 'n2.pipe.test', 'A'), { timeoutMs: 5000 }),
    ]);
    expect((dnsPacket.decode(a).answers?.[0] as StringAnswer).data).toBe('192.0.2.1');
    expect((dnsPacket.decode(b).answers?.[0] as StringAnswer).data).toBe('192.0.2.2');
    t.close();
  });

  it('a query the server never answers times out without holding back the others', async () => {
    server.setBehaviour('silent.pipe.test', 'drop');
    const t = new TcpPipelineTransport({ connections: 1 });
    const [dropped, answered] = await Promise.allSettled([
      t.exchange(server.endpoint, encodeQuery(1, 'silent.pipe.test', 'A'), { timeoutMs: 300 }),
      t.exchange(server.endpoint, encodeQuery(2, 'n3.pipe.test', 'A'), { timeoutMs: 5000 }),
    ]);
    expect(dropped.status).toBe('rejected');
    expect(String((dropped as PromiseRejectedResult).reason)).toMatch(/no matching DNS reply/);
    expect(answered.status).toBe('fulfilled');
    t.close();
  });
});
