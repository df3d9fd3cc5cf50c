import { describe, expect, it } from 'vitest';
import { parseZone, parseZoneFile, txtValue, ZoneFileError } from '../../../src/backends/zonefile/parse.ts';
import type { ZoneRecord } from '../../../src/backends/zonefile/parse.ts';
import {
  compareNames,
  HEADER_COMMENT,
  quoteTxt,
  serializeZone,
  sortRecords,
} from '../../../src/backends/zonefile/serialize.ts';

const ZONE = 'example.com';

const rr = (name: string, ttl: number, type: string, rdata: string): ZoneRecord => ({
  name,
  ttl,
  class: 'IN',
  type,
  rdata,
});

/** A hand-written file with most of what operators put in zone files. */
const FIXTURE = `; a hand-written zone
$TTL 1h
$ORIGIN example.com.
@   IN SOA ns1 hostmaster (
        2024010101 ; serial
        3600 600 86400 60 )
    IN NS  ns1
    IN NS  ns2.example.net.
    IN MX  10 mail
    IN TXT "v=spf1 mx -all"
    300 A 192.0.2.10
    AAAA 2001:db8::10
_apexalias 300 TXT "heritage=apexalias,owner=ctl,resource=default/apex"
ns1 IN A 192.0.2.53
mail IN A 192.0.2.25
www 60 IN CNAME @
*.wild 60 A 192.0.2.99
_sip._tcp 60 SRV 10 5 5060 sip
z 60 TXT "semi;colon" "quote\\"d" \\065\\066 ( "paren" )
$ORIGIN sub.example.com.
a 120 A 192.0.2.1
a 120 A 192.0.2.2
a 120 A 10.0.0.1
b 120 PTR a
other.example.net. 60 A 198.51.100.1
`;

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: readonly T[], next: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('serializeZone', () => {
  it('writes header, $ORIGIN, $TTL, SOA, NS, then owners in canonical order with relative names', () => {
    const records = parseZoneFile(FIXTURE, ZONE);
    const text = serializeZone(ZONE, records, { defaultTtl: 3600 });
    expect(text).toBe(
      [
        `; example.com: ${HEADER_COMMENT}.`,
        '; Other records are kept, but comments and layout are not when apexalias rewrites this file.',
        '$ORIGIN example.com.',
        '$TTL 3600',
        '',
        '@                  3600 IN SOA   ns1.example.com. hostmaster.example.com. 2024010101 3600 600 86400 60',
        '@                  3600 IN NS    ns1.example.com.',
        '@                  3600 IN NS    ns2.example.net.',
        '@                   300 IN A     192.0.2.10',
        '@                  3600 IN AAAA  2001:db8::10',
        '@                  3600 IN MX    10 mail.example.com.',
        '@                  3600 IN TXT   "v=spf1 mx -all"',
        '',
        '_apexalias          300 IN TXT   "heritage=apexalias,owner=ctl,resource=default/apex"',
        '',
        '_sip._tcp            60 IN SRV   10 5 5060 sip.example.com.',
        '',
        'mail               3600 IN A     192.0.2.25',
        '',
        'ns1                3600 IN A     192.0.2.53',
        '',
        'a.sub               120 IN A     10.0.0.1',
        'a.sub               120 IN A     192.0.2.1',
        'a.sub               120 IN A     192.0.2.2',
        '',
        'b.sub               120 IN PTR   a.sub.example.com.',
        '',
        '*.wild               60 IN A     192.0.2.99',
        '',
        'www                  60 IN CNAME example.com.',
        '',
        'z                    60 IN TXT   "semi;colon" "quote\\"d" \\065\\066 "paren"',
        '',
        'other.example.net.   60 IN A     198.51.100.1',
        '',
      ].join('\n'),
    );
  });

  it('round-trips: parse(serialize(parse(x))) holds the same records as parse(x)', () => {
    const first = parseZone(FIXTURE, ZONE);
    const text = serializeZone(ZONE, first.records, { defaultTtl: first.defaultTtl ?? 300 });
    const second = parseZone(text, ZONE);
    expect(sortRecords(ZONE, second.records)).toEqual(sortRecords(ZONE, first.records));
    expect(second.defaultTtl).toBe(3600);
    // And writing it again changes nothing.
    expect(serializeZone(ZONE, second.records, { defaultTtl: 3600 })).toBe(text);
  });

  it('depends only on the set of records, never on their order', () => {
    const records = parseZoneFile(FIXTURE, ZONE);
    const expected = serializeZone(ZONE, records);
    const next = random(7);
    for (let k = 0; k < 20; k++) expect(serializeZone(ZONE, shuffle(records, next))).toBe(expected);
  });

  it('round-trips generated zones', () => {
    const next = random(42);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
    const labels = ['www', 'a', 'B', 'x-y', '_svc', '*', 'mail', 'deep.er', '0', 'zz'];
    for (let round = 0; round < 50; round++) {
      const records: ZoneRecord[] = [
        rr(ZONE, 3600, 'SOA', `ns1.${ZONE}. hostmaster.${ZONE}. ${round} 3600 600 86400 60`),
        rr(ZONE, 3600, 'NS', `ns1.${ZONE}.`),
      ];
      for (let k = 0; k < 15; k++) {
        const name = next() < 0.2 ? ZONE : `${pick(labels).toLowerCase()}.${ZONE}`;
        const ttl = pick([0, 30, 300, 3600, 2147483647]);
        const kind = pick(['A', 'AAAA', 'TXT', 'MX', 'TXT-escaped', 'SRV', 'CAA']);
        if (kind === 'A') records.push(rr(name, ttl, 'A', `192.0.2.${Math.floor(next() * 256)}`));
        if (kind === 'AAAA')
          records.push(rr(name, ttl, 'AAAA', `2001:db8::${Math.floor(next() * 65536).toString(16)}`));
        if (kind === 'TXT') records.push(rr(name, ttl, 'TXT', quoteTxt(`v=${next()} ; "quoted" \\ (x)`)));
        if (kind === 'TXT-escaped') records.push(rr(name, ttl, 'TXT', quoteTxt('ü\t\n'.repeat(100))));
        if (kind === 'MX') records.push(rr(name, ttl, 'MX', `${Math.floor(next() * 100)} mail.${ZONE}.`));
        if (kind === 'SRV') records.push(rr(name, ttl, 'SRV', `0 5 443 target.${ZONE}.`));
        if (kind === 'CAA') records.push(rr(name, ttl, 'CAA', '0 issue "letsencrypt.org"'));
      }
      const text = serializeZone(ZONE, shuffle(records, next));
      const parsed = parseZoneFile(text, ZONE);
      expect(sortRecords(ZONE, parsed)).toEqual(sortRecords(ZONE, records));
      expect(serializeZone(ZONE, parsed)).toBe(text);
    }
  });

  it('writes @ for the apex, absolute names outside the zone, and escapes a leading $', () => {
    const text = serializeZone(ZONE, [
      rr(ZONE, 60, 'A', '192.0.2.1'),
      rr('$weird.example.com', 60, 'A', '192.0.2.2'),
      rr('example.net', 60, 'A', '192.0.2.3'),
    ]);
    expect(text).toContain('\n@            60 IN A 192.0.2.1\n');
    expect(text).toContain('\n\\$weird      60 IN A 192.0.2.2\n');
    expect(text).toContain('\nexample.net. 60 IN A 192.0.2.3\n');
    expect(parseZoneFile(text, ZONE).map((r) => r.name)).toEqual([
      ZONE,
      '\\$weird.example.com',
      'example.net',
    ]);
  });

  it('chooses the most frequent TTL (the smallest on a tie) for $TTL when none is given', () => {
    const records = [rr('a.example.com', 60, 'A', '192.0.2.1'), rr('b.example.com', 30, 'A', '192.0.2.1')];
    expect(serializeZone(ZONE, records)).toContain('\n$TTL 30\n');
    expect(serializeZone(ZONE, [...records, rr('c.example.com', 60, 'A', '192.0.2.1')])).toContain(
      '\n$TTL 60\n',
    );
    expect(serializeZone(ZONE, [])).toContain('\n$TTL 300\n');
  });

  it('refuses records that would not read back as written', () => {
    expect(() => serializeZone(ZONE, [rr('a.example.com', 60, 'TXT', '"x"\nb 60 A 192.0.2.1')])).toThrow(
      ZoneFileError,
    );
    expect(() => serializeZone(ZONE, [rr('a b.example.com', 60, 'A', '192.0.2.1')])).toThrow(ZoneFileError);
    expect(() => serializeZone(ZONE, [rr('a.example.com', -1, 'A', '192.0.2.1')])).toThrow(/TTL -1/);
    expect(() => serializeZone(ZONE, [rr('a.example.com', 60, 'A', '')])).toThrow(/RDATA/);
  });
});

