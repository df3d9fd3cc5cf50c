/**
 * Property-based tests of the DNS reply decoder (src/dns/query.ts, wire-reader.ts,
 * message-check.ts), the reply matcher (reply-match.ts) and the chain walk (src/resolve/chain.ts)
 * on valid replies, mutated replies and hostile names. Properties:
 * - nothing crashes: bad input only ever raises DnsMalformedError, and the matcher and the walk
 *   never throw;
 * - nothing outside the bailiwick: every address the walk returns is held by the last name of the
 *   chain it reports, and every hop of that chain is a CNAME record of the reply, both checked on
 *   the wire by a reader that shares nothing with dns-packet.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DnsMalformedError } from '../../../src/dns/errors.ts';
import { decodeMessage, encodeQuery } from '../../../src/dns/query.ts';
import { fingerprintRequest, matchReply } from '../../../src/dns/reply-match.ts';
import {
  HEADER_LENGTH,
  readHeader,
  readName,
  readQuestions,
  readRecord,
  sameLabels,
} from '../../../src/dns/wire-reader.ts';
import { walkAnswer } from '../../../src/resolve/chain.ts';
import { fuzz, mutated } from './settings.ts';

const TARGET = 'lb.demo.test';
const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_SOA = 6;
const TYPE_AAAA = 28;

type Labels = Buffer[];
const labels = (text: string): Labels => text.split('.').map((l) => Buffer.from(l, 'utf8'));

/**
 * Names an answer may carry: ordinary ones, the target in other ASCII case (the same name), and
 * look-alikes that are other names on the wire but may read the same as text: a label holding a
 * dot, a Kelvin sign (U+212A, which toLowerCase() turns into "k"), bytes that are not UTF-8.
 */
const NAMES: Labels[] = [
  labels(TARGET),
  labels('LB.Demo.TEST'),
  labels('edge.cdn.test'),
  labels('pop.cdn.test'),
  labels('k.cdn.test'),
  labels('other.example'),
  [Buffer.from('lb.demo'), Buffer.from('test')],
  [Buffer.from('lb'), Buffer.from('demo.test')],
  [Buffer.from('\u212a', 'utf8'), Buffer.from('cdn'), Buffer.from('test')],
  [Buffer.from([0x6c, 0x62, 0xff]), Buffer.from('demo'), Buffer.from('test')],
];

interface Rr {
  owner: Labels;
  type: number;
  ttl: number;
  rdata: Buffer;
}

function nameWire(name: Labels): Buffer {
  return Buffer.concat([...name.flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0])]);
}

function rrWire(rr: Rr): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(rr.type, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(rr.ttl, 4);
  fixed.writeUInt16BE(rr.rdata.length, 8);
  return Buffer.concat([nameWire(rr.owner), fixed, rr.rdata]);
}

/** A reply to `id`'s query for TARGET, uncompressed, written by hand (not by dns-packet). */
function reply(id: number, qtype: number, rcode: number, answers: Rr[], authority: Rr[]): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x8180 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  header.writeUInt16BE(authority.length, 8);
  const question = Buffer.alloc(4);
  question.writeUInt16BE(qtype, 0);
  question.writeUInt16BE(1, 2);
  return Buffer.concat([
    header,
    nameWire(labels(TARGET)),
    question,
    ...answers.map(rrWire),
    ...authority.map(rrWire),
  ]);
}

const nameArb = fc.constantFrom(...NAMES);
const ttlArb = fc.oneof(fc.integer({ min: 0, max: 86400 }), fc.constant(0x7fffffff), fc.constant(0xffffffff));
const addressRr = (type: number): fc.Arbitrary<Rr> =>
  fc.record({
    owner: nameArb,
    type: fc.constant(type),
    ttl: ttlArb,
    rdata: fc
      .uint8Array({ minLength: type === TYPE_A ? 4 : 16, maxLength: type === TYPE_A ? 4 : 16 })
      .map(Buffer.from),
  });
const cnameRr: fc.Arbitrary<Rr> = fc.record({
  owner: nameArb,
  type: fc.constant(TYPE_CNAME),
  ttl: ttlArb,
  rdata: nameArb.map(nameWire),
});
const soaRr: fc.Arbitrary<Rr> = fc.record({
  owner: fc.constant(labels('demo.test')),
  type: fc.constant(TYPE_SOA),
  ttl: ttlArb,
  rdata: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 5, maxLength: 5 }).map((n) => {
    const numbers = Buffer.alloc(20);
    n.forEach((v, i) => numbers.writeUInt32BE(v, 4 * i));
    return Buffer.concat([nameWire(labels('ns1.demo.test')), nameWire(labels('host.demo.test')), numbers]);
  }),
});

