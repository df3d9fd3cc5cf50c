/**
 * Writes the ApexAlias CRD generated from the TypeBox schema in src/api to crds/.
 *
 *   node scripts/gen-crd.ts           write crds/dns.apexalias.io_apexaliases.yaml
 *   node scripts/gen-crd.ts --check   exit 1, with a diff, when the committed file is stale
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRD_PATH, renderCrdYaml } from '../src/api/crd.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const file = join(root, CRD_PATH);

/** A line diff (longest common subsequence) printed with 2 lines of context, like `diff -u`. */
function lineDiff(before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: { kind: ' ' | '-' | '+'; text: string; line: number }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: ' ', text: a[i]!, line: i + 1 });
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      ops.push({ kind: '-', text: a[i]!, line: i + 1 });
      i++;
    } else {
      ops.push({ kind: '+', text: b[j]!, line: i + 1 });
      j++;
    }
  }
  const context = 2;
  const out: string[] = [];
  let lastPrinted = -1;
  ops.forEach((op, k) => {
    const near = ops.slice(Math.max(0, k - context), k + context + 1).some((o) => o.kind !== ' ');
    if (!near) return;
    if (k !== lastPrinted + 1) out.push(`@@ line ${op.line} @@`);
    out.push(`${op.kind}${op.text}`);
    lastPrinted = k;
  });
  return out.join('\n');
}

async function main(): Promise<number> {
  const expected = renderCrdYaml();
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (committed === expected) {
      console.log(`${CRD_PATH} is up to date`);
      return 0;
    }
    console.error(`${CRD_PATH} differs from what src/api generates (- committed, + generated):`);
    console.error(lineDiff(committed, expected));
    console.error('Run `node scripts/gen-crd.ts` (npm run gen:crd) and commit the result.');
    return 1;
  }
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, expected);
  console.log(`wrote ${CRD_PATH}`);
  return 0;
}

process.exitCode = await main();
