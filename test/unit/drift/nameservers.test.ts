import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { NameserverVerifier } from '../../../src/drift/nameservers.ts';
import { DnsTimeoutError } from '../../../src/dns/errors.ts';
import type { DnsTransport, Endpoint } from '../../../src/dns/transport.ts';
import type { Resolver } from '../../../src/resolve/resolver.ts';

/** Answers A queries with `address`, after failing the first `failures` exchanges to each server. */
function flakyTransport(address: string, failures: Record<number, number>): DnsTransport & { asked: number } {
  const left = { ...failures };
  const t = {
    asked: 0,
    stats: { udpSent: 0, tcpSent: 0, dropped: 0, truncated: 0 },
    async exchange(server: Endpoint, request: Buffer): Promise<Buffer> {
      t.asked++;
      if ((left[server.port] ?? 0) > 0) {
        left[server.port]!--;
        throw new DnsTimeoutError(`no reply from ${server.host}:${server.port}`);
      }
      const q = dnsPacket.decode(request);
      const question = q.questions![0]!;
      return dnsPacket.encode({
        id: q.id,
        type: 'response',
        flags: dnsPacket.AUTHORITATIVE_ANSWER,
        questions: q.questions,
        answers: [{ type: 'A', class: 'IN', name: question.name, ttl: 60, data: address }],
      });
    },
  };
  return t;
}

const verifier = (transport: DnsTransport): NameserverVerifier =>
  new NameserverVerifier({
    transport,
    timeoutMs: 100,
    primary: { host: '127.0.0.1', port: 1 },
    configured: [
      { host: '127.0.0.1', port: 2 },
      { host: '127.0.0.1', port: 3 },
    ],
    resolver: {} as Resolver,
    now: () => 0,
  });

describe('NameserverVerifier (behaviour rule 13)', () => {
  it('regression: a single missed reply is asked again and is neither drift nor unreachable', async () => {
    const t = flakyTransport('192.0.2.1', { 2: 1 });
    const verdicts = await verifier(t).check('example.com', 'www.example.com', { A: ['192.0.2.1'] });
    expect(verdicts.get('127.0.0.1:2')).toMatchObject({
      drifted: false,
      unreachable: false,
      types: { A: false },
    });
    expect(t.asked).toBe(3);
  });

  it('a nameserver that never answers is unreachable, never drifted', async () => {
    const t = flakyTransport('192.0.2.1', { 3: 99 });
    const verdicts = await verifier(t).check('example.com', 'www.example.com', { A: ['192.0.2.1'] });
    expect(verdicts.get('127.0.0.1:3')).toMatchObject({ drifted: false, unreachable: true, types: {} });
    expect(verdicts.get('127.0.0.1:3')!.detail).toContain('no reply');
    expect(verdicts.get('127.0.0.1:2')).toMatchObject({ drifted: false, unreachable: false });
  });

  it('a nameserver that answers with other addresses is drifted', async () => {
    const t = flakyTransport('192.0.2.9', {});
    const verdicts = await verifier(t).check('example.com', 'www.example.com', { A: ['192.0.2.1'] });
    expect(verdicts.get('127.0.0.1:2')).toMatchObject({
      drifted: true,
      unreachable: false,
      types: { A: true },
    });
  });
});
