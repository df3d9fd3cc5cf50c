/**
 * Writes the Grafana dashboard built by dashboards/apexalias.ts into the chart and into a plain
 * ConfigMap for the Grafana sidecar.
 *
 *   node scripts/gen-dashboard.ts           write both files
 *   node scripts/gen-dashboard.ts --check   exit 1, naming the first differing lines, when a committed file is stale
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildDashboard,
  DASHBOARD_CONFIGMAP_PATH,
  DASHBOARD_JSON_PATH,
  renderDashboardConfigMap,
  renderDashboardJson,
} from '../dashboards/apexalias.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The first few lines where `committed` and `expected` differ, with their line numbers. */
function firstDifferences(committed: string, expected: string, limit = 5): string {
  const a = committed.split('\n');
  const b = expected.split('\n');
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && out.length < limit * 2; i++) {
    if (a[i] === b[i]) continue;
    out.push(`line ${i + 1}: - ${a[i] ?? '(end of file)'}`);
    out.push(`line ${i + 1}: + ${b[i] ?? '(end of file)'}`);
  }
  if (a.length !== b.length) out.push(`(${a.length} lines committed, ${b.length} generated)`);
  return out.join('\n');
}

async function readOrEmpty(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

async function main(): Promise<number> {
  const dashboard = buildDashboard();
  const outputs: Array<[string, string]> = [
    [DASHBOARD_JSON_PATH, renderDashboardJson(dashboard)],
    [DASHBOARD_CONFIGMAP_PATH, renderDashboardConfigMap(dashboard)],
  ];

  if (process.argv.includes('--check')) {
    let stale = 0;
    for (const [path, expected] of outputs) {
      const committed = await readOrEmpty(join(root, path));
      if (committed === expected) {
        console.log(`${path} is up to date`);
        continue;
      }
      stale++;
      if (committed === '') {
        console.error(`${path} is missing`);
        continue;
      }
      console.error(
        `${path} differs from what dashboards/apexalias.ts generates (- committed, + generated):`,
      );
      console.error(firstDifferences(committed, expected));
    }
    if (stale > 0) {
      console.error('Run `node scripts/gen-dashboard.ts` (npm run gen:dashboard) and commit the result.');
      return 1;
    }
    return 0;
  }

  for (const [path, content] of outputs) {
    const file = join(root, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
    console.log(`wrote ${path}`);
  }
  return 0;
}

process.exitCode = await main();
