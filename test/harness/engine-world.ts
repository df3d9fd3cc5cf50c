/**
 * A world for fast engine and reconciler tests, without servers: a real `Resolver` over the
 * target data of {@link Targets} answered in-process, a real zone-file backend in a temp dir,
 * a manual clock, and a logger whose lines the test can read.
 */
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { ZoneFileBackend } from '../../src/backends/zonefile/backend.ts';
import { parseZoneFile } from '../../src/backends/zonefile/parse.ts';
import { serializeZone } from '../../src/backends/zonefile/serialize.ts';
import type { DnsBackend } from '../../src/backends/types.ts';
import type { AliasInput, AliasSpecView } from '../../src/engine/types.ts';
import type { SyncDeps } from '../../src/engine/sync.ts';
import { createLogger } from '../../src/observe/logger.ts';
import type { Logger } from '../../src/observe/logger.ts';
import { normalizeAddresses } from '../../src/plan/addresses.ts';
import { Resolver } from '../../src/resolve/resolver.ts';
import { zoneFileText } from './server-common.ts';
import { Targets } from './targets.ts';

export const ZONE = 'example.test';
export const OWNER_ID = 'unit';

/** A defaulted spec, as validation leaves it. */
export function spec(over: Partial<AliasSpecView> = {}): AliasSpecView {
  return {
    zone: ZONE,
    name: '@',
    target: 'lb.demo.test',
    addressFamilies: ['IPv4', 'IPv6'],
    ttl: { max: 3600 },
    onTargetMissing: 'Keep',
    fallbackAddresses: [],
    driftPolicy: 'Correct',
    adopt: false,
    ...over,
  };
}

/** An alias of namespace `ns` (default `default`). */
export function alias(
  name: string,
  over: Partial<AliasSpecView> = {},
  extra: Partial<AliasInput> = {},
): AliasInput {
  return { namespace: 'default', name, spec: spec(over), ...extra };
}

/** Log lines as JSON objects. */
export interface LogSink {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  /** The messages logged, in order. */
  messages(): string[];
}

export function logSink(): LogSink {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'debug', format: 'json', stream });
  return { logger, lines, messages: () => lines.map((l) => String(l.message)) };
}

export interface EngineWorld {
  dir: string;
  targets: Targets;
  resolver: Resolver;
  backend: ZoneFileBackend;
  log: LogSink;
  /** The manual clock, in epoch ms. */
  clock: { now: number };
  /** Engine dependencies over this world; override what a test needs. */
  deps(over?: Partial<SyncDeps>): SyncDeps;
  /** What the zone file holds at `name` for `type`, sorted. */
  served(name: string, type?: 'A' | 'AAAA' | 'TXT' | 'NS' | 'CNAME'): Promise<string[]>;
  /** An edit by hand: zone-file lines appended to the file. */
  handAdd(lines: string[]): Promise<void>;
  /** Removes every record of `name` and `type` by hand. */
  handRemove(name: string, type: string): Promise<void>;
  close(): Promise<void>;
}

/** A fresh world: the zone file holds the standard SOA, NS, MX and `ns1 A 127.0.0.1`. */
export async function engineWorld(opts: { zone?: string; records?: string[] } = {}): Promise<EngineWorld> {
  const zone = opts.zone ?? ZONE;
  const dir = await mkdtemp(join(tmpdir(), 'apexalias-engine-'));
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  const now = (): number => clock.now;
  const targets = new Targets();
  const resolver = new Resolver({
    servers: [{ host: '127.0.0.1', port: 53 }],
    transport: targets.transport(),
    timeoutMs: 100,
    attempts: 1,
    cacheMaxEntries: 10_000,
    now,
  });
  const backend = new ZoneFileBackend({
    name: 'local',
    directory: dir,
    zones: [zone],
    now: () => new Date(now()),
  });
  const file = backend.zoneFilePath(zone);
  await writeFile(file, zoneFileText({ name: zone, records: opts.records }));
  const log = logSink();
  const read = async (): Promise<ReturnType<typeof parseZoneFile>> =>
    parseZoneFile(await readFile(file, 'utf8'), zone);
  return {
    dir,
    targets,
    resolver,
    backend,
    log,
    clock,
    deps: (over = {}) => ({
      resolver,
      backendFor: (): DnsBackend => backend,
      ownerId: OWNER_ID,
      refresh: { minSeconds: 1, maxSeconds: 86_400, jitter: 0 },
      logger: log.logger,
      now,
      random: () => 0.5,
      dryRun: false,
      ...over,
    }),
    async served(name, type = 'A') {
      const data = (await read()).filter((r) => r.name === name && r.type === type).map((r) => r.rdata);
      return type === 'A' || type === 'AAAA' ? normalizeAddresses(data) : data.sort();
    },
    handAdd: (lines) => appendFile(file, lines.map((l) => `${l}\n`).join('')),
    async handRemove(name, type) {
      const keep = (await read()).filter((r) => !(r.name === name && r.type === type));
      await writeFile(file, serializeZone(zone, keep, { defaultTtl: 300 }));
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
