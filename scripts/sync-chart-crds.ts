/**
 * Keeps the install artefacts in step with their sources:
 *
 * - `charts/apexalias/files/crds/` and `deploy/crds/` hold byte-identical copies of `crds/*.yaml`
 *   (helm reads files only from inside the chart, where templates/crds.yaml renders them, and
 *   kustomize refuses files outside `deploy/`);
 * - `deploy/apexalias.yaml` is `helm template` of the chart with its default values (release
 *   "apexalias", namespace "apexalias-system") but without the CRD, which deploy/ lists on its
 *   own, so the plain manifests match the chart.
 *
 *   npx node scripts/sync-chart-crds.ts           write the copies
 *   npx node scripts/sync-chart-crds.ts --check   exit 1 when a copy is out of date
 *
 * Rendering needs helm (`bash tools/build.sh helm`). test/integration/chart.test.ts runs the same
 * checks.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

import { REPO_ROOT, renderDeployManifests } from '../test/harness/helm.ts';

const CRD_SOURCE = path.join(REPO_ROOT, 'crds');
export const CRD_COPIES = [
  path.join(REPO_ROOT, 'charts', 'apexalias', 'files', 'crds'),
  path.join(REPO_ROOT, 'deploy', 'crds'),
];
export const DEPLOY_MANIFEST = path.join(REPO_ROOT, 'deploy', 'apexalias.yaml');

/** Every file this script owns, with the content it should have. */
export async function expectedFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const crds = (await fs.readdir(CRD_SOURCE)).filter((f) => /\.ya?ml$/.test(f)).sort();
  for (const name of crds) {
    const text = await fs.readFile(path.join(CRD_SOURCE, name), 'utf8');
    for (const dir of CRD_COPIES) files.set(path.join(dir, name), text);
  }
  files.set(DEPLOY_MANIFEST, await renderDeployManifests());
  return files;
}

/** Files that differ from what they should be, and stale CRD copies that should not exist. */
export async function outOfDate(): Promise<string[]> {
  const expected = await expectedFiles();
  const problems: string[] = [];
  for (const [file, text] of expected) {
    const actual = existsSync(file) ? await fs.readFile(file, 'utf8') : undefined;
    if (actual !== text) problems.push(path.relative(REPO_ROOT, file));
  }
  for (const dir of CRD_COPIES) {
    if (!existsSync(dir)) continue;
    for (const name of await fs.readdir(dir)) {
      const file = path.join(dir, name);
      if (!expected.has(file)) problems.push(`${path.relative(REPO_ROOT, file)} (stale)`);
    }
  }
  return problems;
}

async function main(): Promise<void> {
  if (process.argv.includes('--check')) {
    const problems = await outOfDate();
    if (problems.length > 0) {
      console.error(
        `out of date (run \`npx node scripts/sync-chart-crds.ts\`):\n${problems.map((p) => `  ${p}`).join('\n')}`,
      );
      process.exitCode = 1;
    }
    return;
  }
  const expected = await expectedFiles();
  for (const dir of CRD_COPIES) {
    await fs.mkdir(dir, { recursive: true });
    for (const name of await fs.readdir(dir)) {
      if (!expected.has(path.join(dir, name))) await fs.rm(path.join(dir, name));
    }
  }
  for (const [file, text] of expected) {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, text);
    console.log(`wrote ${path.relative(REPO_ROOT, file)}`);
  }
}

if (import.meta.main) await main();
