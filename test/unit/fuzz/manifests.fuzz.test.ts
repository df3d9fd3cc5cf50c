/**
 * Property-based tests of the manifest loader (src/sources/files.ts) on generated manifests,
 * mutated ones (bytes flipped, inserted, cut; bytes that are not UTF-8) and random bytes.
 * Properties: it raises only ValidationError; what it returns is valid; and nothing is skipped in
 * silence: every object a successful load read is either an alias or reported as skipped.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateApexAlias } from '../../../src/api/validate.ts';
import { ValidationError } from '../../../src/errors.ts';
import { loadManifests } from '../../../src/sources/files.ts';
import { fuzz, mutated } from './settings.ts';

const aliasDoc = fc
  .record({
    name: fc.constantFrom('a', 'b', 'web-1', 'x.y'),
    zone: fc.constantFrom('example.com', 'example.org.', 'Example.com'),
    target: fc.constantFrom('lb.demo.test', 'cdn.example.net.', 'example.com'),
    extra: fc.constantFrom(
      '',
      '\n  ttl: { min: 30, max: 60 }',
      '\n  addressFamilies: [IPv4]',
      '\n  adopt: true',
      '\n  tll: 3',
    ),
    flow: fc.boolean(),
  })
  .map(({ name, zone, target, extra, flow }) =>
    flow
      ? JSON.stringify({
          apiVersion: 'dns.apexalias.io/v1alpha1',
          kind: 'ApexAlias',
          metadata: { name },
          spec: { zone, target },
        })
      : `apiVersion: dns.apexalias.io/v1alpha1\nkind: ApexAlias\nmetadata:\n  name: ${name}\nspec:\n  zone: ${zone}\n  target: ${target}${extra}`,
  );
const otherDoc = fc.constantFrom(
  'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { k: v }',
  'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: d }',
  '# only a comment',
  'base: &b { zone: example.com, target: lb.demo.test }\nkind: Note\napiVersion: x/v1',
);
const listDoc = fc
  .array(aliasDoc, { minLength: 1, maxLength: 3 })
  .map(
    (items) =>
      `apiVersion: v1\nkind: List\nitems:\n${items.map((i) => `- ${i.replace(/\n/g, '\n  ')}`).join('\n')}`,
  );
const manifestFile = fc
  .array(fc.oneof(aliasDoc, otherDoc, listDoc), { minLength: 1, maxLength: 4 })
  .map((docs) => Buffer.from(docs.join('\n---\n') + '\n'));

/** The objects of a file, counted independently of the loader (List items one by one). */
function objectsIn(text: string): number {
  let n = 0;
  const count = (value: unknown): void => {
    if (value === null || value === undefined) return;
    const v = value as { kind?: unknown; items?: unknown };
    if (typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items))
      v.items.forEach(count);
    else n++;
  };
  const docs = parseAllDocuments(text);
  for (const doc of Array.isArray(docs) ? docs : []) count(doc.toJS());
  return n;
}

describe('fuzz (behaviour rule 16): the manifest loader', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'apexalias-fuzz-manifests-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('raises only ValidationError, returns only valid aliases, and skips nothing in silence', async () => {
    const file = join(dir, 'm.yaml');
    const inputs = fc.oneof(
      manifestFile,
      mutated(manifestFile, [0x0a, 0x2d, 0x3a, 0x26, 0x2a, 0x7b, 0x22, 0xff, 0xc3]),
      fc.uint8Array({ maxLength: 200 }).map(Buffer.from),
    );
    await fc.assert(
      fc.asyncProperty(inputs, async (bytes) => {
        await writeFile(file, bytes);
        let loaded;
        try {
          loaded = await loadManifests([file]);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
          expect((err as ValidationError).problems.length).toBeGreaterThan(0);
          return;
        }
        for (const a of loaded.aliases) expect(validateApexAlias(a.alias).ok).toBe(true);
        expect(loaded.aliases.length + loaded.skipped.length).toBe(objectsIn(bytes.toString('utf8')));
      }),
      fuzz(300),
    );
  });
});