describe('quoteTxt', () => {
  it('quotes and escapes', () => {
    expect(quoteTxt('heritage=apexalias,owner=ctl,resource=ns/a')).toBe(
      '"heritage=apexalias,owner=ctl,resource=ns/a"',
    );
    expect(quoteTxt('a "b" \\ ;c')).toBe('"a \\"b\\" \\\\ ;c"');
    expect(quoteTxt('tab\there\u00e9')).toBe('"tab\\009here\\195\\169"');
    expect(quoteTxt('')).toBe('""');
  });

  it('splits values over 255 octets into several character-strings that join back', () => {
    const value = 'x'.repeat(600);
    const rdata = quoteTxt(value);
    expect(rdata.split(' ').map((s) => s.length - 2)).toEqual([255, 255, 90]);
    expect(txtValue(rdata)).toBe(value);
    const unicode = 'é'.repeat(200);
    expect(txtValue(quoteTxt(unicode))).toBe(unicode);
  });
});

describe('compareNames', () => {
  it('follows RFC 4034 canonical order', () => {
    // The example list from RFC 4034 section 6.1 (with \200 written as a plain label).
    const ordered = [
      'example',
      'a.example',
      'yljkjljk.a.example',
      'z.a.example',
      'zabc.a.example',
      'z.example',
      '*.z.example',
    ];
    expect([...ordered].reverse().sort(compareNames)).toEqual([
      'example',
      'a.example',
      'yljkjljk.a.example',
      'z.a.example',
      'zabc.a.example',
      'z.example',
      '*.z.example',
    ]);
    expect(compareNames('Z.example', 'z.example')).toBe(0);
  });
});
