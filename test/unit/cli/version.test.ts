import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUILD_INFO_FILE, commitOf, versionText } from '../../../src/cli/version.ts';

describe('apexalias --version outside a git checkout', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'apexalias-version-'));
    await writeFile(join(root, 'package.json'), JSON.stringify({ name: 'apexalias', version: '9.8.7' }));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('a package made by npm pack names the commit recorded in build-info.json', async () => {
    const commit = 'a'.repeat(40);
    await writeFile(join(root, BUILD_INFO_FILE), JSON.stringify({ commit }));
    expect(commitOf(root)).toEqual({ commit, source: 'build' });
    expect(versionText(root)).toBe(`apexalias 9.8.7\ncommit: ${commit} (build)\nnode: ${process.version}\n`);
  });

  it('without a checkout or a build-info file the commit is unknown, and says so', () => {
    expect(versionText(root)).toBe(`apexalias 9.8.7\ncommit: unknown\nnode: ${process.version}\n`);
  });
});
