/**
 * The bench's own DNS reads: one A query (UDP), a zone transfer (AXFR over TCP), and many
 * queries pipelined on one TCP connection. Each function reports how many DNS messages it sent,
 * so a benchmark can take its own reads out of the QUERY counter of the server.
 */
import net from 'node:net';

import dnsPacket from 'dns-packet';
import type { Answer, Packet, RecordType } from 'dns-packet';

import { queryUdp } from '../../test/harness/dnsquery.ts';
import type { DnsEndpoint } from '../../test/harness/dnsquery.ts';

/** The A records a server answers for `name` (empty on NXDOMAIN, NODATA or a failure). */
export async function queryA(server: DnsEndpoint, name: string): Promise<string[]> {
  try {
    const reply = await queryUdp(server, name, 'A', 1000);
    return (reply.answers ?? []).flatMap((a) => (a.type === 'A' ? [a.data] : []));
  } catch {
    return [];
  }
}

const RCODE_MASK = 0xf;

/**
 * Reads length-prefixed DNS messages from a TCP connection and hands each decoded one to
 * `onMessage` until it returns true (done); rejects on a timeout, a reset, or an early close.
 */
function readTcpMessages(
  socket: net.Socket,
  what: string,
  timeoutMs: number,
  onMessage: (m: Packet) => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let buffered = 0;
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () => finish(new Error(`${what}: no complete answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error(`${what}: the server closed the connection early`)));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      buffered += chunk.length;
      if (buffered < 2) return;
      let buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      chunks.length = 0;
      let offset = 0;
      while (buf.length - offset >= 2) {
        const length = buf.readUInt16BE(offset);
        if (buf.length - offset < 2 + length) break;
        let message: Packet;
        try {
          message = dnsPacket.decode(buf.subarray(offset + 2, offset + 2 + length));
        } catch (err) {
          finish(err as Error);
          return;
        }
        offset += 2 + length;
        if (onMessage(message)) {
          finish();
          return;
        }
      }
      buf = buf.subarray(offset);
      buffered = buf.length;
      if (buffered) chunks.push(buf);
    });
  });
}

/**
 * Transfers `zone` from `server` (AXFR over TCP, unsigned: the test BIND allows transfers to
 * 127.0.0.1) and returns its records, the SOA at both ends included. One QUERY message.
 */
export async function axfr(server: DnsEndpoint, zone: string, timeoutMs = 60_000): Promise<Answer[]> {
  const socket = net.connect({ host: server.host, port: server.port });
  const id = Math.floor(Math.random() * 65_536);
  socket.on('connect', () =>
    socket.write(
      dnsPacket.streamEncode({ type: 'query', id, flags: 0, questions: [{ name: zone, type: 'AXFR' }] }),
    ),
  );
  const records: Answer[] = [];
  let soas = 0;
  let failure: Error | undefined;
  await readTcpMessages(socket, `AXFR ${zone}`, timeoutMs, (m) => {
    if (m.id !== id) return false;
    const rcode = (m.flags ?? 0) & RCODE_MASK;
    if (rcode !== 0) {
      failure = new Error(`AXFR ${zone} from ${server.host}:${server.port} answered rcode ${rcode}`);
      return true;
    }
    for (const a of m.answers ?? []) {
      records.push(a);
      if (a.type === 'SOA') soas++;
    }
    return soas >= 2;
  });
  if (failure) throw failure;
  return records;
}

/** One question of {@link pipelinedQueries}. */
export interface Question {
  name: string;
  type: RecordType;
}

/** IDs are 16 bits: a connection carries at most this many questions at once. */
const PER_CONNECTION = 60_000;

/**
 * Asks every question over one TCP connection per 60,000 questions, all written at once
 * (pipelined, RFC 7766), and returns the replies in question order. Rejects when a reply is
 * missing after `timeoutMs`. `questions.length` QUERY messages.
 */
export async function pipelinedQueries(
  server: DnsEndpoint,
  questions: readonly Question[],
  timeoutMs = 30_000,
): Promise<Packet[]> {
  const replies: Packet[] = new Array<Packet>(questions.length);
  for (let base = 0; base < questions.length; base += PER_CONNECTION) {
    const slice = questions.slice(base, base + PER_CONNECTION);
    const socket = net.connect({ host: server.host, port: server.port });
    socket.on('connect', () => {
      const encoded = slice.map((q, i) =>
        dnsPacket.streamEncode({
          type: 'query',
          id: i,
          flags: 0,
          questions: [{ name: q.name, type: q.type }],
        }),
      );
      socket.write(Buffer.concat(encoded));
    });
    let pending = slice.length;
    await readTcpMessages(socket, `${slice.length} pipelined queries`, timeoutMs, (m) => {
      const i = m.id ?? -1;
      const q = slice[i];
      if (
        q &&
        replies[base + i] === undefined &&
        m.questions?.[0]?.name.toLowerCase() === q.name.toLowerCase()
      ) {
        replies[base + i] = m;
        pending--;
      }
      return pending === 0;
    });
  }
  return replies;
}
