import { randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { DnsError, DnsNetworkError, DnsRcodeError, DnsTimeoutError } from './errors.ts';
import { formatEndpoint } from './endpoint.ts';
import type { Endpoint } from './endpoint.ts';
import { normalizeName } from './names.ts';
import { decodeMessage, encodeQuery, recordsOf } from './query.ts';
import type { RecordAnswer } from './query.ts';
import { fingerprintRequest, matchReply } from './reply-match.ts';
import { FrameReader } from './tcp-frames.ts';
import { signMessage } from './tsig.ts';
import type { TsigKey } from './tsig.ts';

export interface TransferOptions {
  timeoutMs: number;
  /** Signs the request, for servers that allow transfers to a key only. */
  tsig?: TsigKey;
  /** Epoch ms, for the TSIG time. */
  now: () => number;
  signal?: AbortSignal;
  /** Refuse a transfer with more records than this (a zone far larger than expected). */
  maxRecords?: number;
}

/**
 * Reads a whole zone by AXFR (RFC 5936) over its own TCP connection: every record from the
 * opening SOA to the closing one. It is how a large share of a zone is read in one request
 * instead of one query per name and type. The request is signed when a key is given, so a
 * server that allows transfers to that key only serves it; the reply is not authenticated,
 * like every other read of the primary.
 * @throws DnsRcodeError when the server refuses (REFUSED, NOTAUTH): the caller falls back to queries.
 * @throws DnsTimeoutError, DnsNetworkError, DnsMalformedError as the transport does.
 */
export function transferZone(server: Endpoint, zone: string, opts: TransferOptions): Promise<RecordAnswer[]> {
  const z = normalizeName(zone);
  let request = encodeQuery(randomInt(0, 65536), z, 'AXFR', { recursionDesired: false });
  if (opts.tsig)
    request = signMessage(request, opts.tsig, { timeSigned: Math.floor(opts.now() / 1000) }).message;
  const fingerprint = fingerprintRequest(request);
  const where = formatEndpoint(server);
  const maxRecords = opts.maxRecords ?? 5_000_000;
  return new Promise((resolve, reject) => {
    const records: RecordAnswer[] = [];
    let soas = 0;
    let settled = false;
    const socket = connect({ host: server.host, port: server.port });
    const frames = new FrameReader();
    const settle = (err: unknown, result?: RecordAnswer[]): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (result) resolve(result);
      else reject(err);
    };
    const timer = setTimeout(
      () =>
        settle(
          new DnsTimeoutError(
            `the zone transfer of ${z} from ${where} did not finish within ${opts.timeoutMs} ms`,
          ),
        ),
      opts.timeoutMs,
    );
    const onAbort = (): void =>
      settle(
        new DnsError('ERR_DNS_ABORTED', `the zone transfer of ${z} was cancelled`, {
          cause: opts.signal?.reason,
        }),
      );
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.setNoDelay(true);
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(request.length, 0);
      socket.write(Buffer.concat([length, request]));
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of frames.push(chunk)) {
          // Every message of the transfer carries the request's ID; later ones may omit the question.
          if (frame.length < 12 || frame.readUInt16BE(0) !== fingerprint.id) continue;
          if (records.length === 0 && soas === 0 && !matchReply(frame, fingerprint).accept) continue;
          const message = decodeMessage(frame);
          if (message.rcode !== 'NOERROR') {
            const rcode = frame.readUInt16BE(2) & 0xf;
            return settle(
              new DnsRcodeError(rcode, `${where} refused the zone transfer of ${z} (${message.rcode})`),
            );
          }
          for (const rr of recordsOf(message.answers)) {
            if (rr.type === 'SOA' && normalizeName(rr.name) === z && ++soas === 2)
              return settle(undefined, records);
            if (soas === 0) continue;
            if (records.length >= maxRecords)
              return settle(
                new DnsError('ERR_DNS_AXFR_SIZE', `the zone ${z} holds more than ${maxRecords} records`),
              );
            records.push(rr);
          }
        }
      } catch (err) {
        settle(err);
      }
    });
    socket.on('error', (err) =>
      settle(
        new DnsNetworkError(
          `the zone transfer of ${z} from ${where} failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`,
          {
            cause: err,
          },
        ),
      ),
    );
    socket.on('close', () =>
      settle(
        new DnsNetworkError(`${where} closed the connection before the zone transfer of ${z} was complete`),
      ),
    );
  });
}
