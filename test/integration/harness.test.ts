/**
 * Proves the test harness against the real servers: every later integration test trusts these
 * pieces, so each one is checked with an independent tool (real dig, nsupdate, knotc).
 */
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TestAuthServer } from '../harness/authserver.ts';
import type { BindServer } from '../harness/bind.ts';
import { startBind } from '../harness/bind.ts';
import { dig } from '../harness/dig.ts';
import type { KnotServer } from '../harness/knot.ts';
import { startKnot } from '../harness/knot.ts';
import { freePort } from '../harness/ports.ts';
import { requireBinary, startProcess } from '../harness/process.ts';
import type { TestDnsServer } from '../harness/server-common.ts';
import { runNsupdate } from '../harness/server-common.ts';
import { createTsigKey } from '../harness/tsig.ts';

const ZONE = 'example.test';

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await fn();
  console.log(`${label} started in ${Math.round(performance.now() - started)} ms`);
  return result;
}

/** The checks BIND and Knot share: SOA, signed update applied, unsigned refused, exact counting. */
function rfc2136Checks(
  getServer: () => TestDnsServer,
  unsignedRcode: string,
  updateCountAfterStart: number,
): void {
  it('answers SOA, NS, MX and seeded records to real dig', async () => {
    const server = getServer();
    const soa = await server.dig(ZONE, 'SOA');
    expect(soa.rcode).toBe('NOERROR');
    expect(soa.flags).toContain('aa');
    expect(soa.answers).toEqual([`ns1.${ZONE}. hostmaster.${ZONE}. 1 3600 600 86400 60`]);
    expect((await server.dig(ZONE, 'NS')).answers).toEqual([`ns1.${ZONE}.`]);
    expect((await server.dig(ZONE, 'MX')).answers).toEqual([`10 mail.${ZONE}.`]);
    const seeded = await server.dig(`seeded.${ZONE}`, 'A');
    expect(seeded.answers).toEqual(['192.0.2.7']);
    expect(seeded.ttl).toBe(120);
    expect((await server.dig(`nothing.${ZONE}`, 'A')).rcode).toBe('NXDOMAIN');
  });

  it('applies a TSIG-signed nsupdate, refuses unsigned and wrongly signed ones, and counts each', async () => {
    const server = getServer();
    expect(await server.updateCount()).toBe(updateCountAfterStart);

    const ok = await server.nsupdate(
      `zone ${ZONE}\nupdate add ${ZONE} 60 A 192.0.2.1\nupdate add ${ZONE} 60 A 192.0.2.2`,
    );
    expect(ok.code, ok.stderr).toBe(0);
    const apex = await server.dig(ZONE, 'A');
    expect(apex.answers.sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(apex.ttl).toBe(60);

    const ok2 = await server.nsupdate(`zone ${ZONE}\nupdate add ${ZONE} 60 AAAA 2001:db8::1`, undefined, {
      tcp: true,
    });
    expect(ok2.code, ok2.stderr).toBe(0);
    expect((await server.dig(ZONE, 'AAAA')).answers).toEqual(['2001:db8::1']);

    const unsigned = await server.nsupdate(`zone ${ZONE}\nupdate add evil.${ZONE} 60 A 192.0.2.66`, null);
    expect(unsigned.code).not.toBe(0);
    expect(unsigned.stdout + unsigned.stderr).toContain(unsignedRcode);

    const forged = { ...createTsigKey(server.keys[0]!.name), algorithm: server.keys[0]!.algorithm };
    const badSig = await server.nsupdate(`zone ${ZONE}\nupdate add evil.${ZONE} 60 A 192.0.2.66`, forged);
    expect(badSig.code).not.toBe(0);
    expect(badSig.stdout + badSig.stderr).toContain('NOTAUTH');
    expect((await server.dig(`evil.${ZONE}`, 'A')).rcode).toBe('NXDOMAIN');

    // Four UPDATE messages sent (two applied, two rejected): the counter moved by exactly four.
    expect(await server.updateCount()).toBe(updateCountAfterStart + 4);
  });

  it('is stopped by stop(): the port stops answering and the pid is gone', async () => {
    const server = getServer();
    const { pid } = server;
    await server.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    const res = await dig(server, ZONE, 'SOA', { timeoutSeconds: 1 });
    expect(res.rcode).toBe('NO_REPLY');
  });
}

describe('BIND harness (named)', () => {
  let bind: BindServer;
  beforeAll(async () => {
    bind = await timed('BIND', () =>
      startBind({ zones: [{ name: ZONE, records: ['seeded 120 IN A 192.0.2.7'] }] }),
    );
  });
  afterAll(async () => {
    await bind?.stop();
  });

  it('reports finer update counters from the statistics channel', async () => {
    // Runs before the shared checks, so nothing has been sent yet.
    expect(await bind.updateStats()).toEqual({ received: 0, done: 0, rejected: 0, failed: 0, badSig: 0 });
    expect(bind.statsPort).toBeTypeOf('number');
  });

  rfc2136Checks(() => bind, 'REFUSED', 0);
});

describe('Knot harness (knotd)', () => {
  let knot: KnotServer;
  beforeAll(async () => {
    knot = await timed('Knot', () =>
      startKnot({ zones: [{ name: ZONE, records: ['seeded 120 IN A 192.0.2.7'] }] }),
    );
  });
  afterAll(async () => {
    await knot?.stop();
  });

  it('exposes knotc on its control socket', async () => {
    expect(await knot.knotc('zone-status', ZONE)).toContain(ZONE);
  });

  // Knot answers an unsigned update with NOTAUTH, not REFUSED as BIND does.
  rfc2136Checks(() => knot, 'NOTAUTH', 0);
});

describe('primaries and secondaries', () => {
  it('a BIND primary notifies a BIND and a Knot secondary, which transfer each update', async () => {
    const bindSecondaryPort = await freePort();
    const knotSecondaryPort = await freePort();
    const primary = await startBind({
      zones: [{ name: ZONE }],
      alsoNotify: [
        { host: '127.0.0.1', port: bindSecondaryPort },
        { host: '127.0.0.1', port: knotSecondaryPort },
      ],
    });
    const servers: TestDnsServer[] = [primary];
    try {
      const from = { host: primary.host, port: primary.port, zones: [ZONE] };
      const bindSecondary = await timed('BIND secondary', () =>
        startBind({ zones: [], secondaryOf: from, port: bindSecondaryPort }),
      );
      servers.push(bindSecondary);
      const knotSecondary = await timed('Knot secondary', () =>
        startKnot({ zones: [], secondaryOf: from, port: knotSecondaryPort }),
      );
      servers.push(knotSecondary);

      const res = await primary.nsupdate(`zone ${ZONE}\nupdate add ${ZONE} 60 A 192.0.2.9`);
      expect(res.code, res.stderr).toBe(0);
      for (const secondary of [bindSecondary, knotSecondary]) {
        await expect
          .poll(async () => (await secondary.dig(ZONE, 'A')).answers, { timeout: 10_000, interval: 100 })
          .toEqual(['192.0.2.9']);
        expect((await secondary.dig(ZONE, 'SOA')).answers[0]).toContain(' 2 3600 ');
      }
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  });
});

describe('port collisions', () => {
  it('a server given a taken port fails fast instead of silently sharing it (SO_REUSEPORT)', async () => {
    const first = await startBind({ zones: [{ name: ZONE }], statsChannel: false });
    try {
      const started = performance.now();
      await expect(startBind({ zones: [{ name: ZONE }], port: first.port })).rejects.toThrow(
        /unable to listen on any configured interfaces/,
      );
      await expect(startKnot({ zones: [{ name: ZONE }], port: first.port })).rejects.toThrow(
        /address already in use/,
      );
      expect(performance.now() - started).toBeLessThan(5_000);
      expect((await first.dig(ZONE, 'SOA')).rcode).toBe('NOERROR');
    } finally {
      await first.stop();
    }
  });
});

describe('TestAuthServer (dns-packet)', () => {
  let auth: TestAuthServer;
  beforeAll(async () => {
    auth = await timed('TestAuthServer', () => TestAuthServer.start());
  });
  afterAll(async () => {
    await auth?.stop();
  });

  const ask = (name: string, type: string, options: Parameters<typeof dig>[3] = {}) =>
    dig(auth.endpoint, name, type, { timeoutSeconds: 1, ...options });

  it('answers A and AAAA with AA and the set TTL, over UDP and TCP', async () => {
    auth.setAddresses('lb.example.net', 'A', ['192.0.2.10', '192.0.2.11'], 60);
    auth.setAddresses('lb.example.net', 'AAAA', ['2001:db8::10'], 90);
    auth.resetCounts();
    const a = await ask('lb.example.net', 'A');
    expect(a.rcode).toBe('NOERROR');
    expect(a.flags).toEqual(expect.arrayContaining(['qr', 'aa']));
    expect(a.answers).toEqual(['192.0.2.10', '192.0.2.11']);
    expect(a.ttl).toBe(60);
    const aaaa = await ask('LB.Example.NET.', 'AAAA', { tcp: true });
    expect(aaaa.answers).toEqual(['2001:db8::10']);
    expect(aaaa.ttl).toBe(90);
    expect(auth.queries({ name: 'lb.example.net' })).toBe(2);
    expect(auth.queries({ name: 'lb.example.net', type: 'A', tcp: false })).toBe(1);
    expect(auth.queries({ name: 'lb.example.net', type: 'AAAA', tcp: true })).toBe(1);
    expect(auth.queries({ tcp: true })).toBe(1);
  });

  it('follows CNAME chains, returning every CNAME and the final records', async () => {
    auth.setCname('app.example.com', 'edge.cdn.example.net', 300);
    auth.setCname('edge.cdn.example.net', 'lb.example.net', 120);
    const res = await ask('app.example.com', 'A');
    expect(res.rcode).toBe('NOERROR');
    expect(res.records.map((r) => `${r.name} ${r.ttl} ${r.type} ${r.data}`)).toEqual([
      'app.example.com. 300 CNAME edge.cdn.example.net.',
      'edge.cdn.example.net. 120 CNAME lb.example.net.',
      'lb.example.net. 60 A 192.0.2.10',
      'lb.example.net. 60 A 192.0.2.11',
    ]);
    expect(res.ttl).toBe(60);
    // Asking for the CNAME itself returns only it.
    expect((await ask('app.example.com', 'CNAME')).answers).toEqual(['edge.cdn.example.net.']);
  });

  it('stops a CNAME loop and a chain into an unknown name the way an authoritative server does', async () => {
    auth.setCname('loop-a.example.org', 'loop-b.example.org', 60);
    auth.setCname('loop-b.example.org', 'loop-a.example.org', 60);
    const loop = await ask('loop-a.example.org', 'A');
    expect(loop.rcode).toBe('NOERROR');
    expect(loop.records.map((r) => r.type)).toEqual(['CNAME', 'CNAME']);
    auth.setCname('dangling.example.org', 'gone.example.org', 60);
    const dangling = await ask('dangling.example.org', 'A');
    expect(dangling.rcode).toBe('NXDOMAIN');
    expect(dangling.records.map((r) => r.data)).toEqual(['gone.example.org.']);
  });

  it('answers NXDOMAIN for unknown names and NODATA for a missing type, both with an SOA of TTL 30', async () => {
    const nx = await ask('nope.example.net', 'A');
    expect(nx.rcode).toBe('NXDOMAIN');
    expect(nx.flags).toContain('aa');
    expect(nx.authority).toHaveLength(1);
    expect(nx.authority[0]).toMatchObject({ name: 'example.net.', type: 'SOA', ttl: 30 });
    expect(nx.authority[0]!.data).toMatch(/ 30$/);

    auth.setAddresses('v4only.example.net', 'A', ['192.0.2.4'], 60);
    const nodata = await ask('v4only.example.net', 'AAAA');
    expect(nodata.rcode).toBe('NOERROR');
    expect(nodata.answers).toEqual([]);
    expect(nodata.authority[0]).toMatchObject({ type: 'SOA', ttl: 30 });

    auth.remove('v4only.example.net');
    expect((await ask('v4only.example.net', 'A')).rcode).toBe('NXDOMAIN');
  });

  it('servfail, refused and nodata-soa, per type', async () => {
    auth.setAddresses('flaky.example.net', 'A', ['192.0.2.20'], 60);
    auth.setAddresses('flaky.example.net', 'AAAA', ['2001:db8::20'], 60);
    auth.setBehaviour('flaky.example.net', 'servfail', 'AAAA');
    expect((await ask('flaky.example.net', 'AAAA')).rcode).toBe('SERVFAIL');
    expect((await ask('flaky.example.net', 'A')).answers).toEqual(['192.0.2.20']);
    auth.setBehaviour('flaky.example.net', 'refused');
    expect((await ask('flaky.example.net', 'A')).rcode).toBe('REFUSED');
    expect((await ask('flaky.example.net', 'AAAA')).rcode).toBe('SERVFAIL'); // type-specific wins
    auth.setBehaviour('flaky.example.net', 'normal', 'AAAA');
    auth.setBehaviour('flaky.example.net', 'nodata-soa');
    const nodata = await ask('flaky.example.net', 'A');
    expect(nodata.rcode).toBe('NOERROR');
    expect(nodata.answers).toEqual([]);
    expect(nodata.authority[0]?.type).toBe('SOA');
    auth.setBehaviour('flaky.example.net', 'normal');
    expect((await ask('flaky.example.net', 'AAAA')).answers).toEqual(['2001:db8::20']);
  });

  it('a chain stops before a misbehaving name, so the client meets the failure when it asks for it', async () => {
    auth.setAddresses('broken-lb.example.net', 'A', ['192.0.2.30'], 60);
    auth.setCname('via-broken.example.com', 'broken-lb.example.net', 60);
    auth.setBehaviour('broken-lb.example.net', 'servfail');
    const res = await ask('via-broken.example.com', 'A');
    expect(res.rcode).toBe('NOERROR');
    expect(res.records.map((r) => r.type)).toEqual(['CNAME']);
    expect((await ask('broken-lb.example.net', 'A')).rcode).toBe('SERVFAIL');
  });

  it('drop: no reply over UDP or TCP, but the query is counted', async () => {
    auth.setAddresses('silent.example.net', 'A', ['192.0.2.40'], 60);
    auth.setBehaviour('silent.example.net', 'drop');
    auth.resetCounts();
    expect((await ask('silent.example.net', 'A')).rcode).toBe('NO_REPLY');
    expect((await ask('silent.example.net', 'A', { tcp: true })).rcode).toBe('NO_REPLY');
    expect(auth.queries({ name: 'silent.example.net', tcp: false })).toBe(1);
    expect(auth.queries({ name: 'silent.example.net', tcp: true })).toBe(1);
  });

  it('truncate: TC over UDP, the full answer over TCP; dig retries over TCP by itself', async () => {
    auth.setAddresses('big.example.net', 'A', ['192.0.2.50'], 60);
    auth.setBehaviour('big.example.net', 'truncate');
    auth.resetCounts();
    const udp = await ask('big.example.net', 'A', { ignoreTruncation: true });
    expect(udp.flags).toContain('tc');
    expect(udp.answers).toEqual([]);
    const retried = await ask('big.example.net', 'A');
    expect(retried.flags).not.toContain('tc');
    expect(retried.answers).toEqual(['192.0.2.50']);
    expect(retried.output).toContain('(TCP)');
    expect(auth.queries({ name: 'big.example.net', tcp: false })).toBe(2);
    expect(auth.queries({ name: 'big.example.net', tcp: true })).toBe(1);
  });

  it('truncate-always: TC even over TCP', async () => {
    auth.setAddresses('huge.example.net', 'A', ['192.0.2.51'], 60);
    auth.setBehaviour('huge.example.net', 'truncate-always');
    const tcp = await ask('huge.example.net', 'A', { tcp: true });
    expect(tcp.flags).toContain('tc');
    expect(tcp.answers).toEqual([]);
  });

  it('truncates a UDP answer bigger than the client EDNS size on its own', async () => {
    const many = Array.from({ length: 100 }, (_, i) => `198.51.100.${i + 1}`);
    auth.setAddresses('many.example.net', 'A', many, 60);
    const udp = await ask('many.example.net', 'A', { ignoreTruncation: true });
    expect(udp.flags).toContain('tc');
    const tcp = await ask('many.example.net', 'A', { tcp: true });
    expect(tcp.answers).toHaveLength(100);
  });

  it('malformed: dig reports a malformed packet and gets no records', async () => {
    auth.setAddresses('garbage.example.net', 'A', ['192.0.2.60'], 60);
    auth.setBehaviour('garbage.example.net', 'malformed');
    for (const tcp of [false, true]) {
      const res = await ask('garbage.example.net', 'A', { tcp });
      expect(res.malformed, res.output).toBe(true);
      expect(res.answers).toEqual([]);
    }
  });

  it('wrong-id and wrong-question: dig rejects the reply and times out', async () => {
    auth.setAddresses('spoofed.example.net', 'A', ['192.0.2.70'], 60);
    auth.setBehaviour('spoofed.example.net', 'wrong-id');
    const wrongId = await ask('spoofed.example.net', 'A');
    expect(wrongId.rcode).toBe('NO_REPLY');
    expect(wrongId.output).toContain('ID mismatch');
    auth.setBehaviour('spoofed.example.net', 'wrong-question');
    const wrongQuestion = await ask('spoofed.example.net', 'A');
    expect(wrongQuestion.rcode).toBe('NO_REPLY');
    expect(wrongQuestion.output).toMatch(/question section mismatch/i);
  });

  it('answers an UPDATE with NOTIMP: it is a target server, not a backend', async () => {
    const res = await runNsupdate(
      auth.endpoint.host,
      auth.endpoint.port,
      'zone example.net\nupdate add x.example.net 60 A 192.0.2.1',
      null,
    );
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toContain('NOTIMP');
  });

  it('holds 10,000 names without slowing down', async () => {
    const started = performance.now();
    for (let i = 0; i < 10_000; i++) {
      auth.setAddresses(`host-${i}.bulk.example.net`, 'A', [`10.${(i >> 8) & 255}.${i & 255}.1`], 300);
    }
    expect(performance.now() - started).toBeLessThan(2_000);
    expect((await ask('host-9999.bulk.example.net', 'A')).answers).toEqual(['10.39.15.1']);
    expect((await ask('host-0.bulk.example.net', 'A')).answers).toEqual(['10.0.0.1']);
  });
});

describe('process harness', () => {
  it('requireBinary finds named and names the Debian package for a missing binary', () => {
    expect(requireBinary('named', 'bind9')).toMatch(/\/named$/);
    expect(() => requireBinary('apexalias-no-such-server', 'apexalias-pkg')).toThrow(
      /apt-get install -y --no-install-recommends apexalias-pkg.*npm test/,
    );
  });

  it('startProcess reports an early exit with the process output', async () => {
    await expect(
      startProcess('/bin/sh', ['-c', 'echo boom-from-child; exit 3'], {
        ready: async () => false,
        timeoutMs: 5_000,
      }),
    ).rejects.toThrow(/exited during startup \(exit code 3\)[\s\S]*boom-from-child/);
  });

  it('startProcess times out, kills the process, and stop() escalates to SIGKILL', async () => {
    await expect(
      startProcess('/bin/sleep', ['30'], { ready: async () => false, timeoutMs: 300 }),
    ).rejects.toThrow(/not ready after 300 ms/);
    const stubborn = await startProcess(
      '/bin/sh',
      ['-c', 'trap "" TERM; echo up; while :; do sleep 0.1; done'],
      {
        ready: async (output) => output.includes('up'), // the trap is set once "up" is printed
      },
    );
    const started = performance.now();
    await stubborn.stop();
    expect(performance.now() - started).toBeGreaterThan(2_500);
    expect(stubborn.exited()).toBe(true);
  });

  it('freePort hands out distinct ports', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(20);
  });

  it('authserver-main serves a records file as a standalone process', async () => {
    const port = await freePort();
    const main = path.join(import.meta.dirname, '../harness/authserver-main.ts');
    const demo = path.join(import.meta.dirname, '../harness/authserver-demo.yaml');
    const child = await startProcess(process.execPath, [main, '--port', String(port), '--records', demo], {
      name: 'authserver-main',
      ready: async (output) => output.includes(`listening on 127.0.0.1:${port}`),
    });
    try {
      const res = await dig({ host: '127.0.0.1', port }, 'app.example.net', 'A');
      expect(res.answers).toEqual(['192.0.2.10', '192.0.2.11']);
      expect((await dig({ host: '127.0.0.1', port }, 'broken.example.net', 'A')).rcode).toBe('SERVFAIL');
    } finally {
      await child.stop();
    }
  });
});
