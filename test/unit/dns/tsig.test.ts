import { createHmac } from 'node:crypto';
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { DnsMalformedError, TsigError } from '../../../src/dns/errors.ts';
import { readTsig, signMessage, verifyResponse } from '../../../src/dns/tsig.ts';
import type { TsigAlgorithm, TsigKey } from '../../../src/dns/tsig.ts';

/** Wire forms written out by hand so the expected digests do not depend on the code under test. */
const ZONE = '07' + '6578616d706c65' + '03' + '636f6d' + '00'; // example.com
const KEY_NAME = '0a' + '7570646174652d6b6579' + '00'; // update-key (lower-case, canonical)
const ALGORITHMS: Record<TsigAlgorithm, { wire: string; digest: string; length: number }> = {
  'hmac-sha1': { wire: '09' + '686d61632d73686131' + '00', digest: 'sha1', length: 20 },
  'hmac-sha224': { wire: '0b' + '686d61632d736861323234' + '00', digest: 'sha224', length: 28 },
  'hmac-sha256': { wire: '0b' + '686d61632d736861323536' + '00', digest: 'sha256', length: 32 },
  'hmac-sha384': { wire: '0b' + '686d61632d736861333834' + '00', digest: 'sha384', length: 48 },
  'hmac-sha512': { wire: '0b' + '686d61632d736861353132' + '00', digest: 'sha512', length: 64 },
};

const T = 1_700_000_000; // 0x6553f100
const T_HEX = '00006553f100';
const FUDGE_HEX = '012c'; // 300
const SECRET = Buffer.from('c2VjcmV0LXNoYXJlZC13aXRoLXRoZS1kbnMtc2VydmVyIQ==', 'base64');

/** UPDATE id 0x1234 for example.com adding example.com A 192.0.2.1 TTL 300; ARCOUNT 0. */
const REQUEST_HEX =
  '1234' +
  '2800' +
  '0001' +
  '0000' +
  '0001' +
  '0000' +
  ZONE +
  '0006' +
  '0001' +
  ZONE +
  '0001' +
  '0001' +
  '0000012c' +
  '0004' +
  'c0000201';
/** Its NOERROR response: QR, opcode 5, the zone section echoed. */
const RESPONSE_HEX = '1234' + 'a800' + '0001' + '0000' + '0000' + '0000' + ZONE + '0006' + '0001';

const hex = (h: string): Buffer => Buffer.from(h, 'hex');
const u16 = (n: number): string => n.toString(16).padStart(4, '0');

function hmac(alg: TsigAlgorithm, data: Buffer): Buffer {
  return createHmac(ALGORITHMS[alg].digest, SECRET).update(data).digest();
}

/** RFC 8945 4.3.3 TSIG variables for our key, error 0, no other data. */
function variables(alg: TsigAlgorithm, timeHex: string): string {
  return KEY_NAME + '00ff' + '00000000' + ALGORITHMS[alg].wire + timeHex + FUDGE_HEX + '0000' + '0000';
}

/** The TSIG RR as RFC 8945 4.2 lays it out. */
function tsigRR(
  alg: TsigAlgorithm,
  opts: { timeHex: string; mac: string; id: string; error?: string; other?: string },
): string {
  const other = opts.other ?? '';
  const rdata =
    ALGORITHMS[alg].wire +
    opts.timeHex +
    FUDGE_HEX +
    u16(opts.mac.length / 2) +
    opts.mac +
    opts.id +
    (opts.error ?? '0000') +
    u16(other.length / 2) +
    other;
  return KEY_NAME + '00fa' + '00ff' + '00000000' + u16(rdata.length / 2) + rdata;
}

function withArcount(messageHex: string, count: number): string {
  return messageHex.slice(0, 20) + u16(count) + messageHex.slice(24);
}

function tsigErrorOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TsigError);
    expect((err as TsigError).code).toBe(`ERR_TSIG_${(err as TsigError).tsigError}`);
    return (err as TsigError).tsigError;
  }
  return undefined;
}

describe.each(Object.keys(ALGORITHMS) as TsigAlgorithm[])('TSIG with %s', (alg) => {
  // Mixed case and a trailing dot: the MAC must use the canonical name all the same.
  const key: TsigKey = { name: 'Update-Key.', algorithm: alg, secret: SECRET };

  function signedExchange(): { request: Buffer; requestMac: Buffer; response: Buffer } {
    const { message: request, mac: requestMac } = signMessage(hex(REQUEST_HEX), key, { timeSigned: T });
    const response = signMessage(hex(RESPONSE_HEX), key, { timeSigned: T + 1, requestMac }).message;
    return { request, requestMac, response };
  }

  it('signs a request with the MAC over message and TSIG variables (RFC 8945 4.3.3)', () => {
    const expectedMac = hmac(alg, hex(REQUEST_HEX + variables(alg, T_HEX)));
    const { message, mac } = signMessage(hex(REQUEST_HEX), key, { timeSigned: T, fudge: 300 });
    expect(mac.toString('hex')).toBe(expectedMac.toString('hex'));
    expect(mac.length).toBe(ALGORITHMS[alg].length);
    expect(message.toString('hex')).toBe(
      withArcount(REQUEST_HEX, 1) +
        tsigRR(alg, { timeHex: T_HEX, mac: expectedMac.toString('hex'), id: '1234' }),
    );
  });

  it('signs a response with the request MAC prepended as length and octets', () => {
    const { requestMac, response } = signedExchange();
    const digest =
      u16(requestMac.length) + requestMac.toString('hex') + RESPONSE_HEX + variables(alg, '00006553f101');
    const expectedMac = hmac(alg, hex(digest)).toString('hex');
    expect(response.toString('hex')).toBe(
      withArcount(RESPONSE_HEX, 1) + tsigRR(alg, { timeHex: '00006553f101', mac: expectedMac, id: '1234' }),
    );
  });

  it('reads back every field of the TSIG RR', () => {
    const { request, requestMac } = signedExchange();
    const found = readTsig(request);
    expect(found?.offset).toBe(REQUEST_HEX.length / 2);
    expect(found?.tsig).toEqual({
      keyName: 'update-key',
      algorithm: alg,
      timeSigned: T,
      fudge: 300,
      mac: requestMac,
      originalId: 0x1234,
      error: 0,
      otherData: Buffer.alloc(0),
    });
  });

  it('verifies a signed response', () => {
    const { requestMac, response } = signedExchange();
    expect(() => verifyResponse(response, key, { requestMac, now: T + 5 })).not.toThrow();
    // The key name compares without regard to case or the trailing dot.
    expect(() =>
      verifyResponse(response, { ...key, name: 'UPDATE-KEY' }, { requestMac, now: T + 5 }),
    ).not.toThrow();
  });

  it('verifies with the original ID after the message ID was rewritten in transit', () => {
    const { requestMac, response } = signedExchange();
    response.writeUInt16BE(0x9999, 0);
    expect(() => verifyResponse(response, key, { requestMac, now: T })).not.toThrow();
  });

  it('reports BADSIG when any covered byte changes', () => {
    const { requestMac, response } = signedExchange();
    for (const offset of [3, 13, RESPONSE_HEX.length / 2 - 1, response.length - 8]) {
      const tampered = Buffer.from(response);
      tampered[offset] = (tampered[offset] as number) ^ 0x01;
      expect(tsigErrorOf(() => verifyResponse(tampered, key, { requestMac, now: T }))).toBe('BADSIG');
    }
  });

  it('reports BADSIG when the response does not chain to our request MAC', () => {
    const { requestMac, response } = signedExchange();
    const other = Buffer.from(requestMac);
    other[0] = (other[0] as number) ^ 0xff;
    expect(tsigErrorOf(() => verifyResponse(response, key, { requestMac: other, now: T }))).toBe('BADSIG');
  });

  it('reports BADSIG for the wrong secret', () => {
    const { requestMac, response } = signedExchange();
    const wrong = { ...key, secret: Buffer.from('another secret') };
    expect(tsigErrorOf(() => verifyResponse(response, wrong, { requestMac, now: T }))).toBe('BADSIG');
  });

  it('reports BADTIME outside the fudge, checked after the MAC', () => {
    const { requestMac, response } = signedExchange();
    const signedAt = T + 1;
    expect(() => verifyResponse(response, key, { requestMac, now: signedAt + 300 })).not.toThrow();
    expect(() => verifyResponse(response, key, { requestMac, now: signedAt - 300 })).not.toThrow();
    expect(tsigErrorOf(() => verifyResponse(response, key, { requestMac, now: signedAt + 301 }))).toBe(
      'BADTIME',
    );
    expect(tsigErrorOf(() => verifyResponse(response, key, { requestMac, now: signedAt - 301 }))).toBe(
      'BADTIME',
    );
    expect(
      tsigErrorOf(() => verifyResponse(response, key, { requestMac, now: signedAt + 11, fudge: 10 })),
    ).toBe('BADTIME');
  });

  it('reports UNSIGNED for a response without TSIG', () => {
    const { requestMac } = signedExchange();
    expect(tsigErrorOf(() => verifyResponse(hex(RESPONSE_HEX), key, { requestMac, now: T }))).toBe(
      'UNSIGNED',
    );
  });

  it('reports BADKEY for a response signed with another key or algorithm', () => {
    const { requestMac, response } = signedExchange();
    expect(
      tsigErrorOf(() => verifyResponse(response, { ...key, name: 'other-key' }, { requestMac, now: T })),
    ).toBe('BADKEY');
    const otherAlg: TsigAlgorithm = alg === 'hmac-sha256' ? 'hmac-sha512' : 'hmac-sha256';
    expect(
      tsigErrorOf(() => verifyResponse(response, { ...key, algorithm: otherAlg }, { requestMac, now: T })),
    ).toBe('BADKEY');
  });

  it('reports BADTRUNC for a truncated MAC, without trying to verify it', () => {
    const { requestMac } = signedExchange();
    const short = 'ab'.repeat(10);
    const response = hex(
      withArcount(RESPONSE_HEX, 1) + tsigRR(alg, { timeHex: T_HEX, mac: short, id: '1234' }),
    );
    expect(tsigErrorOf(() => verifyResponse(response, key, { requestMac, now: T }))).toBe('BADTRUNC');
  });

  it.each([
    ['BADSIG', '0010'],
    ['BADKEY', '0011'],
    ['BADTRUNC', '0016'],
  ])('passes on a server-reported %s from an unsigned error reply', (name, error) => {
    const { requestMac } = signedExchange();
    // RFC 8945 5.3.2: NOTAUTH, and a TSIG with an empty MAC and the error.
    const reply = withArcount(RESPONSE_HEX.slice(0, 4) + 'a809' + RESPONSE_HEX.slice(8), 1);
    const response = hex(reply + tsigRR(alg, { timeHex: T_HEX, mac: '', id: '1234', error }));
    expect(tsigErrorOf(() => verifyResponse(response, key, { requestMac, now: T }))).toBe(name);
  });

  it("passes on a server-reported BADTIME with the server's clock in the message", () => {
    const { requestMac } = signedExchange();
    const reply = withArcount(RESPONSE_HEX.slice(0, 4) + 'a809' + RESPONSE_HEX.slice(8), 1);
    const serverTime = '000065540000';
    const response = hex(
      reply + tsigRR(alg, { timeHex: T_HEX, mac: '', id: '1234', error: '0012', other: serverTime }),
    );
    try {
      verifyResponse(response, key, { requestMac, now: T });
      expect.unreachable();
    } catch (err) {
      expect((err as TsigError).tsigError).toBe('BADTIME');
      expect((err as TsigError).message).toContain(new Date(0x65540000 * 1000).toISOString());
    }
  });
});

