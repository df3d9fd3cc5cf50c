import fs from 'node:fs/promises';
import path from 'node:path';

import { dig } from './dig.ts';
import { answersSoa, queryUdp } from './dnsquery.ts';
import { freePort } from './ports.ts';
import { requireBinary, startProcess } from './process.ts';
import type { StartServerOptions, TestDnsServer } from './server-common.ts';
import {
  ADDRESS_IN_USE,
  commonServerFields,
  makeServerDir,
  withPortRetry,
  zoneFileText,
} from './server-common.ts';
import type { TsigKey } from './tsig.ts';
import { createTsigKey, writeBindKeyFile } from './tsig.ts';

/** Options for {@link startBind}. */
export interface StartBindOptions extends StartServerOptions {
  /** Serve the statistics channel (needed by `updateCount()`). Default true. */
  statsChannel?: boolean;
  /** Who may transfer the zones: loopback (the default) or nobody. */
  allowTransfer?: 'loopback' | 'none';
  /** Names (absolute, no trailing dot) that no key may change: an update-policy denies them. */
  lockedNames?: string[];
  /**
   * Primary zones that BIND signs itself (`dnssec-policy default; inline-signing yes;`, keys in
   * `<dir>/keys`). The start waits until each one serves its signed DNSKEY RRset.
   */
  signedZones?: string[];
}

/** Counters of UPDATE messages from BIND's statistics channel. */
export interface BindUpdateStats {
  /** `opcodes.UPDATE`: every UPDATE message received, whatever became of it. */
  received: number;
  /** `nsstats.UpdateDone`: updates applied. */
  done: number;
  /** `nsstats.UpdateRej`: updates refused by allow-update / update-policy. */
  rejected: number;
  /** `nsstats.UpdateFail`: updates that failed (e.g. a prerequisite was not met). */
  failed: number;
  /** `nsstats.ReqBadSIG`: requests whose TSIG did not verify (any opcode). */
  badSig: number;
}

/** A running BIND 9 `named`. */
export interface BindServer extends TestDnsServer {
  /** Port of the JSON statistics channel; undefined when `statsChannel: false`. */
  readonly statsPort: number | undefined;
  /**
   * UPDATE messages received since start: `opcodes.UPDATE` of `GET /json/v1/server` (BIND 9.18,
   * json-stats-version 1.7). Counts refused and badly signed updates too.
   */
  updateCount(): Promise<number>;
  /** The finer UPDATE counters of the statistics channel. */
  updateStats(): Promise<BindUpdateStats>;
  /** Queries received since start, by type (`qtypes`: "A", "SOA", "AXFR", …). */
  queryStats(): Promise<Record<string, number>>;
  /**
   * The key-signing DNSKEY of a zone in `signedZones`, as BIND's key file holds it:
   * `<zone>. 3600 IN DNSKEY 257 3 13 <key>`. The trust anchor for validators and `delv`.
   */
  trustAnchor(zone: string): Promise<string>;
}

interface BindServerJson {
  opcodes?: Record<string, number>;
  nsstats?: Record<string, number>;
  qtypes?: Record<string, number>;
}

