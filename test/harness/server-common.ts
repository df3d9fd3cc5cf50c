import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { DigOptions, DigResult } from './dig.ts';
import { dig } from './dig.ts';
import type { CommandResult, ManagedProcess } from './process.ts';
import { requireBinary, runCommand } from './process.ts';
import type { TsigKey } from './tsig.ts';
import { tsigKeyArg } from './tsig.ts';

/** A zone a test server is primary for. */
export interface TestZone {
  /** The zone name without a trailing dot, e.g. `example.test`. */
  name: string;
  /**
   * Extra zone-file lines appended after the standard SOA, NS, MX and `ns1 A 127.0.0.1`; names
   * are relative to the zone unless they end in a dot, e.g. `'www 60 IN A 192.0.2.1'`.
   */
  records?: string[];
  /** SOA serial. Default 1. */
  serial?: number;
  /** The complete zone file, instead of the standard one (e.g. a zone signed offline). */
  text?: string;
}

/** Options shared by `startBind` and `startKnot`. */
export interface StartServerOptions {
  /** Zones this server is primary for. May be empty for a pure secondary. */
  zones: TestZone[];
  /** TSIG keys. Default: one random hmac-sha256 key named `ctl-key`. */
  keys?: TsigKey[];
  /** `key`: primaries accept updates signed with any of `keys` (the default); `none`: no updates. */
  allowUpdate?: 'key' | 'none';
  /**
   * Also act as a secondary for `zones` of the primary at host:port (AXFR/IXFR, NOTIFY accepted
   * from 127.0.0.1). The start waits until every secondary zone is transferred.
   */
  secondaryOf?: { host: string; port: number; zones: string[] };
  /**
   * Send NOTIFY for every primary zone to these servers with no delay. Reserve the secondary's
   * port first with `freePort()` and pass it as its `port`.
   */
  alsoNotify?: Array<{ host: string; port: number }>;
  /** The DNS port. Default: a free one. */
  port?: number;
  /** Keep the temp dir after `stop()` (for debugging). Default false. */
  keepDir?: boolean;
  /** Startup timeout. Default 15 s. */
  timeoutMs?: number;
}

/** Options for `nsupdate()` on a test server. */
export interface NsupdateOptions {
  /** Send over TCP (`nsupdate -v`). Default UDP, falling back to TCP for large messages. */
  tcp?: boolean;
  /** Per-try timeout in seconds (`-t`). Default 5. */
  timeoutSeconds?: number;
}

/** What BIND and Knot test servers have in common. */
export interface TestDnsServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The server's temp dir (config, zone files, journal). Removed by `stop()`. */
  readonly dir: string;
  /** The TSIG keys the server knows; updates signed with any of them are allowed. */
  readonly keys: TsigKey[];
  readonly pid: number;
  /** Stops the server (SIGTERM, SIGKILL after 3 s) and removes its dir. Safe to call twice. */
  stop(): Promise<void>;
  /** The server's last 64 KiB of log output. */
  output(): string;
  /** Asks the server with real `dig +norec`. */
  dig(name: string, type: string, options?: DigOptions): Promise<DigResult>;
  /**
   * Runs real `nsupdate` against the server. `server` is prepended and `send` appended unless
   * the script has them. `key` defaults to the first key; pass `null` to send unsigned.
   */
  nsupdate(script: string, key?: TsigKey | null, options?: NsupdateOptions): Promise<CommandResult>;
  /** UPDATE messages the server has received since it started, rejected ones included. */
  updateCount(): Promise<number>;
}

/** The standard zone file of the recipe (SOA, NS ns1, MX, ns1 A 127.0.0.1, then `records`), or `text`. */
export function zoneFileText(zone: TestZone): string {
  if (zone.text !== undefined) return zone.text;
  const origin = zone.name.replace(/\.$/, '');
  return [
    `$ORIGIN ${origin}.`,
    '$TTL 300',
    `@   IN SOA ns1.${origin}. hostmaster.${origin}. ${zone.serial ?? 1} 3600 600 86400 60`,
    `@   IN NS  ns1.${origin}.`,
    `@   IN MX  10 mail.${origin}.`,
    'ns1 IN A   127.0.0.1',
    ...(zone.records ?? []),
    '',
  ].join('\n');
}

/** A fresh temp dir for one server instance. */
export function makeServerDir(prefix: string): Promise<string> {
  // Short paths: Knot's control socket lives here and UNIX socket paths are limited to 107 bytes.
  return fs.mkdtemp(path.join(os.tmpdir(), `apexalias-${prefix}-`));
}

/** Runs nsupdate against host:port as described on {@link TestDnsServer.nsupdate}. */
export async function runNsupdate(
  host: string,
  port: number,
  script: string,
  key: TsigKey | null,
  options: NsupdateOptions = {},
): Promise<CommandResult> {
  const bin = requireBinary('nsupdate', 'bind9-dnsutils');
  const lines = script
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (!lines.some((l) => /^server\s/.test(l))) lines.unshift(`server ${host} ${port}`);
  if (!lines.some((l) => /^send$/.test(l))) lines.push('send');
  const args = ['-t', String(options.timeoutSeconds ?? 5)];
  if (options.tcp) args.push('-v');
  if (key) args.push('-y', tsigKeyArg(key));
  return runCommand(bin, args, { input: `${lines.join('\n')}\n`, timeoutMs: 60_000 });
}

/**
 * Matches a server's log when it could not bind its port (Knot: "address already in use"; BIND:
 * "unable to listen on any configured interfaces"), so a retry with another port helps.
 */
export const ADDRESS_IN_USE = /address (already )?in use|unable to listen on any configured interfaces/i;

/**
 * Calls `attempt` up to three times (once when the port is fixed), retrying only when it failed
 * because the port was taken between `freePort()` and the server's bind (a race with another
 * process).
 */
export async function withPortRetry<T>(attempt: () => Promise<T>, fixedPort?: number): Promise<T> {
  let lastError: unknown;
  for (let i = 0; i < (fixedPort === undefined ? 3 : 1); i++) {
    try {
      return await attempt();
    } catch (err) {
      lastError = err;
      if (!(err instanceof Error) || !ADDRESS_IN_USE.test(err.message)) throw err;
    }
  }
  throw lastError;
}

/**
 * The parts of a `TestDnsServer` that BIND, Knot and PowerDNS share: where it listens, its keys,
 * `stop()` (which removes its dir unless kept), real `dig` and real `nsupdate` against it.
 */
export function commonServerFields(
  proc: ManagedProcess,
  opts: { port: number; dir: string; keys: TsigKey[]; keepDir?: boolean },
): Omit<TestDnsServer, 'updateCount'> {
  const { port, dir, keys } = opts;
  return {
    host: '127.0.0.1',
    port,
    dir,
    keys,
    pid: proc.pid,
    output: proc.output,
    stop: async () => {
      await proc.stop();
      if (!opts.keepDir) await fs.rm(dir, { recursive: true, force: true });
    },
    dig: (name, type, digOptions) => dig({ host: '127.0.0.1', port }, name, type, digOptions),
    nsupdate: (script, key, nsOptions) =>
      runNsupdate('127.0.0.1', port, script, key === undefined ? (keys[0] ?? null) : key, nsOptions),
  };
}
