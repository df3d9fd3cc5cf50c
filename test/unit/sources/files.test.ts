import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.ts';
import {
  MAX_MANIFEST_DOCUMENT_BYTES,
  MAX_MANIFEST_FILE_BYTES,
  loadManifests,
} from '../../../src/sources/files.ts';

const alias = (name: string, extra = ''): string =>
  `apiVersion: dns.apexalias.io/v1alpha1\nkind: ApexAlias\nmetadata:\n  name: ${name}${extra}\nspec:\n  zone: example.com\n  target: lb.demo.test\n`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apexalias-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The problems of a load that must fail. */
async function problems(path: string): Promise<string[]> {
  try {
    await loadManifests([path]);
  } catch (err) {
    if (err instanceof ValidationError) return err.problems;
    throw err;
  }
  throw new Error(`${path} was accepted`);
}

describe('bad input for sync -f', () => {
  it('a YAML alias bomb (billion laughs) is refused as a validation problem, not a crash', async () => {
    const bomb = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
      'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
      'h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]',
      'i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]',
    ].join('\n');
    await writeFile(join(dir, 'bomb.yaml'), bomb);
    expect(await problems(join(dir, 'bomb.yaml'))).toEqual([
      `${join(dir, 'bomb.yaml')}#1: refused: its YAML aliases expand more than 100 times (an alias bomb?)`,
    ]);
  });

  it('a 50 MB manifest is refused by its size before it is read', async () => {
    const file = join(dir, 'huge.yaml');
    await writeFile(file, alias('huge'));
    await truncate(file, 50 * 1024 * 1024); // sparse: the test does not write 50 MB
    const [problem, ...rest] = await problems(file);
    expect(rest).toEqual([]);
    expect(problem).toContain(`${file}: 50.0 MiB is more than the 3.0 MiB a manifest file may hold`);
  });

  it('a document over 1.5 MiB is refused, even in a file under the file limit', async () => {
    const big = `\n  annotations:\n    note: "${'x'.repeat(MAX_MANIFEST_DOCUMENT_BYTES)}"`;
    await writeFile(join(dir, 'big.yaml'), `${alias('small')}---\n${alias('big', big)}`);
    expect(await problems(join(dir, 'big.yaml'))).toEqual([
      expect.stringMatching(/big\.yaml#2: the document is 1\.5 MiB, more than the 1\.5 MiB/),
    ]);
  });

  it('the size limit is per file: a folder holding more than the limit in all is read', async () => {
    const note = `\n  annotations:\n    note: "${'x'.repeat(1024 * 1024)}"`;
    for (let i = 0; i < 4; i++) await writeFile(join(dir, `a${i}.yaml`), alias(`a${i}`, note));
    const loaded = await loadManifests([dir]);
    expect(loaded.files).toBe(4);
    expect(loaded.aliases.map((a) => a.alias.metadata.name)).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(4 * 1024 * 1024).toBeGreaterThan(MAX_MANIFEST_FILE_BYTES);
  });

  it('non-UTF-8 bytes are refused with their byte offset, never decoded lossily', async () => {
    const text = Buffer.from(alias('latin'));
    const at = text.indexOf('lb.demo');
    const bytes = Buffer.concat([text.subarray(0, at), Buffer.from([0xe9]), text.subarray(at)]);
    await writeFile(join(dir, 'latin1.yaml'), bytes);
    expect(await problems(join(dir, 'latin1.yaml'))).toEqual([
      `${join(dir, 'latin1.yaml')} is not valid UTF-8: byte 0xe9 at offset ${at} (line 7); save the file as UTF-8`,
    ]);
  });

  it('a top-level YAML sequence of ApexAliases is refused, not skipped in silence', async () => {
    await writeFile(join(dir, 'seq.yaml'), `- ${alias('a').replace(/\n(?=.)/g, '\n  ')}`);
    const [problem] = await problems(join(dir, 'seq.yaml'));
    expect(problem).toContain('seq.yaml#1: the document is a YAML sequence');
    expect(problem).toContain('kind: List');
  });

  it('a kind: List is read as kubectl reads it, item by item', async () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'dns.apexalias.io/v1alpha1',
          kind: 'ApexAlias',
          metadata: { name: 'l1' },
          spec: { zone: 'example.com', target: 'lb.demo.test' },
        },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
        {
          apiVersion: 'dns.apexalias.io/v1alpha1',
          kind: 'ApexAlias',
          metadata: { name: 'l2' },
          spec: { zone: 'example.org', target: 'lb.demo.test' },
        },
      ],
    };
    await writeFile(join(dir, 'list.json'), JSON.stringify(list));
    const loaded = await loadManifests([join(dir, 'list.json')]);
    expect(loaded.aliases.map((a) => [a.alias.metadata.name, a.source])).toEqual([
      ['l1', `${join(dir, 'list.json')}#1.items[0]`],
      ['l2', `${join(dir, 'list.json')}#1.items[2]`],
    ]);
    expect(loaded.skipped).toEqual([
      { source: `${join(dir, 'list.json')}#1.items[1]`, kind: 'v1/ConfigMap' },
    ]);
  });

  it('objects of other kinds are returned as skipped, so that they can be reported', async () => {
    await writeFile(
      join(dir, 'mixed.yaml'),
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n---\n${alias('m')}`,
    );
    const loaded = await loadManifests([join(dir, 'mixed.yaml')]);
    expect(loaded.aliases).toHaveLength(1);
    expect(loaded.skipped).toEqual([{ source: `${join(dir, 'mixed.yaml')}#1`, kind: 'apps/v1/Deployment' }]);
  });

  it('an ApexAlias of an unknown version, or a document without a kind, is refused', async () => {
    await writeFile(
      join(dir, 'v.yaml'),
      `${alias('v').replace('v1alpha1', 'v1')}---\nfoo: bar\n---\n"just a string"\n`,
    );
    const found = await problems(join(dir, 'v.yaml'));
    expect(found).toHaveLength(3);
    expect(found[0]).toContain('#1 (default/v): dns.apexalias.io/v1/ApexAlias is not known');
    expect(found[1]).toContain('#2: has no kind');
    expect(found[2]).toContain('#3: the document is a string');
  });

  it('a YAML error keeps the code frame the yaml library gives', async () => {
    await writeFile(
      join(dir, 'bad.yaml'),
      `${alias('ok')}---\nmetadata: { name: x\nspec: zone: example.com\n`,
    );
    const found = await problems(join(dir, 'bad.yaml'));
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]).toMatch(/bad\.yaml#2: not valid YAML: .* at line \d+, column \d+:\n/);
    // The frame: the offending source line, and a caret under the column.
    expect(found.join('\n')).toMatch(/\n {4}.*\^/);
  });

  it('an empty file, or one of comments only, holds nothing and is no problem', async () => {
    await writeFile(join(dir, 'empty.yaml'), '# nothing yet\n');
    expect(await loadManifests([join(dir, 'empty.yaml')])).toEqual({ aliases: [], skipped: [], files: 1 });
  });
});