function namedConf(
  dir: string,
  port: number,
  statsPort: number | undefined,
  options: StartBindOptions,
  keys: TsigKey[],
): string {
  const allowUpdate =
    options.allowUpdate === 'none' || keys.length === 0
      ? 'none;'
      : keys.map((k) => `key "${k.name}";`).join(' ');
  const notify = options.alsoNotify?.length
    ? `notify explicit; notify-delay 0; also-notify { ${options.alsoNotify
        .map((t) => `${t.host} port ${t.port};`)
        .join(' ')} };`
    : 'notify no;';
  const lines = [
    `include "${path.join(dir, 'keys.conf')}";`,
    'options {',
    `  directory "${dir}";`,
    `  pid-file "${path.join(dir, 'named.pid')}";`,
    // Each instance needs its own session key file, or instances delete each other's key.
    `  session-keyfile "${path.join(dir, 'session.key')}";`,
    `  listen-on port ${port} { 127.0.0.1; };`,
    '  listen-on-v6 { none; };',
    // Without this, BIND 9.18 binds with SO_REUSEPORT and two instances given the same port
    // would silently share it instead of the second one failing.
    '  reuseport no;',
    '  recursion no;',
    '  dnssec-validation no;',
    `  allow-transfer { ${options.allowTransfer === 'none' ? 'none' : '127.0.0.1'}; };`,
    `  ${notify}`,
    '};',
    'controls { };',
  ];
  if (statsPort !== undefined) {
    lines.push(`statistics-channels { inet 127.0.0.1 port ${statsPort} allow { 127.0.0.1; }; };`);
  }
  for (const zone of options.zones) {
    const signing = options.signedZones?.includes(zone.name)
      ? ` dnssec-policy default; inline-signing yes; key-directory "${path.join(dir, 'keys')}";`
      : '';
    lines.push(
      `zone "${zone.name}" { type primary; file "${path.join(dir, `${zone.name}.zone`)}"; ${updateRule(options, keys, allowUpdate)}${signing} };`,
    );
  }
  if (options.secondaryOf) {
    const { host, port: primaryPort, zones } = options.secondaryOf;
    for (const zone of zones) {
      lines.push(
        `zone "${zone}" { type secondary; primaries { ${host} port ${primaryPort}; }; ` +
          `file "${path.join(dir, `${zone}.secondary`)}"; allow-notify { 127.0.0.1; }; notify no; };`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `allow-update`, or with `lockedNames` an `update-policy` that denies those names first. */
function updateRule(options: StartBindOptions, keys: TsigKey[], allowUpdate: string): string {
  if (!options.lockedNames?.length || keys.length === 0) return `allow-update { ${allowUpdate} };`;
  const rules = keys.flatMap((k) => [
    ...options.lockedNames!.map((n) => `deny "${k.name}" name ${n}. ANY;`),
    `grant "${k.name}" zonesub ANY;`,
  ]);
  return `update-policy { ${rules.join(' ')} };`;
}

async function fetchStats(statsPort: number): Promise<BindServerJson> {
  const res = await fetch(`http://127.0.0.1:${statsPort}/json/v1/server`);
  if (!res.ok) throw new Error(`BIND statistics channel answered HTTP ${res.status}`);
  return (await res.json()) as BindServerJson;
}

/**
 * Starts BIND 9 (`named -g`) on a free loopback port in its own temp dir, primary for `zones`
 * with the recipe's zone file, and resolves once every zone answers SOA. Stop it with `stop()`.
 * Thousands of zones work as they are (measured here: 10,000 ready in 3–8 s with 160 MB,
 * 100,000 in 31–39 s with 1.1 GB); pass a `timeoutMs` that fits.
 */
export async function startBind(options: StartBindOptions): Promise<BindServer> {
  const named = requireBinary('named', 'bind9');
  requireBinary('nsupdate', 'bind9-dnsutils');
  requireBinary('dig', 'bind9-dnsutils');
  const keys = options.keys ?? [createTsigKey('ctl-key')];
  const fixedPort = options.port;

  return withPortRetry(async () => {
    const dir = await makeServerDir('bind');
    const port = fixedPort ?? (await freePort());
    const statsPort = options.statsChannel === false ? undefined : await freePort();
    await writeBindKeyFile(path.join(dir, 'keys.conf'), keys);
    for (const zone of options.zones) {
      await fs.writeFile(path.join(dir, `${zone.name}.zone`), zoneFileText(zone));
    }
    if (options.signedZones?.length) await fs.mkdir(path.join(dir, 'keys'));
    const confPath = path.join(dir, 'named.conf');
    await fs.writeFile(confPath, namedConf(dir, port, statsPort, options, keys));

    const endpoint = { host: '127.0.0.1', port };
    const waitZones = [...options.zones.map((z) => z.name), ...(options.secondaryOf?.zones ?? [])];
    const args = ['-g', '-c', confPath];
    if (process.getuid?.() === 0) args.push('-u', 'root');
    let proc;
    try {
      proc = await startProcess(named, args, {
        cwd: dir,
        name: `named (port ${port})`,
        timeoutMs: options.timeoutMs ?? 15_000,
        failOn: ADDRESS_IN_USE,
        ready: async (output) => {
          // Only once named says it runs has it logged every failed bind: a second instance on a
          // taken port still shares the UDP socket (SO_REUSEADDR), and only its TCP bind fails,
          // so an answer on the port may come from the other server.
          if (!/ running$/m.test(output)) return false;
          for (const zone of waitZones) if (!(await answersSoa(endpoint, zone))) return false;
          // Inline signing runs after the load: ready once the signed DNSKEY RRset is served.
          for (const zone of options.signedZones ?? []) {
            const keys = await dig(endpoint, zone, 'DNSKEY', { extraArgs: ['+dnssec'] });
            if (!keys.records.some((r) => r.type === 'RRSIG')) return false;
          }
          // With no zones, any reply (REFUSED) proves the listener is up; a timeout throws.
          if (waitZones.length === 0) await queryUdp(endpoint, '.', 'SOA', 500);
          if (statsPort !== undefined) await fetchStats(statsPort);
          return true;
        },
      });
    } catch (err) {
      await fs.rm(dir, { recursive: true, force: true });
      throw err;
    }

    const stats = async (): Promise<BindServerJson> => {
      if (statsPort === undefined) throw new Error('startBind: updateCount() needs statsChannel: true');
      return fetchStats(statsPort);
    };
    const server: BindServer = {
      ...commonServerFields(proc, { port, dir, keys, keepDir: options.keepDir }),
      statsPort,
      updateCount: async () => (await stats()).opcodes?.UPDATE ?? 0,
      updateStats: async () => {
        const json = await stats();
        // nsstats omits counters that are still zero.
        const ns = json.nsstats ?? {};
        return {
          received: json.opcodes?.UPDATE ?? 0,
          done: ns.UpdateDone ?? 0,
          rejected: ns.UpdateRej ?? 0,
          failed: ns.UpdateFail ?? 0,
          badSig: ns.ReqBadSIG ?? 0,
        };
      },
      queryStats: async () => ({ ...(await stats()).qtypes }),
      trustAnchor: async (zone) => {
        const files = await fs.readdir(path.join(dir, 'keys'));
        for (const file of files.filter((f) => f.startsWith(`K${zone}.+`) && f.endsWith('.key'))) {
          const text = await fs.readFile(path.join(dir, 'keys', file), 'utf8');
          const line = text.split('\n').find((l) => /\sDNSKEY\s+257\s/.test(l) && !l.startsWith(';'));
          if (line) return line.trim().replace(/\s+/g, ' ');
        }
        throw new Error(`no key-signing key for ${zone} in ${path.join(dir, 'keys')}: ${files.join(', ')}`);
      },
    };
    return server;
  }, fixedPort);
}
