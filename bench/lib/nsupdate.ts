/**
 * The raw ceiling: BIND's own nsupdate over TCP with TSIG, sending records as fast as BIND takes
 * them, without ownership records or reads. It is BIND's limit, not a tool's.
 */
import type { BindServer } from '../../test/harness/bind.ts';
import { requireBinary, runCommand } from '../../test/harness/process.ts';
import type { Measure } from './bind-stats.ts';
import { measured } from './bind-stats.ts';

/** One A record to add. */
export interface RawRecord {
  zone: string;
  /** Fully qualified, without the trailing dot. */
  owner: string;
  address: string;
}

/**
 * Sends `records` in UPDATE messages of at most `perMessage` records, a new message whenever the
 * zone changes (so one message per zone when each zone gets one record), one nsupdate process,
 * messages one after another. Measures the wall time and BIND's counters; throws when nsupdate fails.
 */
export async function rawNsupdate(
  bind: BindServer,
  records: readonly RawRecord[],
  opts: { perMessage: number; ttl: number },
): Promise<Measure> {
  const key = bind.keys[0]!;
  const lines = [`server 127.0.0.1 ${bind.port}`];
  let zone: string | undefined;
  let inMessage = 0;
  for (const r of records) {
    if (inMessage > 0 && (r.zone !== zone || inMessage === opts.perMessage)) {
      lines.push('send');
      inMessage = 0;
    }
    if (r.zone !== zone) {
      lines.push(`zone ${r.zone}`);
      zone = r.zone;
    }
    lines.push(`update add ${r.owner}. ${opts.ttl} IN A ${r.address}`);
    inMessage++;
  }
  if (inMessage > 0) lines.push('send');
  const nsupdate = requireBinary('nsupdate', 'bind9-dnsutils');
  const { measure, value } = await measured(bind, async () => ({
    value: await runCommand(nsupdate, ['-v', '-y', `${key.algorithm}:${key.name}:${key.secret}`], {
      input: `${lines.join('\n')}\n`,
      timeoutMs: 1_800_000,
    }),
  }));
  if (value.code !== 0) throw new Error(`nsupdate failed (exit ${value.code}): ${value.stderr.slice(-4000)}`);
  return { ...measure, records: records.length };
}
