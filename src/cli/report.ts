import type { AliasOutcome, SyncSummary } from '../engine/types.ts';

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

/** One word for what happened to an alias. */
export function verdictWord(o: AliasOutcome): string {
  if (o.verdict?.kind === 'blocked') return o.verdict.reason;
  if (o.failure) return 'failed';
  if (o.verdict?.kind === 'change') return o.written ? 'changed' : 'pending';
  return 'unchanged';
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
    } else {
      lines.push(`✗ ${head}: ${word}`);
      lines.push(`    ${o.verdict?.kind === 'blocked' ? o.verdict.message : (o.failure?.message ?? '')}`);
    }
    if (o.desired?.problems.length && word !== 'failed' && !o.failure) {
      for (const p of o.desired.problems) lines.push(`    ! ${p.message}`);
    }
  }
  const writes = `${summary.writes} write${summary.writes === 1 ? '' : 's'} (${summary.records} records)`;
  const changed = dryRun ? `${summary.changed} to change` : `${summary.changed} changed`;
  lines.push(
    `${summary.aliases} aliases: ${changed}, ${summary.unchanged} unchanged, ${summary.blocked} blocked, ` +
      `${summary.failed} failed; ${dryRun ? 'nothing written' : writes}; ${summary.lookups} DNS lookups`,
  );
  return lines.join('\n') + '\n';
}
