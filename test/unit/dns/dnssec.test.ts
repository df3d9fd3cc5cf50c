import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import {
  describeExtendedError,
  extendedErrors,
  isDnssecFailure,
  untrustedValidators,
} from '../../../src/dns/dnssec.ts';
import { decodeMessage, encodeQuery } from '../../../src/dns/query.ts';

/** A SERVFAIL whose OPT record carries the given EDNS options, as a validator sends it. */
function servfailWith(options: Array<{ code: number; data: Buffer }>): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | 2, // RCODE 2
    questions: [{ name: 'www.expired.test', type: 'A', class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 1232,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: dnsPacket.DNSSEC_OK,
        flag_do: true,
        options: options as never,
      },
    ],
  });
}

const ede = (code: number, text: string): { code: number; data: Buffer } => ({
  code: 15,
  data: Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(text, 'utf8')]),
});

describe('extendedErrors (RFC 8914)', () => {
  it('reads INFO-CODE and EXTRA-TEXT, and tells DNSSEC failures from other errors', () => {
    const packet = decodeMessage(
      servfailWith([ede(9, 'validation failure <www.expired.test. A IN>: signature expired'), ede(22, '')]),
    );
    const errors = extendedErrors(packet);
    expect(errors).toEqual([
      { infoCode: 9, text: 'validation failure <www.expired.test. A IN>: signature expired' },
      { infoCode: 22, text: '' },
    ]);
    expect(isDnssecFailure(errors)).toBe(true);
    expect(isDnssecFailure(errors.slice(1))).toBe(false);
    expect(describeExtendedError(errors[0]!)).toBe(
      'EDE 9 (DNSKEY Missing): validation failure <www.expired.test. A IN>: signature expired',
    );
    expect(describeExtendedError(errors[1]!)).toBe('EDE 22 (No Reachable Authority)');
  });

  it.each([1, 2, 5, 6, 7, 8, 9, 10, 11, 12])('code %i is a DNSSEC failure', (code) => {
    expect(isDnssecFailure([{ infoCode: code, text: '' }])).toBe(true);
  });

  it.each([0, 3, 4, 13, 14, 15, 18, 20, 22, 23, 24, 49152])('code %i is not', (code) => {
    expect(isDnssecFailure([{ infoCode: code, text: '' }])).toBe(false);
  });

  it('keeps server text printable and short, and skips options too short to hold a code', () => {
    const packet = decodeMessage(
      servfailWith([ede(6, `bad\u0000\n${'x'.repeat(500)}`), { code: 15, data: Buffer.from([6]) }]),
    );
    const [only, ...rest] = extendedErrors(packet);
    expect(rest).toEqual([]);
    expect(only!.infoCode).toBe(6);
    expect(only!.text).toMatch(/^bad\?\?x+$/);
    expect(only!.text).toHaveLength(200);
  });

  it('finds none in a reply without OPT', () => {
    const reply = dnsPacket.encode({
      type: 'response',
      id: 1,
      questions: [{ name: 'a.test', type: 'A', class: 'IN' }],
    });
    expect(extendedErrors(decodeMessage(reply))).toEqual([]);
  });
});

describe('untrustedValidators', () => {
  it('trusts loopback (IPv4, IPv6 and IPv4-mapped) and the listed addresses only', () => {
    const servers = [
      '127.0.0.1',
      '127.0.0.53',
      '::1',
      '::ffff:127.0.0.1',
      '10.0.0.53',
      'fd00::53',
      '192.0.2.1',
      'dns.example',
    ];
    expect(
      untrustedValidators(
        servers.map((host) => ({ host })),
        [],
      ),
    ).toEqual(['10.0.0.53', 'fd00::53', '192.0.2.1', 'dns.example']);
    expect(
      untrustedValidators(
        servers.map((host) => ({ host })),
        ['10.0.0.53', 'FD00:0::53'],
      ),
    ).toEqual(['192.0.2.1', 'dns.example']);
    expect(untrustedValidators([{ host: 'fe80::53%eth0' }], ['fe80::53'])).toEqual([]);
  });
});

describe('encodeQuery with DNSSEC options', () => {
  it('adds an OPT record with DO and a 1232-octet payload, and sets CD when asked', () => {
    const plain = dnsPacket.decode(encodeQuery(7, 'www.signed.test', 'A'));
    expect(plain.additionals).toEqual([]);
    const withDo = encodeQuery(7, 'www.signed.test', 'A', { dnssecOk: true });
    const decoded = dnsPacket.decode(withDo);
    expect(decoded.flag_cd).toBe(false);
    expect(decoded.additionals).toHaveLength(1);
    expect(decoded.additionals![0]).toMatchObject({ type: 'OPT', udpPayloadSize: 1232, flag_do: true });
    // The OPT record is the last 11 octets: root name, type 41, payload 1232, rcode 0, version 0, DO.
    expect(withDo.subarray(-11).toString('hex')).toBe('00' + '0029' + '04d0' + '00' + '00' + '8000' + '0000');
    const cd = dnsPacket.decode(
      encodeQuery(7, 'www.signed.test', 'A', { dnssecOk: true, checkingDisabled: true }),
    );
    expect(cd.flag_cd).toBe(true);
    expect(cd.flag_rd).toBe(true);
  });
});
