import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsError, DnsNetworkError, DnsTimeoutError } from '../../../src/dns/errors.ts';
import { encodeQuery } from '../../../src/dns/query.ts';
import { FrameReader } from '../../../src/dns/tcp-frames.ts';
import { NetTransport, parseEndpoint } from '../../../src/dns/transport.ts';
import type { DropReason, Endpoint } from '../../../src/dns/transport.ts';
import { encodeUpdate } from '../../../src/dns/update.ts';

/** End of the question section of a message written without compression. */
function questionEnd(msg: Buffer): number {
  let pos = 12;
  for (let q = msg.readUInt16BE(4); q > 0; q--) {
    while (msg[pos] !== 0) pos += (msg[pos] as number) + 1;
    pos += 1 + 4;
  }
  return pos;
}

/** A minimal reply: the request's header with QR set and the question section echoed. */
function replyTo(request: Buffer, change: { id?: number; flags?: number; tc?: boolean } = {}): Buffer {
  const reply = Buffer.from(request.subarray(0, questionEnd(request)));
  reply.writeUInt16BE(change.id ?? request.readUInt16BE(0), 0);
  const flags = change.flags ?? request.readUInt16BE(2) | 0x8000;
  reply.writeUInt16BE(change.tc ? flags | 0x0200 : flags, 2);
  reply.fill(0, 6, 12);
  return reply;
}

/** A reply carrying one answer, so that the TCP copy can be told apart from the UDP one. */
function replyWithAnswer(request: Buffer): Buffer {
  const base = replyTo(request);
  base.writeUInt16BE(1, 6);
  const answer = Buffer.from('c00c' + '0001' + '0001' + '0000003c' + '0004' + 'c0000201', 'hex');
  return Buffer.concat([base, answer]);
}

function frame(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length, 0);
  return Buffer.concat([len, msg]);
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function udpServer(
  onMessage: (msg: Buffer, send: (reply: Buffer) => void, rinfo: RemoteInfo) => void,
  opts: { host?: string; port?: number } = {},
): Promise<{ endpoint: Endpoint; socket: UdpSocket }> {
  const host = opts.host ?? '127.0.0.1';
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  socket.on('message', (msg, rinfo) =>
    onMessage(msg, (reply) => socket.send(reply, rinfo.port, rinfo.address), rinfo),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(opts.port ?? 0, host, () => resolve());
  });
  cleanups.push(() => new Promise((resolve) => socket.close(() => resolve())));
  return { endpoint: { host, port: socket.address().port }, socket };
}

