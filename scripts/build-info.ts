/**
 * Records the git commit in build-info.json, which `apexalias --version` shows when it runs from
 * a package or an image rather than from a git checkout. Run by `npm pack` (the `prepack`
 * script); a container build runs it too (`node scripts/build-info.ts`) before it copies the app.
 *
 *   node scripts/build-info.ts            write build-info.json from `git rev-parse HEAD`
 *   APEXALIAS_COMMIT=<sha> node scripts/build-info.ts   when there is no .git (a CI checkout)
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BUILD_INFO_FILE } from '../src/cli/version.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..');

const commit =
  process.env.APEXALIAS_COMMIT ??
  execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
if (!/^[0-9a-f]{40}$/.test(commit)) {
  console.error(`build-info: ${JSON.stringify(commit)} is not a full git commit id`);
  process.exit(1);
}
writeFileSync(join(REPO_ROOT, BUILD_INFO_FILE), JSON.stringify({ commit }, null, 2) + '\n');
console.log(`wrote ${BUILD_INFO_FILE}: ${commit}`);
