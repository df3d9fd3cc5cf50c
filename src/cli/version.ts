import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the folder of package.json, two levels above this file. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Written by `npm pack` (the `prepack` script, scripts/build-info.ts) into the package. */
export const BUILD_INFO_FILE = 'build-info.json';

/** Where the commit came from, for people reading `--version`. */
export type CommitSource = 'git checkout' | 'build' | 'unknown';

/**
 * The commit apexalias runs from. In a git checkout, git says (so a developer's tree never shows
 * a stale value); in a package or an image, the commit recorded when it was packed.
 */
export function commitOf(root = ROOT): { commit: string; source: CommitSource } {
  if (existsSync(join(root, '.git'))) {
    try {
      const commit = execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 5_000,
      }).trim();
      if (/^[0-9a-f]{40}$/.test(commit)) return { commit, source: 'git checkout' };
    } catch {
      // No git on the PATH: fall back to the recorded commit.
    }
  }
  try {
    const info = JSON.parse(readFileSync(join(root, BUILD_INFO_FILE), 'utf8')) as { commit?: unknown };
    if (typeof info.commit === 'string' && /^[0-9a-f]{40}$/.test(info.commit)) {
      return { commit: info.commit, source: 'build' };
    }
  } catch {
    // Not packed with a build-info file.
  }
  return { commit: 'unknown', source: 'unknown' };
}

/** The package version from package.json, the one source of it. */
export function packageVersion(root = ROOT): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** What `apexalias --version` prints: the version, then the commit and the Node.js version. */
export function versionText(root = ROOT): string {
  const { commit, source } = commitOf(root);
  return (
    `apexalias ${packageVersion(root)}\n` +
    `commit: ${commit}${source === 'unknown' ? '' : ` (${source})`}\n` +
    `node: ${process.version}\n`
  );
}
