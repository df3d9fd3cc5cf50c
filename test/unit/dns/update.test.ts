import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { DnsError, DnsMalformedError } from '../../../src/dns/errors.ts';
import { decodeUpdateResponse, encodeUpdate } from '../../../src/dns/update.ts';
import type { UpdateMessage, UpdateRR } from '../../../src/dns/update.ts';

/** Hex written out by hand, byte by byte, so the tests do not reuse the encoder's own helpers. */
const ZONE = '07' + '6578616d706c65' + '03' + '636f6d' + '00'; // example.com
/** Owner names after the zone section are compressed: the zone name sits at offset 12. */
const ZONE_PTR = 'c00c';
const MARKER = '0a' + '5f61706578616c696173' + ZONE_PTR; // _apexalias.example.com
const WWW = '03' + '777777' + ZONE_PTR; // www.example.com
const ascii = (s: string): string => Buffer.from(s, 'ascii').toString('hex');
const MARKER_VALUE = 'heritage=apexalias,owner=c1,resource=default/web';

/** Header for id 0x1234, opcode UPDATE (0x2800), ZOCOUNT 1, then PRCOUNT, UPCOUNT, ADCOUNT 0. */
function header(pr: number, up: number): string {
  const u16 = (n: number): string => n.toString(16).padStart(4, '0');
  return '1234' + '2800' + '0001' + u16(pr) + u16(up) + '0000';
}
const ZONE_SECTION = ZONE + '0006' + '0001'; // SOA, IN

function encodeOne(section: 'prerequisites' | 'updates', rr: UpdateRR): string {
  const msg: UpdateMessage = { id: 0x1234, zone: 'example.com', prerequisites: [], updates: [] };
  msg[section].push(rr);
  return encodeUpdate(msg).toString('hex');
}

