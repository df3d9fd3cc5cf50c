import dgram from 'node:dgram';
import net from 'node:net';

import dnsPacket from 'dns-packet';
import type { Packet, RecordType } from 'dns-packet';

/** Where a DNS server listens. */
export interface DnsEndpoint {
  host: string;
  port: number;
}

function query(name: string, type: RecordType, id: number): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: 0,
    questions: [{ name, type, class: 'IN' }],
  });
}

/**
 * One plain DNS query over UDP with dns-packet (no retries, no TCP fallback). Rejects on
 * timeout. Used for readiness probes; tests that want an independent check use `dig`.
 */
export function queryUdp(
  server: DnsEndpoint,
  name: string,
  type: RecordType,
  timeoutMs = 1_000,
): Promise<Packet> {
  return new Promise((resolve, reject) => {
    const id = Math.floor(Math.random() * 65_536);
    const socket = dgram.createSocket('udp4');
    let settled = false;
    const finish = (err: Error | undefined, packet?: Packet): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      if (packet) resolve(packet);
      else reject(err ?? new Error('no reply'));
    };
    const timer = setTimeout(
      () => finish(new Error(`no UDP reply from ${server.host}:${server.port} for ${name}/${type}`)),
      timeoutMs,
    );
    socket.on('error', (err) => finish(err));
    socket.on('message', (msg) => {
      try {
        const packet = dnsPacket.decode(msg);
        if (packet.id === id) finish(undefined, packet);
      } catch {
        // Not a DNS message; keep waiting for the real one.
      }
    });
    // A connected socket turns the ICMP "port unreachable" of a server that is not up yet into
    // an immediate ECONNREFUSED, so readiness probes do not sit out their timeout.
    socket.connect(server.port, server.host, () => socket.send(query(name, type, id)));
  });
}

/** One DNS query over TCP with dns-packet. Rejects on timeout or a closed connection. */
export function queryTcp(
  server: DnsEndpoint,
  name: string,
  type: RecordType,
  timeoutMs = 1_000,
): Promise<Packet> {
  return new Promise((resolve, reject) => {
    const id = Math.floor(Math.random() * 65_536);
    const socket = net.connect({ host: server.host, port: server.port });
    let buffered = Buffer.alloc(0);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new Error(`no TCP reply from ${server.host}:${server.port} for ${name}/${type}`)),
      timeoutMs,
    );
    socket.on('error', fail);
    socket.on('connect', () =>
      socket.write(dnsPacket.streamEncode({ type: 'query', id, flags: 0, questions: [{ name, type }] })),
    );
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2) return;
      const length = buffered.readUInt16BE(0);
      if (buffered.length < 2 + length) return;
      clearTimeout(timer);
      socket.destroy();
      try {
        resolve(dnsPacket.decode(buffered.subarray(2, 2 + length)));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    socket.on('end', () =>
      fail(new Error(`${server.host}:${server.port} closed the TCP connection without a reply`)),
    );
  });
}

/** True when `server` answers an SOA query for `zone` authoritatively with NOERROR. */
export async function answersSoa(server: DnsEndpoint, zone: string, timeoutMs = 500): Promise<boolean> {
  const reply = await queryUdp(server, zone, 'SOA', timeoutMs);
  const flags = reply.flags ?? 0;
  const aa = (flags & dnsPacket.AUTHORITATIVE_ANSWER) !== 0;
  const noError = (flags & 0xf) === 0;
  return aa && noError && (reply.answers ?? []).some((a) => a.type === 'SOA');
}
