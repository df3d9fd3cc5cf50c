import fs from 'node:fs/promises';
import path from 'node:path';

import { answersSoa, queryUdp } from './dnsquery.ts';
import { freePort } from './ports.ts';
import { requireBinary, runCommand, startProcess } from './process.ts';
import type { StartServerOptions, TestDnsServer } from './server-common.ts';
import {
  ADDRESS_IN_USE,
  commonServerFields,
  makeServerDir,
  withPortRetry,
  zoneFileText,
} from './server-common.ts';
import { createTsigKey, generateTsigSecret } from './tsig.ts';

/** Options for {@link startPowerDns}. `secondaryOf` and `alsoNotify` are not supported (yet). */
export type StartPowerDnsOptions = StartServerOptions;

/** The UPDATE counters of PowerDNS's statistics (`GET /api/v1/servers/localhost/statistics`). */
export interface PowerDnsUpdateStats {
  /** `dnsupdate-queries`: UPDATE packets received, whatever became of them. */
  queries: number;
  /** `dnsupdate-answers`: UPDATE packets answered with something other than REFUSED. */
  answers: number;
  /** `dnsupdate-refused`: UPDATE packets refused (no dnsupdate, address, TSIG policy). */
  refused: number;
  /** `dnsupdate-changes`: records changed by updates, in total. */
  changes: number;
}

/** A running PowerDNS Authoritative `pdns_server` with the gsqlite3 backend and the HTTP API. */
export interface PowerDnsServer extends TestDnsServer {
  /** Port of the webserver that serves the HTTP API on 127.0.0.1. */
  readonly apiPort: number;
  /** The `X-API-Key` of the HTTP API. */
  readonly apiKey: string;
  /**
   * UPDATE messages received since start: the `dnsupdate-queries` statistic (PowerDNS 4.7). It
   * counts every UPDATE that reaches the update handler: applied ones, refused ones (unsigned,
   * address, `dnsupdate=no`) and failed ones (prerequisites, NOTAUTH for a foreign zone), like
   * BIND's `opcodes.UPDATE` and Knot's `server-operation[update]`.
   *
   * Unlike those, it does NOT count an UPDATE whose TSIG does not verify (wrong secret, unknown
   * key): PowerDNS answers such a packet REFUSED before it is dispatched by opcode, and no
   * statistic counts it except the generic `udp-queries`/`tcp-queries` (checked with 4.7.3).
   * `dnsupdate-answers` (non-REFUSED replies), `dnsupdate-refused` and `dnsupdate-changes`
   * (records changed) are available through {@link PowerDnsServer.updateStats}.
   */
  updateCount(): Promise<number>;
  /** The four `dnsupdate-*` statistics. */
  updateStats(): Promise<PowerDnsUpdateStats>;
  /** Calls the HTTP API (`path` below `/api/v1/servers/localhost`); rejects on a non-2xx answer. */
  api(method: string, path: string, body?: unknown): Promise<unknown>;
}

function pdnsConf(dir: string, port: number, apiPort: number, apiKey: string, dnsupdate: boolean): string {
  return [
    'launch=gsqlite3',
    `gsqlite3-database=${path.join(dir, 'pdns.sqlite3')}`,
    'local-address=127.0.0.1',
    `local-port=${port}`,
    `socket-dir=${dir}`,
    'daemon=no',
    'guardian=no',
    'disable-syslog=yes',
    'loglevel=6',
    'log-dns-details=yes',
    'api=yes',
    `api-key=${apiKey}`,
    'webserver=yes',
    'webserver-address=127.0.0.1',
    `webserver-port=${apiPort}`,
    'webserver-allow-from=127.0.0.1',
    // Without dnsupdate=yes PowerDNS answers every UPDATE with REFUSED.
    `dnsupdate=${dnsupdate ? 'yes' : 'no'}`,
    // Checked in addition to TSIG-ALLOW-DNSUPDATE (see below); the harness only talks on loopback.
    'allow-dnsupdate-from=127.0.0.1/32',
    '',
  ].join('\n');
}

/**
 * Starts PowerDNS Authoritative (`pdns_server --config-dir=<dir>`, foreground) on free loopback
 * ports (DNS, and the webserver with the HTTP API) with a fresh gsqlite3 database. Through the
 * API it creates every zone from the same zone text as BIND and Knot get ({@link zoneFileText}),
 * imports every TSIG key, and sets each zone's `TSIG-ALLOW-DNSUPDATE` metadata to all key names.
 * Resolves once every zone answers SOA. Stop it with `stop()`.
 *
 * The metadata matters: PowerDNS accepts *unsigned* updates (from `allow-dnsupdate-from`) for a
 * zone without `TSIG-ALLOW-DNSUPDATE`. With `allowUpdate: 'none'` (or no keys) the server runs
 * with `dnsupdate=no` instead, so that every update is REFUSED.
 */