describe('readTsig', () => {
  const key: TsigKey = { name: 'update-key', algorithm: 'hmac-sha256', secret: SECRET };

  it('returns undefined without additional records, or when the last one is not TSIG', () => {
    expect(readTsig(hex(RESPONSE_HEX))).toBeUndefined();
    const withOpt = dnsPacket.encode({
      type: 'response',
      id: 1,
      questions: [{ name: 'example.com', type: 'A' }],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 1232,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [],
        },
      ],
    });
    expect(readTsig(withOpt)).toBeUndefined();
  });

  it('finds the TSIG after compressed answers and an OPT record', () => {
    const response = dnsPacket.encode({
      type: 'response',
      id: 0x4242,
      questions: [{ name: 'www.example.com', type: 'A' }],
      answers: [{ name: 'www.example.com', type: 'A', ttl: 60, data: '192.0.2.1' }],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 1232,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [],
        },
      ],
    });
    const requestMac = Buffer.alloc(32, 7);
    const signed = signMessage(response, key, { timeSigned: T, requestMac }).message;
    const found = readTsig(signed);
    expect(found?.offset).toBe(response.length);
    expect(found?.tsig.originalId).toBe(0x4242);
    expect(() => verifyResponse(signed, key, { requestMac, now: T })).not.toThrow();
  });

  it('rejects a TSIG RR whose RDLENGTH disagrees with its fields', () => {
    const rr = tsigRR('hmac-sha256', { timeHex: T_HEX, mac: '00'.repeat(32), id: '1234' });
    const broken = hex(withArcount(RESPONSE_HEX, 1) + rr + '00');
    expect(() => readTsig(broken)).toThrow(DnsMalformedError);
    // Lengthen RDLENGTH by one and append a byte: the fields no longer fill it.
    const rdlenAt = RESPONSE_HEX.length / 2 + KEY_NAME.length / 2 + 8;
    const longer = Buffer.concat([hex(withArcount(RESPONSE_HEX, 1) + rr), Buffer.from([0])]);
    longer.writeUInt16BE(longer.readUInt16BE(rdlenAt) + 1, rdlenAt);
    expect(() => readTsig(longer)).toThrow(DnsMalformedError);
  });

  it('rejects a message cut inside the TSIG RR', () => {
    const signed = signMessage(hex(RESPONSE_HEX), key, { timeSigned: T }).message;
    expect(() => readTsig(signed.subarray(0, signed.length - 1))).toThrow(DnsMalformedError);
  });
});

describe('signMessage input checks', () => {
  const key: TsigKey = { name: 'update-key', algorithm: 'hmac-sha256', secret: SECRET };

  it('refuses an unknown algorithm, a bad time or fudge', () => {
    const bad = { ...key, algorithm: 'hmac-md5' as TsigAlgorithm };
    expect(tsigErrorOf(() => signMessage(hex(REQUEST_HEX), bad, { timeSigned: T }))).toBe('BADALG');
    expect(() => signMessage(hex(REQUEST_HEX), key, { timeSigned: -1 })).toThrow();
    expect(() => signMessage(hex(REQUEST_HEX), key, { timeSigned: 1.5 })).toThrow();
    expect(() => signMessage(hex(REQUEST_HEX), key, { timeSigned: T, fudge: 70000 })).toThrow();
  });

  it('writes the 48-bit time beyond 2^32 seconds', () => {
    const late = 2 ** 32 + 5;
    const found = readTsig(signMessage(hex(REQUEST_HEX), key, { timeSigned: late }).message);
    expect(found?.tsig.timeSigned).toBe(late);
  });
});
