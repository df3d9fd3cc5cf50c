import { stringify } from 'yaml';
import type { AliasOutcome, SyncSummary } from '../engine/types.ts';
import { driftLeft } from '../engine/sync.ts';

/** The report formats of `sync`, `plan` and `resolve` (`-o`). */
export const OUTPUT_FORMATS = ['text', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * Structured data as one report: a JSON line, or a YAML document that starts with `---`, so that
 * the passes of `sync --watch` stay one parseable stream in either format.
 */
export function formatData(format: 'json' | 'yaml', data: unknown): string {
  if (format === 'json') return JSON.stringify(data) + '\n';
  return '---\n' + stringify(data, { lineWidth: 0 });
}

/** The whole report of one pass in the chosen format. */
export function formatReport(
  format: OutputFormat,
  outcomes: AliasOutcome[],
  summary: SyncSummary,
  dryRun: boolean,
): string {
  if (format === 'text') return formatText(outcomes, summary, dryRun);
  return formatData(format, { summary, aliases: outcomes.map(outcomeJson) });
}

/** A machine-readable view of one alias's outcome (for `--output json`). */
export function outcomeJson(o: AliasOutcome): Record<string, unknown> {
  const addresses = (type: 'A' | 'AAAA'): string[] | undefined => {
    const r = o.resolved[type]?.result;
    return r?.kind === 'addresses' ? r.addresses : undefined;
  };
  return {
    alias: o.key,
    name: o.fqdn,
    zone: o.zone,
    target: o.input.spec.target,
    backend: o.backend,
    result: verdictWord(o),
    written: o.written,
    changes: o.verdict?.kind === 'change' ? o.verdict.reasons.map((r) => r.text) : [],
    blocked:
      o.verdict?.kind === 'blocked' ? { reason: o.verdict.reason, message: o.verdict.message } : undefined,
    failure: o.failure,
    problems: o.desired?.problems.map((p) => ({ type: p.type, reason: p.reason, message: p.message })) ?? [],
    ipv4: addresses('A'),
    ipv6: addresses('AAAA'),
    ttl: o.desired?.ttl,
    chain: o.desired?.chain,
    nextRefresh: new Date(o.refreshAt).toISOString(),
  };
}

/**
 * What happened to an alias, in one lower-case word: `changed`, `pending` (a `plan` change),
 * `unchanged`, `failed` or `blocked`. Why an alias is blocked (`NotOwned`, `Conflict`, …) is its
 * `blocked.reason`, in the CamelCase of Kubernetes reasons, as in the controller's conditions.
 */
export type ResultWord = 'changed' | 'pending' | 'unchanged' | 'drifted' | 'failed' | 'blocked';

/** One word for what happened to an alias; `drifted`: the zone serves other records, left so. */
export function verdictWord(o: AliasOutcome): ResultWord {
  if (o.verdict?.kind === 'blocked') return 'blocked';
  if (o.failure) return 'failed';
  if (o.verdict?.kind === 'change') return o.written ? 'changed' : 'pending';
  return driftLeft(o) ? 'drifted' : 'unchanged';
}

/** The human-readable report: one line per alias that needs attention, then the totals. */
export function formatText(outcomes: AliasOutcome[], summary: SyncSummary, dryRun: boolean): string {
  const lines: string[] = [];
  for (const o of outcomes) {
    const word = verdictWord(o);
    const head = `${o.key} ${o.fqdn} → ${o.input.spec.target}`;
    if (o.verdict?.kind === 'change' && (o.written || dryRun)) {
      lines.push(`${dryRun ? '~' : '✓'} ${head}`);
      for (const r of o.verdict.reasons) lines.push(`    ${r.text}`);
      if (o.failure) lines.push(`    ! ${o.failure.message}`);
    } else if (word === 'unchanged') {
      if (o.desired?.problems.length) lines.push(`= ${head} (unchanged)`);
    } else if (word === 'drifted') {
      const served = (['A', 'AAAA'] as const)
        .filter((t) => o.drift?.types[t])
        .map((t) => `${t} ${o.current?.[t]?.addresses.join(', ') || '(none)'}`)
        .join('; ');
      const why =
        o.drift?.action === 'fight'
          ? 'it keeps coming back; repairs paused'
          : 'driftPolicy Report: not repaired';
      lines.push(`≠ ${head}: drifted (${why})`);
      lines.push(`    the zone serves ${served}, not what was written`);
    } else {
      lines.push(`✗ ${head}: ${o.verdict?.kind === 'blocked' ? `blocked (${o.verdict.reason})` : word}`);
      lines.push(`    ${o.verdict?.kind === 'blocked' ? o.verdict.message : (o.failure?.message ?? '')}`);
    }
    if (o.desired?.problems.length && word !== 'failed' && !o.failure) {
      for (const p of o.desired.problems) lines.push(`    ! ${p.message}`);
    }
  }
  const writes = `${summary.writes} write${summary.writes === 1 ? '' : 's'} (${summary.records} records)`;
  const changed = dryRun ? `${summary.changed} to change` : `${summary.changed} changed`;
  lines.push(
    `${summary.aliases} aliases: ${changed}, ${summary.unchanged} unchanged, ` +
      (summary.drifted ? `${summary.drifted} drifted, ` : '') +
      `${summary.blocked} blocked, ` +
      `${summary.failed} failed; ${dryRun ? 'nothing written' : writes}; ${summary.lookups} DNS lookups`,
  );
  return lines.join('\n') + '\n';
}
