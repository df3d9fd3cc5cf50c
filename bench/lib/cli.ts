/** What every benchmark script shares on its command line and its progress output. */
import path from 'node:path';

/** The repository root (bench/lib/ is two levels below it). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Where results go unless `--out` says otherwise: the committed bench/results. */
export const DEFAULT_RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');

/** The `--out` option every bench takes (parseArgs form): write results there instead. */
export const outOption = { out: { type: 'string', default: DEFAULT_RESULTS_DIR } } as const;

/** Parses a flag's value as a positive integer, or throws naming the flag. */
export function positiveInteger(flag: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${raw}`);
  return n;
}

/** Parses a non-negative number of seconds, or throws naming the flag. */
export function seconds(flag: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a number of seconds ≥ 0, got ${raw}`);
  return n;
}

/** Parses a comma-separated list of positive integers (`1000,10000`). */
export function integerList(flag: string, raw: string | undefined): number[] {
  const items = (raw ?? '').split(',').map((s) => s.trim());
  if (items.length === 0 || items.some((s) => s === ''))
    throw new Error(`${flag} must be a list like 1000,10000`);
  return items.map((s) => positiveInteger(flag, s));
}

/** Parses a comma-separated list whose items must come from `allowed`. */
export function choiceList<T extends string>(
  flag: string,
  raw: string | undefined,
  allowed: readonly T[],
): T[] {
  const items = (raw ?? '').split(',').map((s) => s.trim());
  for (const item of items)
    if (!allowed.includes(item as T))
      throw new Error(`${flag}: unknown "${item}"; choose from ${allowed.join(', ')}`);
  return items as T[];
}

/** A progress printer on stderr: `[tag 12.3s] message`, seconds since the bench started. */
export function progressLogger(tag: string): { progress: (msg: string) => void; elapsed: () => string } {
  const started = performance.now();
  const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  return { elapsed, progress: (msg) => void process.stderr.write(`[${tag} ${elapsed()}] ${msg}\n`) };
}