/** A well-formed reply: a CNAME chain from the target, addresses, decoys, in any order. */
const validReply = (qtype: number): fc.Arbitrary<Uint8Array> =>
  fc
    .record({
      id: fc.integer({ min: 0, max: 0xffff }),
      rcode: fc.constantFrom(0, 0, 0, 3),
      chain: fc.array(nameArb, { maxLength: 4 }),
      addresses: fc.array(addressRr(qtype), { maxLength: 4 }),
      decoys: fc.array(fc.oneof(addressRr(TYPE_A), addressRr(TYPE_AAAA), cnameRr), { maxLength: 5 }),
      soa: fc.option(soaRr, { nil: undefined }),
      order: fc.array(fc.nat(), { maxLength: 16 }),
    })
    .map(({ id, rcode, chain, addresses, decoys, soa, order }) => {
      const hops: Rr[] = [];
      let at = labels(TARGET);
      for (const next of chain) {
        hops.push({ owner: at, type: TYPE_CNAME, ttl: 60, rdata: nameWire(next) });
        at = next;
      }
      const answers = [
        ...hops,
        ...addresses.map((a, i) => (i % 2 === 0 ? { ...a, owner: at } : a)),
        ...decoys,
      ];
      // Shuffle deterministically from the generated order.
      for (let i = answers.length - 1; i > 0; i--) {
        const j = (order[i % Math.max(1, order.length)] ?? 0) % (i + 1);
        [answers[i], answers[j]] = [answers[j] as Rr, answers[i] as Rr];
      }
      return reply(id, qtype, rcode, answers, soa ? [soa] : []);
    });

/** The answer records, read with the project's own wire reader. */
function wireAnswers(buf: Buffer): { owner: Labels; type: number; rdata: Buffer; target?: Labels }[] {
  const header = readHeader(buf);
  let pos = readQuestions(buf, HEADER_LENGTH, header.qdcount).next;
  const out = [];
  for (let i = 0; i < header.ancount; i++) {
    const rr = readRecord(buf, pos);
    const rdata = buf.subarray(rr.rdataOffset, rr.next);
    out.push({
      owner: rr.labels,
      type: rr.type,
      rdata,
      target: rr.type === TYPE_CNAME ? readName(buf, rr.rdataOffset).labels : undefined,
    });
    pos = rr.next;
  }
  return out;
}

function addressText(type: number, rdata: Buffer): string {
  if (type === TYPE_A) return [...rdata].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(rdata.readUInt16BE(i).toString(16));
  return groups.join(':');
}

/** Canonical IPv6 text without node:net's help: expand "::" and drop leading zeros. */
function expandIpv6(text: string): string {
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16).toString(16)).join(':');
}

function checkBailiwick(buf: Buffer, qtype: number): void {
  let packet;
  try {
    packet = decodeMessage(buf);
  } catch (err) {
    expect(err).toBeInstanceOf(DnsMalformedError);
    return;
  }
  const type = qtype === TYPE_A ? 'A' : 'AAAA';
  const walk = walkAnswer(packet, TARGET, type, [TARGET], Number.POSITIVE_INFINITY);
  if (walk.kind !== 'addresses' && walk.kind !== 'cname-pending') return;
  const answers = wireAnswers(buf);
  expect(walk.chain[0]).toBe(TARGET);
  for (let i = 1; i < walk.chain.length; i++) {
    const from = labels(walk.chain[i - 1] as string);
    const to = labels(walk.chain[i] as string);
    const hop = answers.some(
      (a) => a.type === TYPE_CNAME && sameLabels(a.owner, from) && a.target && sameLabels(a.target, to),
    );
    expect(hop, `hop ${walk.chain[i - 1]} → ${walk.chain[i]} is a CNAME of the reply`).toBe(true);
  }
  if (walk.kind !== 'addresses') return;
  const end = labels(walk.chain[walk.chain.length - 1] as string);
  const held = new Set(
    answers
      .filter((a) => a.type === qtype && sameLabels(a.owner, end))
      .map((a) => (qtype === TYPE_A ? addressText(qtype, a.rdata) : expandIpv6(addressText(qtype, a.rdata)))),
  );
  for (const address of walk.addresses) {
    const key = qtype === TYPE_A ? address : expandIpv6(address);
    expect(held.has(key), `${address} is held by ${walk.chain.at(-1)} on the wire`).toBe(true);
  }
}

describe('fuzz (behaviour rule 16): the DNS reply decoder and the chain walk', () => {
  const fingerprint = fingerprintRequest(encodeQuery(0, TARGET, 'A'));

  it('random bytes never crash the decoder, the matcher or the walk', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const buf = Buffer.from(bytes);
        expect(() => matchReply(buf, fingerprint)).not.toThrow();
        checkBailiwick(buf, TYPE_A);
      }),
      fuzz(500),
    );
  });

  it.each([
    ['A', TYPE_A],
    ['AAAA', TYPE_AAAA],
  ] as const)(
    'valid and mutated %s replies: only DnsMalformedError, and no address from outside the chain',
    (_t, qtype) => {
      fc.assert(
        fc.property(
          fc.oneof(validReply(qtype).map(Buffer.from), mutated(validReply(qtype), [0x2e, 0xc0, 0x0c])),
          (buf) => {
            expect(() => matchReply(buf, fingerprint)).not.toThrow();
            checkBailiwick(buf, qtype);
          },
        ),
        fuzz(600),
      );
    },
  );
});
