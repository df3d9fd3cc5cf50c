import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { DnsError, DnsMalformedError, DnsNetworkError, DnsTimeoutError } from './errors.ts';
import { formatEndpoint } from './endpoint.ts';
import type { Endpoint } from './endpoint.ts';
import { fingerprintRequest, matchReply } from './reply-match.ts';
import type { RequestFingerprint } from './reply-match.ts';
import { FrameReader } from './tcp-frames.ts';
import type { DnsTransport, ExchangeOptions, TransportStats } from './transport.ts';

/** Options of {@link TcpPipelineTransport}. */
export interface TcpPipelineOptions {
  /** Connections kept per server. Default 2. */
  connections?: number;
  /** Requests outstanding on one connection at once. Default 256. */
  maxOutstanding?: number;
  /** An idle connection is closed after this long. Default 20 s (BIND's tcp-idle-timeout is 30 s). */
  idleMs?: number;
}

interface Outstanding {
  fingerprint: RequestFingerprint;
  resolve(reply: Buffer): void;
  reject(error: unknown): void;
}

/** One persistent TCP connection with the requests waiting for their replies on it. */
class Connection {
  readonly socket: Socket;
  /** By message ID: one request per ID at a time on a connection. */
  readonly outstanding = new Map<number, Outstanding>();
  readonly #frames = new FrameReader();
  #idle: NodeJS.Timeout | undefined;
  closed = false;
  readonly server: Endpoint;
  readonly idleMs: number;

  constructor(server: Endpoint, idleMs: number, onDrop: () => void, onClose: (c: Connection) => void) {
    this.server = server;
    this.idleMs = idleMs;
    this.socket = connect({ host: server.host, port: server.port });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => {
      for (const frame of this.#frames.push(chunk)) {
        const id = frame.length >= 2 ? frame.readUInt16BE(0) : -1;
        const waiting = this.outstanding.get(id);
        // A reply that matches nothing outstanding is dropped, as over UDP: it cannot cut a
        // genuine answer short.
        if (!waiting || !matchReply(frame, waiting.fingerprint).accept) {
          onDrop();
          continue;
        }
        this.outstanding.delete(id);
        waiting.resolve(frame);
      }
      this.#armIdle();
    });
    const fail = (err: unknown): void => {
      if (this.closed) return;
      this.closed = true;
      clearTimeout(this.#idle);
      onClose(this);
      const error =
        err instanceof Error && !(err instanceof DnsError)
          ? new DnsNetworkError(
              `DNS TCP connection to ${formatEndpoint(server)} failed: ${(err as NodeJS.ErrnoException).code ?? err.message}; ` +
                'check that the server is running and listening on that address and port',
              { cause: err },
            )
          : err;
      for (const w of this.outstanding.values()) w.reject(error);
      this.outstanding.clear();
      this.socket.destroy();
    };
    this.socket.on('error', fail);
    this.socket.on('close', () =>
      fail(
        new DnsNetworkError(
          `DNS server ${formatEndpoint(server)} closed the TCP connection with ${this.outstanding.size} replies outstanding`,
        ),
      ),
    );
    this.#armIdle();
  }

  send(request: Buffer): void {
    const length = Buffer.alloc(2);
    length.writeUInt16BE(request.length, 0);
    this.socket.write(Buffer.concat([length, request]));
    this.#armIdle();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.#idle);
    this.socket.end();
    this.socket.destroy();
  }

  #armIdle(): void {
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      if (this.outstanding.size === 0) this.close();
      else this.#armIdle();
    }, this.idleMs);
    this.#idle.unref();
  }
}

/**
 * A DNS transport over a few persistent TCP connections per server, with many requests in
 * flight on each (RFC 7766 pipelining; replies may come in any order and are matched by ID and
 * question). Reading 10,000 names from a primary then costs two connections rather than 30,000
 * UDP sockets, and UPDATE messages share them. A request whose ID is already outstanding on every
 * connection waits for one to be free (a signed message cannot be given another ID).
 */
export class TcpPipelineTransport implements DnsTransport {
  readonly stats: TransportStats = { udpSent: 0, tcpSent: 0, dropped: 0, truncated: 0 };
  readonly #opts: Required<TcpPipelineOptions>;
  readonly #pools = new Map<string, Connection[]>();
  /** Requests waiting for room (an ID in use, or every connection full). */
  readonly #waiting = new Map<string, Array<() => void>>();
  #closed = false;