describe('encodeUpdate against hand-assembled bytes', () => {
  it('encodes an empty update: header and zone section only', () => {
    const hex = encodeUpdate({ id: 0x1234, zone: 'Example.COM.', prerequisites: [], updates: [] }).toString(
      'hex',
    );
    expect(hex).toBe(header(0, 0) + '07' + '4578616d706c65' + '03' + '434f4d' + '00' + '0006' + '0001');
  });

  it('prerequisite "RRset does not exist": class NONE, TTL 0, RDLENGTH 0', () => {
    expect(
      encodeOne('prerequisites', { name: '_apexalias.example.com', type: 'TXT', class: 'NONE', ttl: 0 }),
    ).toBe(header(1, 0) + ZONE_SECTION + MARKER + '0010' + '00fe' + '00000000' + '0000');
  });

  it('prerequisite "no CNAME": class NONE type CNAME, RDLENGTH 0', () => {
    expect(encodeOne('prerequisites', { name: 'example.com', type: 'CNAME', class: 'NONE', ttl: 0 })).toBe(
      header(1, 0) + ZONE_SECTION + ZONE_PTR + '0005' + '00fe' + '00000000' + '0000',
    );
  });

  it('prerequisite "RRset exists (value dependent)": class IN TXT with the value', () => {
    const value = ascii(MARKER_VALUE);
    expect(
      encodeOne('prerequisites', {
        name: '_apexalias.example.com',
        type: 'TXT',
        class: 'IN',
        ttl: 0,
        rdata: [MARKER_VALUE],
      }),
    ).toBe(header(1, 0) + ZONE_SECTION + MARKER + '0010' + '0001' + '00000000' + '0031' + '30' + value);
  });

  it('prerequisite "RRset exists (value independent)": class ANY, RDLENGTH 0', () => {
    expect(encodeOne('prerequisites', { name: 'example.com', type: 'A', class: 'ANY', ttl: 0 })).toBe(
      header(1, 0) + ZONE_SECTION + ZONE_PTR + '0001' + '00ff' + '00000000' + '0000',
    );
  });

  it('update "delete an RRset": class ANY type A, RDLENGTH 0', () => {
    expect(encodeOne('updates', { name: 'www.example.com', type: 'A', class: 'ANY', ttl: 0 })).toBe(
      header(0, 1) + ZONE_SECTION + WWW + '0001' + '00ff' + '00000000' + '0000',
    );
  });

  it('update "delete all RRsets from a name": type ANY class ANY', () => {
    expect(encodeOne('updates', { name: 'www.example.com', type: 'ANY', class: 'ANY', ttl: 0 })).toBe(
      header(0, 1) + ZONE_SECTION + WWW + '00ff' + '00ff' + '00000000' + '0000',
    );
  });

  it('update "delete an RR from an RRset": class NONE with the RDATA', () => {
    expect(
      encodeOne('updates', { name: 'www.example.com', type: 'A', class: 'NONE', ttl: 0, rdata: '192.0.2.1' }),
    ).toBe(header(0, 1) + ZONE_SECTION + WWW + '0001' + '00fe' + '00000000' + '0004' + 'c0000201');
  });

  it('update "add to an RRset": A, AAAA and TXT in class IN with their TTL', () => {
    const msg: UpdateMessage = {
      id: 0x1234,
      zone: 'example.com',
      prerequisites: [],
      updates: [
        { name: 'example.com', type: 'A', class: 'IN', ttl: 300, rdata: '192.0.2.10' },
        { name: 'example.com', type: 'AAAA', class: 'IN', ttl: 300, rdata: '2001:db8::1' },
        { name: '_apexalias.example.com', type: 'TXT', class: 'IN', ttl: 300, rdata: [MARKER_VALUE] },
      ],
    };
    expect(encodeUpdate(msg).toString('hex')).toBe(
      header(0, 3) +
        ZONE_SECTION +
        ZONE_PTR +
        '0001' +
        '0001' +
        '0000012c' +
        '0004' +
        'c000020a' +
        ZONE_PTR +
        '001c' +
        '0001' +
        '0000012c' +
        '0010' +
        '20010db8000000000000000000000001' +
        MARKER +
        '0010' +
        '0001' +
        '0000012c' +
        '0031' +
        '30' +
        ascii(MARKER_VALUE),
    );
  });

  it('writes a full conditional change in section order: prerequisites before updates', () => {
    const hex = encodeUpdate({
      id: 0x1234,
      zone: 'example.com',
      prerequisites: [
        { name: '_apexalias.example.com', type: 'TXT', class: 'NONE', ttl: 0 },
        { name: 'example.com', type: 'A', class: 'NONE', ttl: 0 },
      ],
      updates: [
        { name: 'example.com', type: 'A', class: 'ANY', ttl: 0 },
        { name: 'example.com', type: 'A', class: 'IN', ttl: 60, rdata: '198.51.100.7' },
      ],
    }).toString('hex');
    expect(hex).toBe(
      header(2, 2) +
        ZONE_SECTION +
        (MARKER + '0010' + '00fe' + '00000000' + '0000') +
        (ZONE_PTR + '0001' + '00fe' + '00000000' + '0000') +
        (ZONE_PTR + '0001' + '00ff' + '00000000' + '0000') +
        (ZONE_PTR + '0001' + '0001' + '0000003c' + '0004' + 'c6336407'),
    );
  });

  it('writes CNAME RDATA as an uncompressed name', () => {
    expect(
      encodeOne('prerequisites', {
        name: 'www.example.com',
        type: 'CNAME',
        class: 'IN',
        ttl: 0,
        rdata: 'example.com.',
      }),
    ).toBe(header(1, 0) + ZONE_SECTION + WWW + '0005' + '0001' + '00000000' + '000d' + ZONE);
  });
});

describe('owner name compression (RFC 1035 4.1.4)', () => {
  it('points a repeated owner name and a shared suffix back at their first occurrence', () => {
    const hex = encodeUpdate({
      id: 0x1234,
      zone: 'example.com',
      prerequisites: [{ name: 'www.example.com', type: 'CNAME', class: 'NONE', ttl: 0 }],
      updates: [
        { name: 'www.example.com', type: 'A', class: 'ANY', ttl: 0 },
        { name: '_apexalias.www.example.com', type: 'TXT', class: 'ANY', ttl: 0 },
      ],
    }).toString('hex');
    // www.example.com is written at offset 12 + 13 + 4 = 29 (0x1d).
    expect(hex).toBe(
      header(1, 2) +
        ZONE_SECTION +
        ('03777777' + ZONE_PTR + '0005' + '00fe' + '00000000' + '0000') +
        ('c01d' + '0001' + '00ff' + '00000000' + '0000') +
        ('0a5f61706578616c696173' + 'c01d' + '0010' + '00ff' + '00000000' + '0000'),
    );
  });

  it('decodes with dns-packet to the same names', () => {
    const buf = encodeUpdate({
      id: 7,
      zone: 'example.com',
      prerequisites: [],
      updates: [
        { name: 'a.example.com', type: 'A', class: 'IN', ttl: 60, rdata: '192.0.2.1' },
        { name: 'b.a.example.com', type: 'A', class: 'IN', ttl: 60, rdata: '192.0.2.2' },
      ],
    });
    // dns-packet reads the zone section as a question and the update section as authorities.
    const decoded = dnsPacket.decode(buf);
    expect(decoded.authorities?.map((a) => a.name)).toEqual(['a.example.com', 'b.a.example.com']);
  });
});

