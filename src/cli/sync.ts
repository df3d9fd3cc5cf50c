import { syncAliases } from '../engine/sync.ts';
import { WorkQueue } from '../controller/workqueue.ts';
import { aliasKey } from '../api/names.ts';
import { publishedAfter } from '../engine/published.ts';
import { RepairLimiter } from '../drift/zone.ts';
import type { AliasInput, AliasOutcome } from '../engine/types.ts';
import type { Logger } from '../observe/logger.ts';
import { loadManifests } from '../sources/files.ts';
import type { ManifestAlias } from '../sources/files.ts';
import { Progress } from './progress.ts';
import { formatReport } from './report.ts';
import type { OutputFormat } from './report.ts';
import { ValidationError } from '../errors.ts';
import type { Runtime, RuntimeOptions } from '../engine/runtime.ts';
import { createRuntime } from '../engine/runtime.ts';

export interface SyncOptions extends RuntimeOptions {
  filename: string[];
  watch?: boolean;
  output: OutputFormat;
  /** Accept manifests that hold no ApexAlias (exit 0 instead of 2). */
  allowEmpty?: boolean;
  dryRun: boolean;
  detailedExitcode?: boolean;
}

/** Exit codes, shared by every command (README "Exit codes"). */
export const EXIT = { ok: 0, notInSync: 1, invalid: 2, changesPending: 3 } as const;

function toInput(m: ManifestAlias): AliasInput {
  const { metadata, spec } = m.alias;
  return {
    namespace: metadata.namespace ?? 'default',
    name: metadata.name,
    spec,
    createdAt: metadata.creationTimestamp,
  };
}

/**
 * `apexalias sync` and `apexalias plan`: one pass over the manifests (plan writes nothing), or
 * with --watch a loop that refreshes each alias as its target's TTL runs out. Returns the exit code.
 */
export async function runSync(opts: SyncOptions, logger: Logger): Promise<number> {
  const { aliases, skipped, files } = await loadManifests(opts.filename);
  if (skipped.length > 0) {
    logger.info('skipped objects that are not ApexAliases', {
      count: skipped.length,
      objects: skipped.slice(0, 20).map((s) => `${s.source} (${s.kind})`),
    });
  }
  if (aliases.length === 0) {
    const what = `no ApexAlias in ${opts.filename.join(', ')} (${files} file(s) read, ${skipped.length} other object(s) skipped)`;
    // A check that checks nothing must not pass in silence (a CI job with a wrong path).
    if (!opts.allowEmpty) throw new ValidationError(`${what}; pass --allow-empty if that is expected`);
    logger.warn(what, { paths: opts.filename });
    return EXIT.ok;
  }
  const inputs = aliases.map(toInput);
  const runtime = await createRuntime(opts, logger);
  try {
    if (!opts.watch) {
      const outcomes = await pass(inputs, runtime, opts, logger, new Map());
      return exitCode(outcomes, opts);
    }
    return await watch(inputs, runtime, opts, logger);
  } finally {
    await runtime.close();
  }
}

async function pass(
  inputs: AliasInput[],
  runtime: Runtime,
  opts: SyncOptions,
  logger: Logger,
  failures: Map<string, number>,
  repairs?: RepairLimiter,
): Promise<AliasOutcome[]> {
  const progress = new Progress(inputs.length, logger);
  const { outcomes, summary } = await syncAliases(inputs, {
    resolver: runtime.resolver,
    backendFor: runtime.backendFor,
    ownerId: runtime.config.ownerId,
    refresh: runtime.config.refresh,
    logger,
    now: () => Date.now(),
    random: Math.random,
    dryRun: opts.dryRun,
    failures,
    repairs,
    onProgress: (phase, done, total) => progress.update(phase, done, total),
  });
  progress.done();
  logger.info(opts.dryRun ? 'plan complete' : 'sync complete', { ...summary });
  process.stdout.write(formatReport(opts.output, outcomes, summary, opts.dryRun));
  return outcomes;
}

function exitCode(outcomes: AliasOutcome[], opts: SyncOptions): number {
  if (outcomes.some((o) => o.failure || o.verdict?.kind === 'blocked')) return EXIT.notInSync;
  if (opts.dryRun && opts.detailedExitcode && outcomes.some((o) => o.verdict?.kind === 'change')) {
    return EXIT.changesPending;
  }
  return EXIT.ok;
}

/**
 * Refreshes each alias when it is due, until SIGINT or SIGTERM: the controller's work queue
 * schedules the keys (behaviour rule 15), and the aliases that come due together share a pass.
 */
async function watch(
  inputs: AliasInput[],
  runtime: Runtime,
  opts: SyncOptions,
  logger: Logger,
): Promise<number> {
  const stop = new AbortController();
  const onSignal = (signal: string): void => {
    logger.info('stopping', { signal });
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const byKey = new Map(inputs.map((i) => [aliasKey(i.namespace, i.name), i]));
  const failures = new Map<string, number>();
  // Watch mode remembers what it published, so that the next pass can tell a hand edit (zone
  // drift, behaviour rule 13: repaired, or only logged under driftPolicy Report) from a moving target.
  const published = new Map<string, AliasInput['lastKnownGood']>();
  const repairs = new RepairLimiter();
  // The engine backs off failing aliases itself (their refreshAt), so every key "succeeds" here.
  const queue = new WorkQueue({ concurrency: 1 });
  queue.startBatches(
    async (keys) => {
      const batch = keys.map((k) => ({ ...byKey.get(k)!, lastKnownGood: published.get(k) }));
      const results = new Map<string, { requeueAfterMs: number }>();
      for (const o of await pass(batch, runtime, opts, logger, failures, repairs)) {
        published.set(o.key, publishedAfter(o, o.input.lastKnownGood ?? {}));
        results.set(o.key, { requeueAfterMs: Math.max(0, o.refreshAt - Date.now()) });
      }
      return results;
    },
    { maxKeys: byKey.size, windowMs: 250 },
  );
  for (const key of byKey.keys()) queue.add(key);
  try {
    await new Promise<void>((resolve) =>
      stop.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    await queue.shutDown();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return EXIT.ok;
}