  constructor(opts: TcpPipelineOptions = {}) {
    this.#opts = { connections: 2, maxOutstanding: 256, idleMs: 20_000, ...opts };
  }

  /**
   * Sends `request` over one of the server's connections and resolves with its reply.
   * @throws DnsTimeoutError when no reply arrives within `timeoutMs`.
   * @throws DnsNetworkError when the connection fails or closes first.
   * @throws DnsError `ERR_DNS_ABORTED` when `signal` aborts.
   */
  async exchange(server: Endpoint, request: Buffer, opts: ExchangeOptions): Promise<Buffer> {
    if (this.#closed) throw new DnsError('ERR_DNS_ABORTED', 'the DNS transport was closed');
    if (request.length > 0xffff)
      throw new DnsMalformedError(`DNS request is ${request.length} octets, over 65535`);
    const fingerprint = fingerprintRequest(request);
    const deadline = Date.now() + opts.timeoutMs;
    const key = formatEndpoint(server);
    for (;;) {
      opts.signal?.throwIfAborted();
      const connection = this.#connectionFor(key, server, fingerprint.id);
      if (connection) return this.#send(connection, request, fingerprint, deadline, opts);
      await this.#waitForRoom(key, deadline, opts.signal);
    }
  }

  /** Closes every connection; requests in flight fail. */
  close(): void {
    this.#closed = true;
    for (const pool of this.#pools.values()) for (const c of pool) c.close();
    this.#pools.clear();
  }

  #connectionFor(key: string, server: Endpoint, id: number): Connection | undefined {
    const pool = (this.#pools.get(key) ?? []).filter((c) => !c.closed);
    this.#pools.set(key, pool);
    const free = pool
      .filter((c) => !c.outstanding.has(id) && c.outstanding.size < this.#opts.maxOutstanding)
      .sort((a, b) => a.outstanding.size - b.outstanding.size)[0];
    if (free && (free.outstanding.size === 0 || pool.length >= this.#opts.connections)) return free;
    if (pool.length < this.#opts.connections) {
      const c = new Connection(
        server,
        this.#opts.idleMs,
        () => this.stats.dropped++,
        () => this.#wake(key),
      );
      pool.push(c);
      return c;
    }
    return free;
  }

  #send(
    connection: Connection,
    request: Buffer,
    fingerprint: RequestFingerprint,
    deadline: number,
    opts: ExchangeOptions,
  ): Promise<Buffer> {
    const key = formatEndpoint(connection.server);
    return new Promise<Buffer>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (connection.outstanding.get(fingerprint.id)?.fingerprint === fingerprint)
          connection.outstanding.delete(fingerprint.id);
        this.#wake(key);
      };
      const onAbort = (): void => {
        settle();
        reject(
          new DnsError('ERR_DNS_ABORTED', `DNS exchange with ${key} was cancelled`, {
            cause: opts.signal?.reason,
          }),
        );
      };
      const timer = setTimeout(
        () => {
          settle();
          reject(
            new DnsTimeoutError(
              `no matching DNS reply from ${key} over TCP within ${opts.timeoutMs} ms; check that the server is up ` +
                'and reachable on that address and port, and that no firewall drops DNS traffic',
            ),
          );
        },
        Math.max(0, deadline - Date.now()),
      );
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      connection.outstanding.set(fingerprint.id, {
        fingerprint,
        resolve: (reply) => {
          settle();
          resolve(reply);
        },
        reject: (err) => {
          settle();
          reject(err);
        },
      });
      connection.send(request);
      this.stats.tcpSent++;
    });
  }

  #waitForRoom(key: string, deadline: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const list = this.#waiting.get(key) ?? [];
      const timer = setTimeout(
        () => {
          done();
          reject(new DnsTimeoutError(`no room to send a DNS request to ${key} before the timeout`));
        },
        Math.max(0, deadline - Date.now()),
      );
      const onAbort = (): void => {
        done();
        reject(
          new DnsError('ERR_DNS_ABORTED', `DNS exchange with ${key} was cancelled`, {
            cause: signal?.reason,
          }),
        );
      };
      const wake = (): void => {
        done();
        resolve();
      };
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = list.indexOf(wake);
        if (i >= 0) list.splice(i, 1);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      list.push(wake);
      this.#waiting.set(key, list);
    });
  }

  #wake(key: string): void {
    const list = this.#waiting.get(key);
    if (list?.length) list.shift()!();
  }
}
