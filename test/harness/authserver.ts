import dgram from 'node:dgram';
import net from 'node:net';

import { freePort } from './ports.ts';
import { Targets } from './targets.ts';
import type { TargetsOptions } from './targets.ts';

export type { AddressType, AuthBehaviour, QueryFilter } from './targets.ts';

/** Options for {@link TestAuthServer.start}. */
export interface TestAuthServerOptions extends TargetsOptions {
  /** Port for UDP and TCP. Default: a free one. */
  port?: number;
}

/**
 * The project's programmable authoritative DNS server for tests: {@link Targets} served over UDP
 * and TCP on the same 127.0.0.1 port.
 */
export class TestAuthServer extends Targets {
  /** Where the server listens (UDP and TCP). */
  readonly endpoint: { host: string; port: number };

  readonly #udp: dgram.Socket;
  readonly #tcp: net.Server;
  readonly #connections = new Set<net.Socket>();
  #stopped = false;
  /** TCP connections accepted since the start. */
  tcpConnections = 0;

  private constructor(udp: dgram.Socket, tcp: net.Server, port: number, options: TestAuthServerOptions) {
    super(options);
    this.#udp = udp;
    this.#tcp = tcp;
    this.endpoint = { host: '127.0.0.1', port };
    udp.on('message', (msg, rinfo) => {
      const reply = this.reply(msg, false);
      if (reply) udp.send(reply, rinfo.port, rinfo.address);
    });
    tcp.on('connection', (socket) => {
      this.tcpConnections++;
      this.#serveTcp(socket);
    });
  }

  /** Starts a server on a free (or the given) port of 127.0.0.1, UDP and TCP. */
  static async start(options: TestAuthServerOptions = {}): Promise<TestAuthServer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = options.port ?? (await freePort());
      const udp = dgram.createSocket('udp4');
      const tcp = net.createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind({ address: '127.0.0.1', port, exclusive: true }, () => {
            udp.off('error', reject);
            resolve();
          });
        });
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        lastError = err;
        try {
          udp.close();
        } catch {
          // Never bound.
        }
        tcp.close(() => {});
        if (options.port !== undefined || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        continue;
      }
      // A send error (e.g. the client's port is gone) must not crash the test run.
      udp.on('error', () => {});
      tcp.on('error', () => {});
      return new TestAuthServer(udp, tcp, port, options);
    }
    throw lastError;
  }

  /** Closes both listeners and every open TCP connection. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const socket of this.#connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.#udp.close(() => resolve())),
      new Promise<void>((resolve) => this.#tcp.close(() => resolve())),
    ]);
  }

  #serveTcp(socket: net.Socket): void {
    this.#connections.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#connections.delete(socket));
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) return;
        const msg = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        const reply = this.reply(msg, true);
        if (reply && !socket.destroyed) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.length);
          socket.write(Buffer.concat([prefix, reply]));
        }
      }
    });
  }
}
