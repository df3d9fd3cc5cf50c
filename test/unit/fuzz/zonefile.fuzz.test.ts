/**
 * Property-based tests of the zone-file parser (src/backends/zonefile/parse.ts) and of the
 * zonefile backend on top of it, on generated master files, mutated ones and random text.
 * Properties:
 * - the parser raises only ZoneFileError;
 * - what parses, written back by the serializer, parses to the same records: a rewrite changes
 *   no record it was not asked to;
 * - through the backend, a file that does not parse is left byte for byte as it was, and a file
 *   that does keeps every record but the ones the change is about (and the SOA serial).
 */
import { isUtf8 } from 'node:buffer';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../../../src/backends/errors.ts';
import { ZoneFileBackend } from '../../../src/backends/zonefile/backend.ts';
import { parseZone, ZoneFileError } from '../../../src/backends/zonefile/parse.ts';
import type { ZoneRecord } from '../../../src/backends/zonefile/parse.ts';
import { serializeZone } from '../../../src/backends/zonefile/serialize.ts';
import { claim, NOW, rrset, tempDir, ZONE } from '../zonefile/helpers.ts';
import { fuzz, mutated } from './settings.ts';

const owner = fc.constantFrom(
  '@',
  'www',
  'WWW',
  'mail',
  'a.b',
  '*.wild',
  `ns1.${ZONE}.`,
  'other.test.',
  'x\\.y',
  '\\$odd',
  'caf\\195\\169',
  '_srv._tcp',
  '',
);
const ttl = fc.constantFrom('', '300', '1h', '2d3h', '0', '2147483647', '1W');
const klass = fc.constantFrom('', 'IN', 'in');
const quoted = fc
  .array(fc.constantFrom('a', ' ', '\\"', '\\\\', '\\065', ';', '(', ')', 'é', '\\255', 'x'), {
    maxLength: 6,
  })
  .map((parts) => `"${parts.join('')}"`);
const rdata = fc.oneof(
  fc.record({ type: fc.constant('A'), data: fc.constantFrom('192.0.2.1', '198.51.100.7', '10.0.0.1') }),
  fc.record({ type: fc.constant('AAAA'), data: fc.constantFrom('2001:db8::1', '2001:DB8:0:0::2', '::1') }),
  fc.record({
    type: fc.constant('TXT'),
    data: fc.array(quoted, { minLength: 1, maxLength: 3 }).map((q) => q.join(' ')),
  }),
  fc.record({ type: fc.constant('CNAME'), data: fc.constantFrom('target', 'cdn.example.net.', '@') }),
  fc.record({ type: fc.constant('MX'), data: fc.constantFrom('10 mail', '0 .', '5 mx.example.net.') }),
  fc.record({ type: fc.constant('NS'), data: fc.constantFrom('ns1', 'ns2.example.net.') }),
  fc.record({ type: fc.constant('SRV'), data: fc.constantFrom('0 5 443 www', '1 1 80 host.example.net.') }),
  fc.record({
    type: fc.constant('CAA'),
    data: fc.constantFrom('0 issue "letsencrypt.org"', '128 iodef "mailto:x@y"'),
  }),
  fc.record({
    type: fc.constant('TYPE65534'),
    data: fc.constantFrom('\\# 0', '\\# 4 c0000201', '\\# 2 ( ab\n cd )'),
  }),
  fc.record({ type: fc.constant('A'), data: fc.constant('\\# 4 c0000202') }),
);
const line = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(owner, ttl, klass, fc.boolean(), rdata).map(([o, t, c, swap, r]) => {
      const fields = swap ? [c, t] : [t, c];
      return [o, ...fields, r.type, r.data]
        .filter((f) => f !== '')
        .join(' ')
        .replace(/^(?=\S)/, o === '' ? ' ' : '');
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '; a comment',
      '',
      '$TTL 600',
      '$TTL 1h',
      `$ORIGIN sub.${ZONE}.`,
      `$ORIGIN ${ZONE}.`,
      '@ IN TXT ( "multi"\n "line" ) ; c',
    ),
  },
);

/** A master file with one SOA at the apex, then anything. */
const zoneText = fc
  .tuple(fc.constantFrom('', '$TTL 300\n'), fc.array(line, { maxLength: 12 }))
  .map(
    ([head, lines]) =>
      `${head}@ 300 IN SOA ns1 hostmaster ( 2024010101 3600 600 86400 60 )\n${lines.join('\n')}\n`,
  );

