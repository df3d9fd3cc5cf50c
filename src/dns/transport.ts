import { createSocket } from 'node:dgram';
import { isIPv6, connect } from 'node:net';
import { DnsError, DnsMalformedError, DnsNetworkError, DnsTimeoutError } from './errors.ts';
import { formatEndpoint } from './endpoint.ts';
import type { Endpoint } from './endpoint.ts';
import { fingerprintRequest, matchReply } from './reply-match.ts';
import { FrameReader } from './tcp-frames.ts';
import type { DropReason, RequestFingerprint } from './reply-match.ts';

export { parseEndpoint, formatEndpoint } from './endpoint.ts';
export type { Endpoint } from './endpoint.ts';
export type { DropReason } from './reply-match.ts';

/** Per-exchange options. */
export interface ExchangeOptions {
  /** Budget for the whole exchange, including a TCP retry after a truncated UDP reply. */
  timeoutMs: number;
  /** Use TCP from the start (requests over 512 octets always do). */
  tcp?: boolean;
  /** Cancels the exchange; it then rejects with DnsError `ERR_DNS_ABORTED`. */
  signal?: AbortSignal;
}

/** Counters since the transport was created. */
export interface TransportStats {
  udpSent: number;
  tcpSent: number;
  /** Replies that did not match their request (ID, QR, opcode, question) or were too short. */
  dropped: number;
  /** UDP replies with TC set that were retried over TCP. */
  truncated: number;
}

/** Sends one DNS message and returns the one reply that matches it. */
export interface DnsTransport {
  exchange(server: Endpoint, request: Buffer, opts: ExchangeOptions): Promise<Buffer>;
  readonly stats: TransportStats;
}

/** Options of {@link NetTransport}. */
export interface NetTransportOptions {
  /** Told about every dropped reply, so that hostile or broken answers can be logged. */
  onDrop?: (server: Endpoint, reason: DropReason) => void;
}

/** RFC 1035 4.2.1: larger messages do not go over plain UDP. */
const MAX_UDP_REQUEST = 512;
/** Above this a request cannot be framed on TCP (16-bit length prefix). */
const MAX_MESSAGE = 0xffff;

type Protocol = 'UDP' | 'TCP';

/** Shared by the attempts of one exchange: the cancellation signal and what to report. */
interface ExchangeScope {
  server: Endpoint;
  signal: AbortSignal;
  fingerprint: RequestFingerprint;
  protocol: Protocol;
  droppedHere: number;
  dropReasons: DropReason[];
}

function networkError(server: Endpoint, protocol: Protocol, cause: unknown): DnsNetworkError {
  const err = cause as NodeJS.ErrnoException;
  const what = err.code ? `${err.code} (${err.message})` : String(err.message ?? cause);
  return new DnsNetworkError(
    `DNS ${protocol} exchange with ${formatEndpoint(server)} failed: ${what}; ` +
      'check that the server is running and listening on that address and port',
    { cause },
  );
}

/**
 * The production transport over node:dgram and node:net. UDP first; TCP when asked, when the
 * request exceeds 512 octets, or once after a truncated UDP reply. A fresh socket per exchange
 * gives each one its own source port, and it is always closed before the promise settles.
 */
export class NetTransport implements DnsTransport {
  readonly stats: TransportStats = { udpSent: 0, tcpSent: 0, dropped: 0, truncated: 0 };
  readonly #onDrop: NetTransportOptions['onDrop'];

  constructor(options: NetTransportOptions = {}) {
    this.#onDrop = options.onDrop;
  }

