import fs from 'node:fs/promises';
import path from 'node:path';

import { dig } from './dig.ts';
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
export interface StartPowerDnsOptions extends StartServerOptions {
  /**
   * The zones' `SOA-EDIT-API`. Default `''` (none): the serial stays as given. `INCREASE` raises
   * it by one on every PATCH that commits, so {@link PowerDnsServer.serial} counts applied PATCHes.
   */
  soaEditApi?: '' | 'INCREASE' | 'DEFAULT' | 'EPOCH';
  /**
   * `webserver-allow-from`. Default `127.0.0.1`, the harness's only client. A list without it
   * shuts the harness out of the API too, so `zones` must then be empty.
   */
  webserverAllowFrom?: string;
}

/** One request as PowerDNS's webserver logged it (`webserver-loglevel=normal`). */
export interface ApiRequestLine {
  method: string;
  /** The URL path, without the query string (PowerDNS does not log it). */
  path: string;
  status: number;
  /** Size of the whole HTTP response, headers included. */
  bytes: number;
}

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
  /** The webserver's base URL, `http://127.0.0.1:<apiPort>`. */
  readonly apiUrl: string;
  /** A file (mode 0600) in the server's dir that holds the API key, as `apiKeyFile` wants it. */
  readonly apiKeyFile: string;
  /**
   * Every HTTP request the webserver has logged since start, the harness's own included. PowerDNS
   * logs a request just after it has sent the answer, so a count taken at once may still miss the
   * last ones: use {@link PowerDnsServer.waitForApiRequests}.
   */
  apiRequests(): ApiRequestLine[];
  /** Resolves once at least `count` requests are logged (rejects after `timeoutMs`, default 5 s). */
  waitForApiRequests(count: number, timeoutMs?: number): Promise<ApiRequestLine[]>;
  /**
   * Resolves with every request logged once no new line has come for `quietMs` (default 200):
   * a baseline that the log lines of requests answered earlier can no longer move.
   */
  settledApiRequests(quietMs?: number): Promise<ApiRequestLine[]>;
  /** The zone's SOA serial as served over DNS (real dig). */
  serial(zone: string): Promise<number>;
  /**
   * Adds records behind a backend's back through the API, in zone-file form with absolute names
   * (`name. ttl IN TYPE rdata`), merged into the RRsets already there (like `update add`).
   */
  apiAdd(zone: string, lines: string[]): Promise<void>;
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

/** `[webserver] <uuid> 127.0.0.1:40000 "GET /api/v1/servers/localhost HTTP/1.1" 200 657` */
const REQUEST_LINE = /\[webserver\] \S+ \S+ "([A-Z]+) (\S+) HTTP\/[\d.]+" (\d+) (\d+)/;

type Api = (method: string, path: string, body?: unknown) => Promise<unknown>;

/** Merges zone-file lines into the zone's RRsets through the API (see `apiAdd`). */
async function apiAdd(api: Api, zone: string, lines: string[]): Promise<void> {
  const zoneId = `${zone.replace(/\.$/, '')}.`;
  const groups = new Map<string, { name: string; type: string; ttl: number; contents: string[] }>();
  for (const line of lines) {
    const m = /^(\S+)\s+(\d+)\s+IN\s+([A-Z]+)\s+(.+)$/.exec(line.trim());
    if (!m) throw new Error(`apiAdd: cannot read ${JSON.stringify(line)} (want "name. ttl IN TYPE rdata")`);
    const [, name, ttl, type, content] = m as unknown as [string, string, string, string, string];
    const key = `${name.toLowerCase()} ${type}`;
    const group = groups.get(key) ?? { name: name.toLowerCase(), type, ttl: Number(ttl), contents: [] };
    group.contents.push(content);
    groups.set(key, group);
  }
  const rrsets = [];
  for (const g of groups.values()) {
    const found = (await api(
      'GET',
      `/zones/${zoneId}?rrset_name=${encodeURIComponent(g.name)}&rrset_type=${g.type}`,
    )) as { rrsets: Array<{ name: string; type: string; records: Array<{ content: string }> }> };
    const existing = found.rrsets
      .filter((r) => r.name.toLowerCase() === g.name && r.type === g.type)
      .flatMap((r) => r.records.map((rec) => rec.content));
    const contents = [...new Set([...existing, ...g.contents])];
    rrsets.push({
      name: g.name,
      type: g.type,
      ttl: g.ttl,
      changetype: 'REPLACE',
      records: contents.map((content) => ({ content, disabled: false })),
    });
  }
  await api('PATCH', `/zones/${zoneId}`, { rrsets });
}