/** Records in a stable order, for comparison. */
function canonical(records: readonly ZoneRecord[]): string[] {
  return records.map((r) => `${r.name}|${r.ttl}|${r.type}|${r.rdata}`).sort();
}

function parsed(text: string): ZoneRecord[] | undefined {
  try {
    return parseZone(text, ZONE).records;
  } catch (err) {
    expect(err).toBeInstanceOf(ZoneFileError);
    return undefined;
  }
}

const textInputs = fc.oneof(
  zoneText,
  mutated(
    zoneText.map((t) => Buffer.from(t)),
    [0x22, 0x28, 0x29, 0x3b, 0x5c, 0x0a, 0x24],
  ).map((b) => b.toString('latin1')),
  fc.string({ maxLength: 200 }),
);

describe('fuzz (behaviour rule 16): the zone-file parser', () => {
  it('raises only ZoneFileError, on generated, mutated and random text', () => {
    fc.assert(
      fc.property(textInputs, (text) => {
        parsed(text);
      }),
      fuzz(1500),
    );
  });

  it('what parses is written back to the same records', () => {
    fc.assert(
      fc.property(textInputs, (text) => {
        const zone = (() => {
          try {
            return parseZone(text, ZONE);
          } catch {
            return undefined;
          }
        })();
        if (!zone) return;
        let written: string;
        try {
          written = serializeZone(ZONE, zone.records, { defaultTtl: zone.defaultTtl });
        } catch (err) {
          // The serializer may refuse a record it cannot write safely; it must say so.
          expect(err).toBeInstanceOf(ZoneFileError);
          return;
        }
        expect(canonical(parseZone(written, ZONE).records)).toEqual(canonical(zone.records));
      }),
      fuzz(1500),
    );
  });
});

describe('fuzz (behaviour rule 16): the zonefile backend on any file', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(async () => {
    await cleanup();
  });

  it('a file that does not parse is left untouched; one that does keeps every record it was not asked to change', async () => {
    const backend = new ZoneFileBackend({ name: 'z', directory: dir, zones: [ZONE], now: () => NOW });
    const path = join(dir, `${ZONE}.zone`);
    // A valid file with one byte that is not UTF-8 (Latin-1 "é", a stray 0xff) put anywhere.
    const notUtf8 = fc.tuple(zoneText, fc.nat(), fc.constantFrom(0xe9, 0xff, 0x80)).map(([t, at, b]) => {
      const buf = Buffer.from(t);
      const k = at % (buf.length + 1);
      return Buffer.concat([buf.subarray(0, k), Buffer.from([b]), buf.subarray(k)]);
    });
    const bytes = fc.oneof(
      zoneText.map((t) => Buffer.from(t)),
      notUtf8,
      mutated(
        zoneText.map((t) => Buffer.from(t)),
        [0x22, 0x3b, 0x5c, 0x0a, 0xff, 0xc3],
      ),
    );
    await fc.assert(
      fc.asyncProperty(bytes, async (before) => {
        await writeFile(path, before);
        const result = await backend.apply(ZONE, [claim(`fuzz.${ZONE}`, { A: rrset(60, '192.0.2.9') })]);
        const after = await readFile(path);
        const error = result.chunks[0]?.error;
        // A lossy decode would write U+FFFD back in place of the bytes: a changed record.
        if (!isUtf8(before)) expect(error, 'a file that is not UTF-8 is refused').toBeDefined();
        if (error) {
          expect(error).toBeInstanceOf(BackendError);
          expect(after.equals(before), `the file changed although the write failed: ${error.message}`).toBe(
            true,
          );
          return;
        }
        const old = parseZone(before.toString('utf8'), ZONE).records;
        // A file without records is a new zone: the backend writes its SOA and NS (behaviour rule 9).
        if (old.length === 0) return;
        const now = parseZone(after.toString('utf8'), ZONE).records;
        const untouched = (r: ZoneRecord): boolean =>
          r.name !== `fuzz.${ZONE}` &&
          r.name !== `_apexalias.fuzz.${ZONE}` &&
          !(r.type === 'SOA' && r.name === ZONE);
        expect(canonical(now.filter(untouched))).toEqual(canonical(old.filter(untouched)));
      }),
      fuzz(150),
    );
  });
});