describe('TXT character-strings', () => {
  const txtRdata = (rdata: string | string[]): string => {
    const hex = encodeOne('updates', { name: 'example.com', type: 'TXT', class: 'IN', ttl: 0, rdata });
    const fixed = (header(0, 1) + ZONE_SECTION + ZONE_PTR + '0010' + '0001' + '00000000').length;
    return hex.slice(fixed + 4); // skip RDLENGTH
  };

  it('splits a string longer than 255 octets into several character-strings', () => {
    const long = 'x'.repeat(300);
    expect(txtRdata([long])).toBe('ff' + ascii('x'.repeat(255)) + '2d' + ascii('x'.repeat(45)));
  });

  it('keeps a 255-octet string in one character-string and splits at 256', () => {
    expect(txtRdata(['y'.repeat(255)])).toBe('ff' + ascii('y'.repeat(255)));
    expect(txtRdata(['y'.repeat(256)])).toBe('ff' + ascii('y'.repeat(255)) + '01' + ascii('y'));
  });

  it('writes one character-string per array element, and an empty string as length 0', () => {
    expect(txtRdata(['ab', '', 'c'])).toBe('02' + ascii('ab') + '00' + '01' + ascii('c'));
  });

  it('accepts a single string', () => {
    expect(txtRdata('hello')).toBe('05' + ascii('hello'));
  });

  it('counts octets, not characters, for non-ASCII text', () => {
    expect(txtRdata(['é'])).toBe('02' + 'c3a9');
  });
});

describe('AAAA text forms', () => {
  // dns-packet's own address codec is an independent implementation to compare against.
  const viaDnsPacket = (address: string): string => {
    const packet = dnsPacket.encode({
      type: 'query',
      id: 1,
      answers: [{ type: 'AAAA', name: 'x', ttl: 0, data: address }],
    });
    return packet.subarray(packet.length - 16).toString('hex');
  };
  const viaUs = (address: string): string => {
    const hex = encodeOne('updates', {
      name: 'example.com',
      type: 'AAAA',
      class: 'IN',
      ttl: 0,
      rdata: address,
    });
    return hex.slice(-32);
  };

  it.each([
    '::',
    '::1',
    '2001:db8::',
    '2001:DB8:0:0:8:800:200C:417A',
    'fe80::1:2',
    '::ffff:192.0.2.1',
    '64:ff9b::192.0.2.33',
  ])('%s', (address) => {
    expect(viaUs(address)).toBe(viaDnsPacket(address));
  });
});