export async function startPowerDns(options: StartPowerDnsOptions): Promise<PowerDnsServer> {
  const pdnsServer = requireBinary('pdns_server', 'pdns-server');
  const sqlite3 = requireBinary('sqlite3', 'sqlite3');
  requireBinary('nsupdate', 'bind9-dnsutils');
  requireBinary('dig', 'bind9-dnsutils');
  const schema = '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql';
  try {
    await fs.access(schema);
  } catch {
    throw new Error(
      `startPowerDns: ${schema} is missing. Install the Debian package "pdns-backend-sqlite3": ` +
        'apt-get install -y --no-install-recommends pdns-backend-sqlite3. Tests never skip a missing component.',
    );
  }
  if (options.secondaryOf || options.alsoNotify?.length) {
    throw new Error('startPowerDns: secondaryOf and alsoNotify are not implemented by the PowerDNS harness');
  }
  const keys = options.keys ?? [createTsigKey('ctl-key')];
  const dnsupdate = options.allowUpdate !== 'none' && keys.length > 0;
  const fixedPort = options.port;
  const apiKey = generateTsigSecret(18).replace(/[^A-Za-z0-9]/g, 'x');

  return withPortRetry(async () => {
    const dir = await makeServerDir('pdns');
    const port = fixedPort ?? (await freePort());
    const apiPort = await freePort();
    const dbPath = path.join(dir, 'pdns.sqlite3');
    const created = await runCommand(sqlite3, [dbPath], { input: await fs.readFile(schema, 'utf8') });
    if (created.code !== 0) {
      await fs.rm(dir, { recursive: true, force: true });
      throw new Error(`startPowerDns: sqlite3 could not create ${dbPath}: ${created.stderr}`);
    }
    await fs.writeFile(path.join(dir, 'pdns.conf'), pdnsConf(dir, port, apiPort, apiKey, dnsupdate));

    const apiBase = `http://127.0.0.1:${apiPort}/api/v1/servers/localhost`;
    const api = async (method: string, apiPath: string, body?: unknown): Promise<unknown> => {
      const res = await fetch(`${apiBase}${apiPath}`, {
        method,
        headers: {
          'X-API-Key': apiKey,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`PowerDNS API ${method} ${apiPath} answered HTTP ${res.status}: ${text}`);
      return text === '' ? undefined : (JSON.parse(text) as unknown);
    };

    let proc;
    try {
      proc = await startProcess(pdnsServer, [`--config-dir=${dir}`], {
        cwd: dir,
        name: `pdns_server (port ${port})`,
        timeoutMs: options.timeoutMs ?? 15_000,
        failOn: ADDRESS_IN_USE,
        ready: async () => {
          await api('GET', '');
          // With no zones yet, any DNS reply (REFUSED) proves the listener is up.
          await queryUdp({ host: '127.0.0.1', port }, '.', 'SOA', 500);
          return true;
        },
      });
    } catch (err) {
      await fs.rm(dir, { recursive: true, force: true });
      throw err;
    }

    try {
      for (const key of keys) {
        await api('POST', '/tsigkeys', { name: key.name, algorithm: key.algorithm, key: key.secret });
      }
      for (const zone of options.zones) {
        const zoneId = `${zone.name.replace(/\.$/, '')}.`;
        // `zone` takes a BIND-style zone file, so PowerDNS serves exactly what BIND and Knot do.
        // `soa_edit_api: ''`: the API's default (DEFAULT) would raise the serial to YYYYMMDD01 on
        // creation instead of keeping `zone.serial`.
        await api('POST', '/zones', {
          name: zoneId,
          kind: 'Native',
          soa_edit_api: '',
          zone: zoneFileText(zone),
        });
        if (dnsupdate) {
          await api('PUT', `/zones/${zoneId}/metadata/TSIG-ALLOW-DNSUPDATE`, {
            metadata: keys.map((k) => k.name),
          });
        }
      }
      const endpoint = { host: '127.0.0.1', port };
      const deadline = Date.now() + (options.timeoutMs ?? 15_000);
      for (const zone of options.zones) {
        while (!(await answersSoa(endpoint, zone.name))) {
          if (Date.now() > deadline) throw new Error(`zone ${zone.name} does not answer SOA`);
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      }
    } catch (err) {
      await proc.stop();
      await fs.rm(dir, { recursive: true, force: true });
      throw new Error(
        `startPowerDns: setting up zones and keys failed: ${err instanceof Error ? err.message : String(err)}\n` +
          `Last output:\n${proc.output()}`,
        { cause: err },
      );
    }

    const statistics = async (): Promise<Map<string, number>> => {
      const list = (await api('GET', '/statistics')) as Array<{ name: string; value: unknown }>;
      const map = new Map<string, number>();
      for (const item of list) if (typeof item.value === 'string') map.set(item.name, Number(item.value));
      return map;
    };
    const server: PowerDnsServer = {
      ...commonServerFields(proc, { port, dir, keys, keepDir: options.keepDir }),
      apiPort,
      apiKey,
      updateCount: async () => (await statistics()).get('dnsupdate-queries') ?? 0,
      updateStats: async () => {
        const s = await statistics();
        return {
          queries: s.get('dnsupdate-queries') ?? 0,
          answers: s.get('dnsupdate-answers') ?? 0,
          refused: s.get('dnsupdate-refused') ?? 0,
          changes: s.get('dnsupdate-changes') ?? 0,
        };
      },
      api,
    };
    return server;
  }, fixedPort);
}