async function tcpServer(
  onFrame: (msg: Buffer, conn: Socket) => void,
  opts: { port?: number } = {},
): Promise<{ endpoint: Endpoint; server: Server }> {
  const connections = new Set<Socket>();
  const server = createServer((conn) => {
    connections.add(conn);
    conn.on('close', () => connections.delete(conn));
    const reader = new FrameReader();
    conn.on('data', (chunk) => reader.push(chunk).forEach((msg) => onFrame(msg, conn)));
    conn.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  cleanups.push(
    () =>
      new Promise((resolve) => {
        for (const c of connections) c.destroy();
        server.close(() => resolve());
      }),
  );
  return { endpoint: { host: '127.0.0.1', port: (server.address() as AddressInfo).port }, server };
}

/** TCP and UDP servers on one port number, as a DNS server listens. */
async function dualServer(
  onUdp: (msg: Buffer, send: (reply: Buffer) => void) => void,
  onTcp: (msg: Buffer, conn: Socket) => void,
): Promise<Endpoint> {
  for (let attempt = 0; ; attempt++) {
    const { endpoint, server } = await tcpServer(onTcp);
    try {
      await udpServer(onUdp, { port: endpoint.port });
      return endpoint;
    } catch (err) {
      server.close();
      if (attempt > 5) throw err;
    }
  }
}

/** A port on which nothing listens (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function liveSockets(): number {
  return process
    .getActiveResourcesInfo()
    .filter((r) => r === 'UDPWRAP' || r === 'TCPSocketWrap' || r === 'UDPWrap').length;
}

const query = (id = 0x1111, name = 'www.example.com'): Buffer => encodeQuery(id, name, 'A');
const TIMEOUT = 5_000;

describe('NetTransport over UDP', () => {
  it('returns a matching reply', async () => {
    const { endpoint } = await udpServer((msg, send) => send(replyWithAnswer(msg)));
    const transport = new NetTransport();
    const reply = await transport.exchange(endpoint, query(), { timeoutMs: TIMEOUT });
    expect(reply.readUInt16BE(0)).toBe(0x1111);
    expect(reply.readUInt16BE(6)).toBe(1);
    expect(transport.stats).toEqual({ udpSent: 1, tcpSent: 0, dropped: 0, truncated: 0 });
  });

  it('drops a reply with the wrong ID and takes the right one that follows', async () => {
    const { endpoint } = await udpServer((msg, send) => {
      send(replyTo(msg, { id: msg.readUInt16BE(0) ^ 1 }));
      send(replyWithAnswer(msg));
    });
    const drops: DropReason[] = [];
    const transport = new NetTransport({ onDrop: (_s, reason) => drops.push(reason) });
    const reply = await transport.exchange(endpoint, query(), { timeoutMs: TIMEOUT });
    expect(reply.readUInt16BE(6)).toBe(1);
    expect(transport.stats.dropped).toBe(1);
    expect(drops).toEqual(['id']);
  });

  it.each<[string, (msg: Buffer) => Buffer, DropReason]>([
    [
      'a different question name',
      (msg) => replyTo(encodeQuery(msg.readUInt16BE(0), 'evil.example.com', 'A'), {}),
      'question',
    ],
    [
      'a different question type',
      (msg) => replyTo(encodeQuery(msg.readUInt16BE(0), 'www.example.com', 'AAAA')),
      'question',
    ],
    ['no question at all', (msg) => replyTo(msg).subarray(0, 12).fill(0, 4, 6), 'question'],
    ['QR=0 (an echo of the request)', (msg) => Buffer.from(msg), 'not-response'],
    ['another opcode', (msg) => replyTo(msg, { flags: 0x8000 | (4 << 11) }), 'opcode'],
    ['fewer than 12 octets', (msg) => msg.subarray(0, 11), 'short'],
  ])('drops a reply with %s and keeps waiting', async (_why, forge, reason) => {
    const { endpoint } = await udpServer((msg, send) => {
      send(forge(msg));
      send(replyWithAnswer(msg));
    });
    const drops: DropReason[] = [];
    const transport = new NetTransport({ onDrop: (_s, r) => drops.push(r) });
    const reply = await transport.exchange(endpoint, query(), { timeoutMs: TIMEOUT });
    expect(reply.readUInt16BE(6)).toBe(1);
    expect(transport.stats.dropped).toBe(1);
    expect(drops).toEqual([reason]);
  });

  it('accepts a question echoed in another letter case (0x20 randomization)', async () => {
    const { endpoint } = await udpServer((msg, send) =>
      send(replyTo(encodeQuery(msg.readUInt16BE(0), 'WwW.ExAmPlE.CoM', 'A'))),
    );
    const transport = new NetTransport();
    await transport.exchange(endpoint, query(), { timeoutMs: TIMEOUT });
    expect(transport.stats.dropped).toBe(0);
  });

  it('matches the zone section of an UPDATE', async () => {
    const update = encodeUpdate({
      id: 0x2222,
      zone: 'example.com',
      prerequisites: [],
      updates: [{ name: 'example.com', type: 'A', class: 'ANY', ttl: 0 }],
    });
    const { endpoint } = await udpServer((msg, send) => {
      send(replyTo(encodeUpdate({ id: 0x2222, zone: 'example.org', prerequisites: [], updates: [] })));
      send(replyTo(msg));
    });
    const transport = new NetTransport();
    const reply = await transport.exchange(endpoint, update, { timeoutMs: TIMEOUT });
    expect(reply.readUInt16BE(2)).toBe(0xa800);
    expect(transport.stats.dropped).toBe(1);
  });

  it('retries over TCP once when the UDP reply is truncated', async () => {
    const endpoint = await dualServer(
      (msg, send) => send(replyTo(msg, { tc: true })),
      (msg, conn) => conn.write(frame(replyWithAnswer(msg))),
    );
    const transport = new NetTransport();
    const reply = await transport.exchange(endpoint, query(), { timeoutMs: TIMEOUT });
    expect(reply.readUInt16BE(6)).toBe(1);
    expect(transport.stats).toEqual({ udpSent: 1, tcpSent: 1, dropped: 0, truncated: 1 });
  });

  it('does not trust TC on a reply that does not match', async () => {
    const { endpoint } = await udpServer((msg, send) => {
      send(replyTo(msg, { id: msg.readUInt16BE(0) ^ 1, tc: true }));
      send(replyWithAnswer(msg));
    });
    const transport = new NetTransport();
    await transport.exchange(endpoint, query(), { timeoutMs: TIMEOUT });
    expect(transport.stats).toEqual({ udpSent: 1, tcpSent: 0, dropped: 1, truncated: 0 });
  });

  it('times out with DnsTimeoutError naming the server and the drops', async () => {
    const { endpoint } = await udpServer((msg, send) => send(replyTo(msg, { id: 0 })));
    const transport = new NetTransport();
    const err = await transport.exchange(endpoint, query(), { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsTimeoutError);
    expect((err as DnsTimeoutError).code).toBe('ERR_DNS_TIMEOUT');
    expect((err as Error).message).toContain(`127.0.0.1:${endpoint.port}`);
    expect((err as Error).message).toContain('1 non-matching');
    expect(transport.stats.dropped).toBe(1);
  });

  it('reports ICMP port unreachable as DnsNetworkError', async () => {
    const transport = new NetTransport();
    const port = await closedPort();
    const err = await transport
      .exchange({ host: '127.0.0.1', port }, query(), { timeoutMs: TIMEOUT })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsNetworkError);
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    expect((err as Error).message).toContain('ECONNREFUSED');
  });

  it('reports a host name that does not resolve as DnsNetworkError', async () => {
    const transport = new NetTransport();
    // RFC 6761: .invalid never resolves.
    const err = await transport
      .exchange({ host: 'no-such-server.invalid', port: 53 }, query(), { timeoutMs: TIMEOUT })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsNetworkError);
    expect((err as Error).message).toContain('no-such-server.invalid:53');
    expect(transport.stats.udpSent).toBe(0);
  });

  it('works over IPv6', async () => {
    const { endpoint } = await udpServer((msg, send) => send(replyWithAnswer(msg)), { host: '::1' });
    const transport = new NetTransport();
    const reply = await transport.exchange(parseEndpoint(`[::1]:${endpoint.port}`), query(), {
      timeoutMs: TIMEOUT,
    });
    expect(reply.readUInt16BE(6)).toBe(1);
  });

  it('resolves a host name', async () => {
    const { endpoint } = await udpServer((msg, send) => send(replyWithAnswer(msg)));
    const transport = new NetTransport();
    await transport.exchange({ host: 'localhost', port: endpoint.port }, query(), { timeoutMs: TIMEOUT });
    expect(transport.stats.udpSent).toBe(1);
  });

  it('stops when the caller aborts', async () => {
    const { endpoint } = await udpServer(() => undefined);
    const transport = new NetTransport();
    const controller = new AbortController();
    const pending = transport.exchange(endpoint, query(), { timeoutMs: TIMEOUT, signal: controller.signal });
    controller.abort();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsError);
    expect((err as DnsError).code).toBe('ERR_DNS_ABORTED');
    const already = await transport
      .exchange(endpoint, query(), { timeoutMs: TIMEOUT, signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect((already as DnsError).code).toBe('ERR_DNS_ABORTED');
  });

  it('rejects a request it cannot parse before sending anything', async () => {
    const transport = new NetTransport();
    await expect(
      transport.exchange({ host: '127.0.0.1', port: 9 }, Buffer.alloc(5), { timeoutMs: TIMEOUT }),
    ).rejects.toMatchObject({ code: 'ERR_DNS_MALFORMED' });
    expect(transport.stats.udpSent).toBe(0);
  });
});

describe('NetTransport over TCP', () => {
  it('uses TCP when asked', async () => {
    const { endpoint } = await tcpServer((msg, conn) => conn.write(frame(replyWithAnswer(msg))));
    const transport = new NetTransport();
    const reply = await transport.exchange(endpoint, query(), { timeoutMs: TIMEOUT, tcp: true });
    expect(reply.readUInt16BE(6)).toBe(1);
    expect(transport.stats).toEqual({ udpSent: 0, tcpSent: 1, dropped: 0, truncated: 0 });
  });

  it('uses TCP for a request over 512 octets', async () => {
    const big = encodeUpdate({
      id: 0x3333,
      zone: 'example.com',
      prerequisites: [],
      updates: [
        { name: '_apexalias.example.com', type: 'TXT', class: 'IN', ttl: 60, rdata: ['x'.repeat(600)] },
      ],
    });
    expect(big.length).toBeGreaterThan(512);
    const sizes: number[] = [];
    const { endpoint } = await tcpServer((msg, conn) => {
      sizes.push(msg.length);
      conn.write(frame(replyTo(msg)));
    });
    const transport = new NetTransport();
    await transport.exchange(endpoint, big, { timeoutMs: TIMEOUT });
    expect(sizes).toEqual([big.length]);
    expect(transport.stats).toEqual({ udpSent: 0, tcpSent: 1, dropped: 0, truncated: 0 });
  });

  it('reassembles a reply split across chunks', async () => {
    const { endpoint } = await tcpServer(async (msg, conn) => {
      const bytes = frame(replyWithAnswer(msg));
      for (const piece of [
        bytes.subarray(0, 1),
        bytes.subarray(1, 7),
        bytes.subarray(7, 20),
        bytes.subarray(20),
      ]) {
        conn.write(piece);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    const transport = new NetTransport();
    const reply = await transport.exchange(endpoint, query(), { timeoutMs: TIMEOUT, tcp: true });
    expect(reply.equals(replyWithAnswer(query()))).toBe(true);
  });

  it('reads several frames from one chunk, dropping the ones that do not match', async () => {
    const { endpoint } = await tcpServer((msg, conn) => {
      conn.write(
        Buffer.concat([frame(replyTo(msg, { id: 7 })), frame(Buffer.alloc(3)), frame(replyWithAnswer(msg))]),
      );
    });
    const transport = new NetTransport();
    const reply = await transport.exchange(endpoint, query(), { timeoutMs: TIMEOUT, tcp: true });
    expect(reply.readUInt16BE(6)).toBe(1);
    expect(transport.stats.dropped).toBe(2);
  });

  it('keeps reading frames sent later on the same connection', async () => {
    const { endpoint } = await tcpServer((msg, conn) => {
      conn.write(frame(replyTo(msg, { id: 7 })));
      setTimeout(() => conn.write(frame(replyWithAnswer(msg))), 20);
    });
    const transport = new NetTransport();
    await transport.exchange(endpoint, query(), { timeoutMs: TIMEOUT, tcp: true });
    expect(transport.stats.dropped).toBe(1);
  });

  it('reports a refused connection as DnsNetworkError', async () => {
    const port = await closedPort();
    const transport = new NetTransport();
    const err = await transport
      .exchange({ host: '127.0.0.1', port }, query(), { timeoutMs: TIMEOUT, tcp: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsNetworkError);
    expect((err as DnsNetworkError).code).toBe('ERR_DNS_NETWORK');
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
  });

  it('reports a connection closed before any matching reply as DnsNetworkError', async () => {
    const { endpoint } = await tcpServer((msg, conn) => conn.end(frame(replyTo(msg, { id: 9 }))));
    const transport = new NetTransport();
    const err = await transport
      .exchange(endpoint, query(), { timeoutMs: TIMEOUT, tcp: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsNetworkError);
    expect(transport.stats.dropped).toBe(1);
  });

  it('times out when the server accepts but never answers', async () => {
    const { endpoint } = await tcpServer(() => undefined);
    const transport = new NetTransport();
    const err = await transport
      .exchange(endpoint, query(), { timeoutMs: 200, tcp: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsTimeoutError);
    expect((err as Error).message).toContain('TCP');
  });
});

describe('socket hygiene', () => {
  it('leaves no socket open after success, drop, timeout or error', async () => {
    // Closing is asynchronous inside libuv, so counts are polled rather than read once.
    await expect.poll(liveSockets).toBe(0);
    const { endpoint: udp } = await udpServer((msg, send) => send(replyTo(msg)));
    const { endpoint: silent } = await udpServer(() => undefined);
    const { endpoint: tcp } = await tcpServer((msg, conn) => conn.write(frame(replyTo(msg))));
    const transport = new NetTransport();
    await transport.exchange(udp, query(), { timeoutMs: TIMEOUT });
    await transport.exchange(tcp, query(), { timeoutMs: TIMEOUT, tcp: true });
    await transport.exchange(silent, query(), { timeoutMs: 50 }).catch(() => undefined);
    await transport
      .exchange({ host: '127.0.0.1', port: await closedPort() }, query(), { timeoutMs: TIMEOUT, tcp: true })
      .catch(() => undefined);
    // Only the two UDP server sockets remain.
    await expect.poll(liveSockets).toBe(2);
  });
});

describe('FrameReader', () => {
  it('splits frames however the stream is cut', () => {
    const messages = [Buffer.alloc(12, 1), Buffer.alloc(300, 2), Buffer.alloc(0), Buffer.alloc(13, 3)];
    const stream = Buffer.concat(messages.map(frame));
    for (const cut of [1, 2, 3, 7, 64, stream.length]) {
      const reader = new FrameReader();
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += cut) out.push(...reader.push(stream.subarray(i, i + cut)));
      expect(out).toEqual(messages);
    }
  });

  it('handles a frame of 65535 octets', () => {
    const big = Buffer.alloc(0xffff, 9);
    expect(new FrameReader().push(frame(big))).toEqual([big]);
  });
});
