import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { DnsError, DnsMalformedError } from '../../../src/dns/errors.ts';
import { decodeMessage, encodeQuery } from '../../../src/dns/query.ts';
import { signMessage } from '../../../src/dns/tsig.ts';

const EXAMPLE = '07' + '6578616d706c65' + '03' + '636f6d' + '00';

describe('encodeQuery', () => {
  it('writes a standard query with RD set by default', () => {
    expect(encodeQuery(0xabcd, 'Example.COM.', 'AAAA').toString('hex')).toBe(
      'abcd' + '0100' + '0001' + '0000' + '0000' + '0000' + EXAMPLE + '001c' + '0001',
    );
  });

  it('clears RD when asked (authoritative queries)', () => {
    expect(encodeQuery(1, 'example.com', 'SOA', { recursionDesired: false }).toString('hex')).toBe(
      '0001' + '0000' + '0001' + '0000' + '0000' + '0000' + EXAMPLE + '0006' + '0001',
    );
  });

  it('rejects an invalid name or ID', () => {
    expect(() => encodeQuery(1, 'a..b', 'A')).toThrow(DnsError);
    expect(() => encodeQuery(-1, 'example.com', 'A')).toThrow(DnsError);
    expect(() => encodeQuery(65536, 'example.com', 'A')).toThrow(DnsError);
  });
});

/** A realistic response, compressed by dns-packet: a CNAME chain ending in two addresses. */
function sampleResponse(): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 7,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ name: 'www.example.com', type: 'A', class: 'IN' }],
    answers: [
      { name: 'www.example.com', type: 'CNAME', ttl: 60, data: 'edge.example.net' },
      { name: 'edge.example.net', type: 'A', ttl: 30, data: '192.0.2.1' },
      { name: 'edge.example.net', type: 'A', ttl: 30, data: '192.0.2.2' },
    ],
    authorities: [
      {
        name: 'example.net',
        type: 'SOA',
        ttl: 300,
        data: { mname: 'ns1.example.net', rname: 'hostmaster.example.net', serial: 1, minimum: 60 },
      },
    ],
  });
}

describe('decodeMessage', () => {
  it('decodes a compressed response and names the RCODE', () => {
    const msg = decodeMessage(sampleResponse());
    expect(msg.id).toBe(7);
    expect(msg.rcode).toBe('NOERROR');
    expect(msg.opcode).toBe('QUERY');
    expect(msg.answers?.map((a) => ('data' in a ? a.data : undefined))).toEqual([
      'edge.example.net',
      '192.0.2.1',
      '192.0.2.2',
    ]);
  });

  it('uses the project RCODE names', () => {
    const buf = sampleResponse();
    buf.writeUInt16BE((buf.readUInt16BE(2) & 0xfff0) | 3, 2);
    expect(decodeMessage(buf).rcode).toBe('NXDOMAIN');
    buf.writeUInt16BE((buf.readUInt16BE(2) & 0xfff0) | 11, 2);
    expect(decodeMessage(buf).rcode).toBe('DSOTYPENI');
  });

  it('decodes a TSIG-signed response', () => {
    const key = { name: 'k', algorithm: 'hmac-sha256' as const, secret: Buffer.alloc(32, 1) };
    const signed = signMessage(sampleResponse(), key, { timeSigned: 1_700_000_000 }).message;
    expect(decodeMessage(signed).additionals?.map((a) => a.type)).toEqual(['TSIG']);
  });

  it('rejects a message shorter than a header', () => {
    expect(() => decodeMessage(Buffer.alloc(11))).toThrow(DnsMalformedError);
  });

  it('rejects a message cut inside a record', () => {
    const buf = sampleResponse();
    expect(() => decodeMessage(buf.subarray(0, buf.length - 3))).toThrow(DnsMalformedError);
  });

  // Regression: dns-packet's A decoder always consumes 4 octets whatever RDLENGTH says.
  it.each([0, 2, 5, 16])('rejects an A record with RDLENGTH %i instead of misreading it', (rdlength) => {
    const head = '0007' + '8180' + '0001' + '0001' + '0000' + '0000' + EXAMPLE + '0001' + '0001';
    const rr = 'c00c' + '0001' + '0001' + '0000003c' + rdlength.toString(16).padStart(4, '0');
    const buf = Buffer.from(head + rr + '01'.repeat(rdlength), 'hex');
    expect(() => decodeMessage(buf)).toThrow(DnsMalformedError);
  });

  it('rejects a CNAME whose RDLENGTH is longer than its name', () => {
    const head = '0007' + '8180' + '0001' + '0001' + '0000' + '0000' + EXAMPLE + '0005' + '0001';
    const rr = 'c00c' + '0005' + '0001' + '0000003c' + '0004' + '01' + '61' + '00' + 'ff';
    expect(() => decodeMessage(Buffer.from(head + rr, 'hex'))).toThrow(DnsMalformedError);
  });

  it('rejects a compression pointer that loops', () => {
    const head = '0007' + '8180' + '0001' + '0000' + '0000' + '0000';
    expect(() => decodeMessage(Buffer.from(head + 'c00c' + '0001' + '0001', 'hex'))).toThrow(
      DnsMalformedError,
    );
  });

  it('never lets a mangled message escape as anything but DnsMalformedError', () => {
    const original = sampleResponse();
    // A fixed linear congruential generator keeps the corpus the same on every run.
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let decoded = 0;
    for (let i = 0; i < 2000; i++) {
      const buf = Buffer.from(original.subarray(0, 12 + random(original.length - 11)));
      for (let flips = 1 + random(4); flips > 0; flips--) buf[random(buf.length)] = random(256);
      try {
        decodeMessage(buf);
        decoded++;
      } catch (err) {
        expect(err).toBeInstanceOf(DnsMalformedError);
      }
    }
    expect(decoded).toBeGreaterThan(0);
  });
});
