import { requireBinary, runCommand } from './process.ts';
import type { TsigKey } from './tsig.ts';
import { tsigKeyArg } from './tsig.ts';

/** One resource record as dig prints it. `data` is the presentation-format RDATA. */
export interface DigRecord {
  name: string;
  ttl: number;
  type: string;
  data: string;
}

/** What real `dig` saw. */
export interface DigResult {
  /**
   * The response code (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, NOTAUTH, …), or `NO_REPLY` when dig
   * accepted no reply at all (timeout, dropped query, malformed packet, wrong ID or question).
   */
  rcode: string;
  /** Header flags, lower case: `qr`, `aa`, `tc`, `rd`, `ra`. */
  flags: string[];
  /** RDATA of the answer records whose type is the type asked for, in answer order. */
  answers: string[];
  /** Every record of the answer section (CNAMEs included). */
  records: DigRecord[];
  /** The authority section (the SOA of a negative answer). */
  authority: DigRecord[];
  /** The lowest TTL among `answers`; undefined when there are none. */
  ttl?: number;
  /**
   * dig could not parse the reply ("Message parser reports malformed message packet" or "Got bad
   * packet"). dig still prints the header it could read, so `rcode` may say NOERROR.
   */
  malformed: boolean;
  /** dig's exit code (0 on any reply, 9 when no reply came). */
  exitCode: number;
  /** dig's complete stdout and stderr, for assertions and error messages. */
  output: string;
}

/** Options for {@link dig}. */
export interface DigOptions {
  /** Query over TCP (`+tcp`). */
  tcp?: boolean;
  /** Do not retry over TCP when the UDP reply is truncated (`+ignore`). */
  ignoreTruncation?: boolean;
  /** Seconds to wait for a reply (`+time`). Default 2. */
  timeoutSeconds?: number;
  /** Attempts (`+tries`). Default 1, so a dropped query costs exactly one timeout. */
  tries?: number;
  /** Sign the query with this TSIG key (`-y`). */
  key?: TsigKey;
  /** More dig arguments, placed before the name. */
  extraArgs?: string[];
}

function parseRecord(line: string): DigRecord | undefined {
  const parts = line.trim().split(/\s+/);
  if (parts.length < 5) return undefined;
  const [name, ttl, , type, ...rest] = parts;
  if (name === undefined || ttl === undefined || type === undefined) return undefined;
  return { name, ttl: Number(ttl), type, data: rest.join(' ') };
}

/** Parses dig's default output. Exported for tests of the parser itself. */
export function parseDigOutput(output: string, askedType: string, exitCode = 0): DigResult {
  const result: DigResult = {
    rcode: 'NO_REPLY',
    flags: [],
    answers: [],
    records: [],
    authority: [],
    malformed: /malformed message packet|Got bad packet/i.test(output),
    exitCode,
    output,
  };
  let section: 'answer' | 'authority' | 'other' = 'other';
  for (const line of output.split('\n')) {
    const status = /->>HEADER<<- opcode: \S+, status: ([A-Z0-9]+)/.exec(line);
    if (status?.[1] !== undefined) {
      // With +tcp retries after a truncated UDP reply, dig prints two messages; the last wins.
      result.rcode = status[1];
      result.records = [];
      result.authority = [];
      continue;
    }
    const flags = /^;; flags:([^;]*);/.exec(line);
    if (flags?.[1] !== undefined) {
      result.flags = flags[1].trim().split(/\s+/).filter(Boolean);
      continue;
    }
    if (line.startsWith(';; ANSWER SECTION:')) section = 'answer';
    else if (line.startsWith(';; AUTHORITY SECTION:')) section = 'authority';
    else if (line.startsWith(';;') || line.trim() === '') section = 'other';
    else if (!line.startsWith(';') && section !== 'other') {
      const record = parseRecord(line);
      if (record) (section === 'answer' ? result.records : result.authority).push(record);
    }
  }
  const wanted = askedType.toUpperCase();
  const matching = result.records.filter((r) => r.type === wanted);
  result.answers = matching.map((r) => r.data);
  if (matching.length > 0) result.ttl = Math.min(...matching.map((r) => r.ttl));
  return result;
}

/**
 * Asks `server` for `name`/`type` with the real `dig` binary (`+norec`), an independent check of
 * what a server publishes. Never rejects for a DNS failure: look at `rcode`.
 */
export async function dig(
  server: { host: string; port: number },
  name: string,
  type: string,
  options: DigOptions = {},
): Promise<DigResult> {
  const bin = requireBinary('dig', 'bind9-dnsutils');
  const args = [
    '+norec',
    `+time=${options.timeoutSeconds ?? 2}`,
    `+tries=${options.tries ?? 1}`,
    `@${server.host}`,
    '-p',
    String(server.port),
  ];
  if (options.tcp) args.push('+tcp');
  if (options.ignoreTruncation) args.push('+ignore');
  if (options.key) args.push('-y', tsigKeyArg(options.key));
  args.push(...(options.extraArgs ?? []), name, type);
  const res = await runCommand(bin, args, { timeoutMs: 60_000 });
  return parseDigOutput(`${res.stdout}${res.stderr}`, type, res.code);
}