describe('encodeUpdate rejects what it cannot encode', () => {
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(DnsError);
      return (err as DnsError).code;
    }
    return undefined;
  };
  const withUpdate = (rr: UpdateRR, id = 1): (() => Buffer) => {
    return () => encodeUpdate({ id, zone: 'example.com', prerequisites: [], updates: [rr] });
  };

  it.each<[string, UpdateRR, string]>([
    [
      'a name outside the zone',
      { name: 'example.org', type: 'A', class: 'IN', ttl: 1, rdata: '192.0.2.1' },
      'ERR_DNS_NAME',
    ],
    [
      'a sibling that only shares a suffix',
      { name: 'badexample.com', type: 'A', class: 'ANY', ttl: 0 },
      'ERR_DNS_NAME',
    ],
    [
      'an invalid IPv4 address',
      { name: 'example.com', type: 'A', class: 'IN', ttl: 1, rdata: '192.0.2.256' },
      'ERR_DNS_RDATA',
    ],
    [
      'IPv6 text in an A record',
      { name: 'example.com', type: 'A', class: 'IN', ttl: 1, rdata: '::1' },
      'ERR_DNS_RDATA',
    ],
    [
      'IPv4 text in an AAAA record',
      { name: 'example.com', type: 'AAAA', class: 'IN', ttl: 1, rdata: '192.0.2.1' },
      'ERR_DNS_RDATA',
    ],
    [
      'a scoped IPv6 address',
      { name: 'example.com', type: 'AAAA', class: 'IN', ttl: 1, rdata: 'fe80::1%eth0' },
      'ERR_DNS_RDATA',
    ],
    [
      'a list for an A record',
      { name: 'example.com', type: 'A', class: 'IN', ttl: 1, rdata: ['192.0.2.1'] },
      'ERR_DNS_RDATA',
    ],
    [
      'an empty TXT list',
      { name: 'example.com', type: 'TXT', class: 'IN', ttl: 1, rdata: [] },
      'ERR_DNS_RDATA',
    ],
    [
      'RDATA on type ANY',
      { name: 'example.com', type: 'ANY', class: 'ANY', ttl: 0, rdata: 'x' },
      'ERR_DNS_RDATA',
    ],
    ['a negative TTL', { name: 'example.com', type: 'A', class: 'ANY', ttl: -1 }, 'ERR_DNS_UPDATE'],
    ['a fractional TTL', { name: 'example.com', type: 'A', class: 'ANY', ttl: 1.5 }, 'ERR_DNS_UPDATE'],
    ['a TTL over 32 bits', { name: 'example.com', type: 'A', class: 'ANY', ttl: 2 ** 32 }, 'ERR_DNS_UPDATE'],
  ])('%s', (_why, rr, expected) => {
    expect(code(withUpdate(rr))).toBe(expected);
  });

  it('an ID outside 16 bits', () => {
    expect(code(withUpdate({ name: 'example.com', type: 'A', class: 'ANY', ttl: 0 }, 0x10000))).toBe(
      'ERR_DNS_UPDATE',
    );
  });

  it('an invalid zone name', () => {
    expect(code(() => encodeUpdate({ id: 1, zone: 'a..b', prerequisites: [], updates: [] }))).toBe(
      'ERR_DNS_NAME',
    );
  });
});

describe('round trip', () => {
  it('keeps header, zone section and records readable by an independent decoder', () => {
    const buf = encodeUpdate({
      id: 0xbeef,
      zone: 'example.com',
      prerequisites: [{ name: '_apexalias.example.com', type: 'TXT', class: 'NONE', ttl: 0 }],
      updates: [
        { name: 'example.com', type: 'A', class: 'IN', ttl: 60, rdata: '192.0.2.1' },
        { name: 'example.com', type: 'AAAA', class: 'IN', ttl: 60, rdata: '2001:db8::7' },
        { name: '_apexalias.example.com', type: 'TXT', class: 'IN', ttl: 60, rdata: [MARKER_VALUE] },
      ],
    });
    expect(decodeUpdateResponse(buf)).toEqual({ id: 0xbeef, rcode: 0, opcode: 5, qr: false });
    // dns-packet reads the UPDATE sections as question/answer/authority/additional. It can only
    // because no A/AAAA record here has empty RDATA: its A and AAAA decoders ignore RDLENGTH.
    const decoded = dnsPacket.decode(buf);
    expect(dnsPacket.decode.bytes).toBe(buf.length);
    expect(decoded.questions).toEqual([{ name: 'example.com', type: 'SOA', class: 'IN' }]);
    expect(decoded.answers?.map((a) => [a.name, a.type, 'data' in a ? a.data : undefined])).toEqual([
      ['_apexalias.example.com', 'TXT', []],
    ]);
    expect(
      decoded.authorities?.map((a) => [a.name, a.type, 'data' in a ? String(a.data) : undefined]),
    ).toEqual([
      ['example.com', 'A', '192.0.2.1'],
      ['example.com', 'AAAA', '2001:db8::7'],
      ['_apexalias.example.com', 'TXT', MARKER_VALUE],
    ]);
    expect(decoded.additionals).toEqual([]);
  });
});

describe('decodeUpdateResponse', () => {
  it('reads ID, QR, opcode and the header RCODE', () => {
    // id 0x1234, QR=1, opcode 5, rcode 8 (NXRRSET)
    const buf = Buffer.from('1234' + 'a808' + '0001' + '0000' + '0000' + '0000' + ZONE_SECTION, 'hex');
    expect(decodeUpdateResponse(buf)).toEqual({ id: 0x1234, rcode: 8, opcode: 5, qr: true });
  });

  it('rejects a reply shorter than a header', () => {
    expect(() => decodeUpdateResponse(Buffer.from('1234a8', 'hex'))).toThrow(DnsMalformedError);
  });
});
