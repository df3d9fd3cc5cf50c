import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { DnsMalformedError } from '../../../src/dns/errors.ts';
import { decodeMessage } from '../../../src/dns/query.ts';
import { walkAnswer } from '../../../src/resolve/chain.ts';

/** A reply for lb.demo.test A whose only answer is `answers`, built by hand (labels as bytes). */
function reply(answers: Buffer[]): Buffer {
  const name = (...labels: (string | Buffer)[]): Buffer =>
    Buffer.concat([
      ...labels.flatMap((l) => {
        const b = Buffer.from(l);
        return [Buffer.from([b.length]), b];
      }),
      Buffer.from([0]),
    ]);
  const header = Buffer.from([0, 1, 0x81, 0x80, 0, 1, 0, answers.length, 0, 0, 0, 0]);
  return Buffer.concat([header, name('lb', 'demo', 'test'), Buffer.from([0, 1, 0, 1]), ...answers]);
}

function rr(owner: Buffer, type: number, rdata: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(60, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([owner, fixed, rdata]);
}

const wire = (...labels: (string | Buffer)[]): Buffer =>
  Buffer.concat([
    ...labels.flatMap((l) => {
      const b = Buffer.from(l);
      return [Buffer.from([b.length]), b];
    }),
    Buffer.from([0]),
  ]);

describe('names that read like a chain name but are another name on the wire', () => {
  it('an A record owned by lb.[demo.test] (one label holding a dot) is never taken for lb.demo.test', () => {
    const buf = reply([rr(wire('lb', 'demo.test'), 1, Buffer.from([192, 0, 2, 66]))]);
    // dns-packet alone reads the owner as "lb.demo.test"; the decoder must refuse the message.
    expect((dnsPacket.decode(buf).answers?.[0] as { name: string }).name).toBe('lb.demo.test');
    expect(() => decodeMessage(buf)).toThrow(DnsMalformedError);
  });

  it('an owner name with bytes that are not UTF-8 is refused, not decoded to U+FFFD', () => {
    const buf = reply([
      rr(wire(Buffer.from([0x6c, 0x62, 0xff]), 'demo', 'test'), 1, Buffer.from([192, 0, 2, 66])),
    ]);
    expect(() => decodeMessage(buf)).toThrow(/is not UTF-8/);
  });

  it('a CNAME to a Kelvin sign (U+212A) is not folded to "k": its records are not those of k.cdn.test', () => {
    const kelvin = Buffer.from('\u212a', 'utf8');
    const buf = reply([
      rr(wire('lb', 'demo', 'test'), 5, wire(kelvin, 'cdn', 'test')),
      rr(wire('k', 'cdn', 'test'), 1, Buffer.from([192, 0, 2, 66])),
    ]);
    const walk = walkAnswer(decodeMessage(buf), 'lb.demo.test', 'A', ['lb.demo.test'], Infinity);
    expect(walk).toMatchObject({
      kind: 'cname-pending',
      next: '\u212a.cdn.test',
      chain: ['lb.demo.test', '\u212a.cdn.test'],
    });
  });

  it('ASCII case is still folded: LB.Demo.TEST is the target', () => {
    const buf = reply([rr(wire('LB', 'Demo', 'TEST'), 1, Buffer.from([192, 0, 2, 1]))]);
    const walk = walkAnswer(decodeMessage(buf), 'lb.demo.test', 'A', ['lb.demo.test'], Infinity);
    expect(walk).toMatchObject({ kind: 'addresses', addresses: ['192.0.2.1'] });
  });
});
