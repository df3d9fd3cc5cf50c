/**
 * Property-based tests of the UPDATE response path of the rfc2136 backend: decodeUpdateResponse
 * (src/dns/update.ts) and the TSIG check of the reply (verifyResponse, src/dns/tsig.ts), on
 * signed responses, mutated ones and random bytes. Properties: only typed DnsErrors are raised,
 * and a response that verifies says what the server signed: no altered byte gets through, so
 * a forged RCODE can never report a write as done (or as refused) when the server said otherwise.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DnsError, DnsMalformedError } from '../../../src/dns/errors.ts';
import { readTsig, signMessage, verifyResponse } from '../../../src/dns/tsig.ts';
import type { TsigKey } from '../../../src/dns/tsig.ts';
import { decodeUpdateResponse, encodeUpdate } from '../../../src/dns/update.ts';
import { fuzz, mutated } from './settings.ts';

const KEY: TsigKey = { name: 'ctl-key', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 7) };
const NOW = 1_764_000_000;

interface Exchange {
  response: Buffer;
  requestMac: Buffer;
  rcode: number;
}

/** A signed UPDATE and the server's signed response to it, with the RCODE the server chose. */
const exchange: fc.Arbitrary<Exchange> = fc
  .record({
    id: fc.integer({ min: 0, max: 0xffff }),
    rcode: fc.constantFrom(0, 2, 5, 7, 8, 9, 10),
    names: fc.array(fc.constantFrom('www', 'api', 'shop', '@'), { minLength: 1, maxLength: 3 }),
    skew: fc.integer({ min: -200, max: 200 }),
  })
  .map(({ id, rcode, names, skew }) => {
    const fqdn = (n: string): string => (n === '@' ? 'example.com' : `${n}.example.com`);
    const request = encodeUpdate({
      id,
      zone: 'example.com',
      prerequisites: names.map((n) => ({
        name: `_apexalias.${fqdn(n)}`,
        type: 'TXT' as const,
        class: 'NONE' as const,
        ttl: 0,
      })),
      updates: names.map((n) => ({
        name: fqdn(n),
        type: 'A' as const,
        class: 'IN' as const,
        ttl: 60,
        rdata: '192.0.2.1',
      })),
    });
    const signed = signMessage(request, KEY, { timeSigned: NOW });
    // The server echoes the header and zone section, sets QR and its RCODE, and signs.
    const header = Buffer.from(request.subarray(0, 12));
    header.writeUInt16BE(0xa800 | rcode, 2);
    header.writeUInt16BE(0, 6);
    header.writeUInt16BE(0, 8);
    header.writeUInt16BE(0, 10);
    const zoneEnd = 12 + 'example.com'.length + 2 + 4;
    const unsigned = Buffer.concat([header, request.subarray(12, zoneEnd)]);
    const response = signMessage(unsigned, KEY, { timeSigned: NOW + skew, requestMac: signed.mac }).message;
    return { response, requestMac: signed.mac, rcode };
  });

/** Runs the backend's response handling; returns the RCODE when the response verifies. */
function handle(buf: Buffer, requestMac: Buffer): number | undefined {
  let header;
  try {
    header = decodeUpdateResponse(buf);
  } catch (err) {
    expect(err).toBeInstanceOf(DnsMalformedError);
    return undefined;
  }
  try {
    verifyResponse(buf, KEY, { requestMac, now: NOW });
  } catch (err) {
    expect(err).toBeInstanceOf(DnsError);
    return undefined;
  }
  return header.rcode;
}

describe('fuzz (behaviour rule 16): the UPDATE response parser and its TSIG check', () => {
  it('random bytes raise only typed errors', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (bytes, mac) => {
          expect(handle(Buffer.from(bytes), Buffer.from(mac))).toBeUndefined();
        },
      ),
      fuzz(500),
    );
  });

  it('a signed response verifies and keeps its RCODE', () => {
    fc.assert(
      fc.property(exchange, ({ response, requestMac, rcode }) => {
        expect(handle(response, requestMac)).toBe(rcode);
      }),
      fuzz(100),
    );
  });

  it('a mutated signed response raises only typed errors, and verifies only when what was signed is intact', () => {
    const cases = exchange.chain((ex) =>
      mutated(fc.constant(ex.response), [0x80, 0xa8, 0xfa]).map((buf) => ({ ...ex, buf })),
    );
    fc.assert(
      fc.property(cases, ({ response, requestMac, rcode, buf }) => {
        const verified = handle(buf, requestMac);
        if (verified === undefined) return;
        expect(verified).toBe(rcode);
        // Everything the MAC covers is as signed: the message after the ID, up to the TSIG RR.
        const end = readTsig(response)!.offset;
        expect(buf.subarray(2, end).equals(response.subarray(2, end))).toBe(true);
      }),
      fuzz(800),
    );
  });
});