function pdnsConf(
  dir: string,
  port: number,
  apiPort: number,
  apiKey: string,
  dnsupdate: boolean,
  allowFrom: string,
): string {
  // webserver-loglevel=normal logs one line per request (method, path, status, size), which
  // apiRequests() counts; never "detailed", which would log the X-API-Key header.
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
    `webserver-allow-from=${allowFrom}`,
    'webserver-loglevel=normal',
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
 * For the HTTP API backend, start it with `allowUpdate: 'none'` (dynamic updates off, as
 * PowerDNS ships) and `soaEditApi: 'INCREASE'`.
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
  const allowFrom = options.webserverAllowFrom ?? '127.0.0.1';
  const allowsHarness = allowFrom
    .split(',')
    .some((a) => ['127.0.0.1', '127.0.0.0/8', '127.0.0.1/32'].includes(a.trim()));
  if (!allowsHarness && options.zones.length > 0) {
    throw new Error('startPowerDns: with a webserverAllowFrom that shuts out 127.0.0.1, zones must be empty');
  }

  return withPortRetry(async () => {
    const dir = await makeServerDir('pdns');
    const port = fixedPort ?? (await freePort());
    const apiPort = await freePort();
    const dbPath = path.join(dir, 'pdns.sqlite3');
    const apiKeyFile = path.join(dir, 'api-key');
    await fs.writeFile(apiKeyFile, `${apiKey}\n`, { mode: 0o600 });
    const created = await runCommand(sqlite3, [dbPath], { input: await fs.readFile(schema, 'utf8') });
    if (created.code !== 0) {
      await fs.rm(dir, { recursive: true, force: true });
      throw new Error(`startPowerDns: sqlite3 could not create ${dbPath}: ${created.stderr}`);
    }
    await fs.writeFile(
      path.join(dir, 'pdns.conf'),
      pdnsConf(dir, port, apiPort, apiKey, dnsupdate, allowFrom),
    );

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

    const requests: ApiRequestLine[] = [];
    let partial = '';
    const onOutput = (chunk: Buffer): void => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const m = REQUEST_LINE.exec(line);
        if (m) requests.push({ method: m[1]!, path: m[2]!, status: Number(m[3]), bytes: Number(m[4]) });
      }
    };

    let proc;
    try {
      proc = await startProcess(pdnsServer, [`--config-dir=${dir}`], {
        cwd: dir,
        name: `pdns_server (port ${port})`,
        onOutput,
        timeoutMs: options.timeoutMs ?? 15_000,
        failOn: ADDRESS_IN_USE,
        ready: async (output) => {
          // The API itself is asked only where the harness may: webserverAllowFrom may shut it out.
          if (!output.includes('Listening for HTTP requests')) return false;
          if (allowsHarness) await api('GET', '');
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
      for (const key of allowsHarness ? keys : []) {
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
          soa_edit_api: options.soaEditApi ?? '',
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
      apiUrl: `http://127.0.0.1:${apiPort}`,
      apiKeyFile,
      apiRequests: () => [...requests],
      waitForApiRequests: async (count, timeoutMs = 5000) => {
        const deadline = Date.now() + timeoutMs;
        while (requests.length < count) {
          if (Date.now() > deadline) {
            throw new Error(`PowerDNS logged ${requests.length} API requests, not the ${count} awaited`);
          }
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        return [...requests];
      },
      settledApiRequests: async (quietMs = 200) => {
        let seen = requests.length;
        for (let quietFor = 0; quietFor < quietMs;) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          quietFor = requests.length === seen ? quietFor + 10 : 0;
          seen = requests.length;
        }
        return [...requests];
      },
      serial: async (zone) => {
        const answer = await dig({ host: '127.0.0.1', port }, zone, 'SOA');
        const serial = Number(answer.answers[0]?.split(/\s+/)[2]);
        if (!Number.isInteger(serial)) throw new Error(`no SOA serial for ${zone}: ${answer.output}`);
        return serial;
      },
      apiAdd: (zone, lines) => apiAdd(api, zone, lines),
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