  /**
   * Send `request` to `server` and resolve with the first reply whose ID, QR bit, opcode and
   * question section match it. Non-matching replies are dropped and waiting goes on.
   * @throws DnsTimeoutError when no matching reply arrives within `timeoutMs`.
   * @throws DnsNetworkError on socket errors (refused, reset, closed before a reply).
   * @throws DnsMalformedError when the request itself cannot be parsed or exceeds 65535 octets.
   * @throws DnsError `ERR_DNS_ABORTED` when `signal` aborts.
   */
  async exchange(server: Endpoint, request: Buffer, opts: ExchangeOptions): Promise<Buffer> {
    const fingerprint = fingerprintRequest(request);
    if (request.length > MAX_MESSAGE) {
      throw new DnsMalformedError(`DNS request is ${request.length} octets, over ${MAX_MESSAGE}`);
    }
    const controller = new AbortController();
    const scope: ExchangeScope = {
      server,
      signal: controller.signal,
      fingerprint,
      protocol: opts.tcp || request.length > MAX_UDP_REQUEST ? 'TCP' : 'UDP',
      droppedHere: 0,
      dropReasons: [],
    };
    const timer = setTimeout(() => controller.abort(timeoutError(scope, opts.timeoutMs)), opts.timeoutMs);
    const onAbort = (): void => {
      controller.abort(
        new DnsError('ERR_DNS_ABORTED', `DNS exchange with ${formatEndpoint(server)} was cancelled`, {
          cause: opts.signal?.reason,
        }),
      );
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (scope.protocol === 'UDP') {
        const { reply, truncated } = await this.#udp(request, scope);
        if (!truncated) return reply;
        this.stats.truncated++;
        scope.protocol = 'TCP';
      }
      return await this.#tcp(request, scope);
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  #drop(scope: ExchangeScope, reason: DropReason): void {
    this.stats.dropped++;
    scope.droppedHere++;
    scope.dropReasons.push(reason);
    this.#onDrop?.(scope.server, reason);
  }

  /** One UDP round; a matching reply with TC set comes back flagged for the TCP retry. */
  #udp(request: Buffer, scope: ExchangeScope): Promise<{ reply: Buffer; truncated: boolean }> {
    const { server, signal } = scope;
    return new Promise((resolve, reject) => {
      // A hostname is looked up by connect() in the socket's family, so it must have an A record.
      const socket = createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
      let settled = false;
      const settle = (err: unknown, result?: { reply: Buffer; truncated: boolean }): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        try {
          socket.close();
        } catch {
          // Already closed by a failed connect: nothing left to release.
        }
        if (result) resolve(result);
        else reject(err);
      };
      const onAbort = (): void => settle(signal.reason);
      if (signal.aborted) return settle(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      socket.on('error', (err) => settle(networkError(server, 'UDP', err)));
      socket.on('message', (reply) => {
        const verdict = matchReply(reply, scope.fingerprint);
        if (verdict.accept) settle(undefined, { reply, truncated: verdict.truncated });
        else this.#drop(scope, verdict.reason);
      });
      // Connecting makes the kernel discard datagrams from any other address, and turns an
      // ICMP port unreachable into ECONNREFUSED instead of a silent timeout.
      // A failed host name lookup arrives here as `err`, not as an 'error' event.
      socket.connect(server.port, server.host, (err?: Error) => {
        if (settled) return;
        if (err) return settle(networkError(server, 'UDP', err));
        socket.send(request, (sendErr) => {
          if (sendErr) settle(networkError(server, 'UDP', sendErr));
          else this.stats.udpSent++;
        });
      });
    });
  }

  #tcp(request: Buffer, scope: ExchangeScope): Promise<Buffer> {
    const { server, signal } = scope;
    return new Promise<Buffer>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const socket = connect({ host: server.host, port: server.port });
      let settled = false;
      const settle = (err: unknown, reply?: Buffer): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        if (reply) resolve(reply);
        else reject(err);
      };
      const onAbort = (): void => settle(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      const frames = new FrameReader();
      socket.setNoDelay(true);
      socket.on('connect', () => {
        const length = Buffer.alloc(2);
        length.writeUInt16BE(request.length, 0);
        socket.write(Buffer.concat([length, request]));
        this.stats.tcpSent++;
      });
      socket.on('data', (chunk: Buffer) => {
        for (const frame of frames.push(chunk)) {
          const verdict = matchReply(frame, scope.fingerprint);
          if (verdict.accept) return settle(undefined, frame);
          this.#drop(scope, verdict.reason);
        }
      });
      socket.on('error', (err) => settle(networkError(server, 'TCP', err)));
      socket.on('close', () =>
        settle(
          new DnsNetworkError(
            `DNS server ${formatEndpoint(server)} closed the TCP connection before sending a matching reply` +
              (scope.droppedHere ? ` (${scope.droppedHere} non-matching replies dropped)` : ''),
          ),
        ),
      );
    });
  }
}

function timeoutError(scope: ExchangeScope, timeoutMs: number): DnsTimeoutError {
  const dropped = scope.droppedHere ? `; ${scope.droppedHere} non-matching replies were dropped` : '';
  return new DnsTimeoutError(
    `no matching DNS reply from ${formatEndpoint(scope.server)} over ${scope.protocol} within ${timeoutMs} ms` +
      `${dropped}; check that the server is up and reachable on that address and port, ` +
      'and that no firewall drops DNS traffic',
    { dropped: scope.dropReasons },
  );
}
