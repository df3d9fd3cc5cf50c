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

/** Answers SOA with the serial of each port, and A with `address`; counts questions by type. */
function zoneTransport(serials: Record<number, number | 'down'>, address: string) {
  const asked: Record<string, number> = {};
  const t: DnsTransport = {
    stats: { udpSent: 0, tcpSent: 0, dropped: 0, truncated: 0 },
    async exchange(server: Endpoint, request: Buffer): Promise<Buffer> {
      const q = dnsPacket.decode(request);
      const question = q.questions![0]!;
      asked[question.type] = (asked[question.type] ?? 0) + 1;
      if (serials[server.port] === 'down') throw new DnsTimeoutError(`no reply from port ${server.port}`);
      const answers: dnsPacket.Answer[] =
        question.type === 'SOA'
          ? [
              {
                type: 'SOA',
                class: 'IN',
                name: question.name,
                ttl: 60,
                data: {
                  mname: 'ns1.example.com',
                  rname: 'hostmaster.example.com',
                  serial: serials[server.port] as number,
                  refresh: 3600,
                  retry: 600,
                  expire: 86400,
                  minimum: 60,
                },
              },
            ]
          : [{ type: 'A', class: 'IN', name: question.name, ttl: 60, data: address }];
      return dnsPacket.encode({
        id: q.id,
        type: 'response',
        flags: dnsPacket.AUTHORITATIVE_ANSWER,
        questions: q.questions,
        answers,
      });
    },
  };
  return { t, asked };
}

describe('NameserverVerifier.checkZone: one SOA serial per nameserver (behaviour rule 13)', () => {
  const names = Array.from({ length: 50 }, (_, i) => ({
    name: `n${i}.example.com`,
    expected: { A: ['192.0.2.1'] },
  }));

  it('a nameserver on the primary serial confirms every name without a question per name', async () => {
    const { t, asked } = zoneTransport({ 1: 7, 2: 7, 3: 7 }, '192.0.2.1');
    const verdicts = await verifier(t).checkZone('example.com', names);
    expect(asked).toEqual({ SOA: 3 });
    expect(verdicts.get('n7.example.com')!.get('127.0.0.1:2')).toMatchObject({
      drifted: false,
      types: { A: false },
    });
  });

  it('a nameserver behind the primary is asked per name, and its drift is found', async () => {
    const { t, asked } = zoneTransport({ 1: 8, 2: 8, 3: 7 }, '192.0.2.9');
    const verdicts = await verifier(t).checkZone('example.com', names);
    expect(asked).toEqual({ SOA: 3, A: 50 });
    expect(verdicts.get('n7.example.com')!.get('127.0.0.1:3')).toMatchObject({
      drifted: true,
      types: { A: true },
    });
    expect(verdicts.get('n7.example.com')!.get('127.0.0.1:2')).toMatchObject({ drifted: false });
  });

  it('a nameserver that does not answer is unreachable for every name and is not asked again for a while', async () => {
    const { t, asked } = zoneTransport({ 1: 7, 2: 7, 3: 'down' }, '192.0.2.1');
    const v = verifier(t);
    const first = await v.checkZone('example.com', names);
    expect(first.get('n0.example.com')!.get('127.0.0.1:3')).toMatchObject({
      unreachable: true,
      drifted: false,
    });
    const before = asked.SOA!;
    await v.checkZone('example.com', names);
    expect(asked.SOA! - before).toBe(2); // the primary and the one that answers
  });
});
