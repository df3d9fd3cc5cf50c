import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CurrentRecords, NameChange } from '../../plan/types.ts';
import { tryNormalizeName } from '../../dns/names.ts';
import { BackendError } from '../errors.ts';
import type { ApplyResult, BackendCapabilities, DnsBackend, BackendCallOptions } from '../types.ts';
import { errorCode, nodeFs } from './fs.ts';
import type { ZoneFileFs } from './fs.ts';
import { acquireLock, processIsAlive } from './lock.ts';
import type { LockOptions } from './lock.ts';
import { parseZone, ZoneFileError } from './parse.ts';
import type { ParsedZone, ZoneRecord } from './parse.ts';
import { nextSerial } from './serial.ts';
import { inZone, serializeZone } from './serialize.ts';
import {
  applyChanges,
  currentRecords,
  failedExpectations,
  indexByOwner,
  invalidChange,
  markersOf,
  recordCount,
  rolesOf,
} from './model.ts';

export interface ZoneFileBackendOptions {
  /** The backend's name in the configuration. */
  name: string;
  /** Where the zone files live: one `<zone>.zone` per zone. Created when missing. */
  directory: string;
  /** The zones this backend serves; `"*"` serves any zone. */
  zones: string[];
  /**
   * NS records written when a zone file is created (default `ns1.<zone>`, which also gets a
   * placeholder glue record `127.0.0.1` so that BIND and Knot load the new file).
   */
  nameservers?: string[];
  /** The clock for date-based SOA serials. */
  now?: () => Date;
  /** File system operations; `node:fs/promises` by default. */
  fs?: ZoneFileFs;
  /** How long `apply` waits for another writer's lock before failing (default 10 s). */
  lockTimeoutMs?: number;
  /** Liveness probe for a lock holder's PID (default: signal 0). */
  isProcessAlive?: (pid: number) => boolean;
}

/** TTL of the SOA, NS and glue records of a zone file this backend creates, and its `$TTL`. */
const NEW_ZONE_TTL = 300;

const ZONE_RE = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;
const NAME_RE = /^(\*|[a-z0-9_-]+)(\.(\*|[a-z0-9_-]+))*$/;

/**
 * The canonical name, when it is one this backend writes as it is into a zone file: only
 * letters, digits, '-', '_' and (for owner names) '*' labels, which need no master-file escapes.
 */
function fileName(name: string, re: RegExp): string | undefined {
  const n = tryNormalizeName(name.trim());
  return n !== undefined && re.test(n) ? n : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The embedded backend: one RFC 1035 master file per zone, `<directory>/<zone>.zone`, that BIND,
 * Knot or NSD can load. Every `apply` is one atomic, conditional write: under an exclusive lock
 * file it re-reads the zone, checks every expectation, and replaces the file by rename with the
 * SOA serial bumped. Records other than A/AAAA at the changed names and the marker TXT are kept
 * (comments and layout of hand edits are not: the file is rewritten in canonical order).
 */
export class ZoneFileBackend implements DnsBackend {
  readonly type = 'zonefile';
  readonly name: string;
  readonly #directory: string;
  readonly #anyZone: boolean;
  readonly #zones: ReadonlySet<string>;
  readonly #nameservers: string[] | undefined;
  readonly #now: () => Date;
  readonly #fs: ZoneFileFs;
  readonly #lock: Omit<LockOptions, 'fs'>;

  constructor(opts: ZoneFileBackendOptions) {
    this.name = opts.name;
    this.#directory = opts.directory;
    this.#anyZone = opts.zones.includes('*');
    const zones = new Set<string>();
    for (const zone of opts.zones) {
      if (zone === '*') continue;
      const z = fileName(zone, ZONE_RE);
      if (z === undefined) {
        throw new BackendError(
          'INVALID',
          'CONFIG',
          `backend ${opts.name}: invalid zone name ${JSON.stringify(zone)}`,
        );
      }
      zones.add(z);
    }
    this.#zones = zones;
    this.#nameservers = opts.nameservers?.map((ns) => {
      const n = fileName(ns, NAME_RE);
      if (n === undefined) {
        throw new BackendError(
          'INVALID',
          'CONFIG',
          `backend ${opts.name}: invalid nameserver ${JSON.stringify(ns)}`,
        );
      }
      return n;
    });
    this.#now = opts.now ?? (() => new Date());
    this.#fs = opts.fs ?? nodeFs;
    this.#lock = {
      timeoutMs: opts.lockTimeoutMs ?? 10_000,
      unreadableGraceMs: 5_000,
      pid: process.pid,
      hostname: hostname(),
      isAlive: opts.isProcessAlive ?? processIsAlive,
      clock: Date.now,
      sleep: (ms) => sleep(ms),
    };
  }

  capabilities(): BackendCapabilities {
    return { atomicBatch: true, conditional: true, maxBatchNames: 100_000 };
  }

  /**
   * The file that holds `zone`.
   * @throws BackendError `NOTZONE` when this backend does not serve the zone.
   */
  zoneFilePath(zone: string): string {
    return join(this.#directory, `${this.#servedZone(zone)}.zone`);
  }

  async read(zone: string, names: string[], opts?: BackendCallOptions): Promise<Map<string, CurrentRecords>> {
    opts?.signal?.throwIfAborted();
    const z = this.#servedZone(zone);
    const wanted = names.map((name) => this.#nameInZone(name, z));
    // No lock: writers replace the file by rename, so a read sees one whole version of it.
    const index = indexByOwner((await this.#load(z))?.records ?? []);
    const roles = rolesOf(index, z);
    const result = new Map<string, CurrentRecords>();
    for (const name of wanted) {
      const current = currentRecords(index, name);
      const role = roles.get(name);
      result.set(name, role === undefined ? current : { ...current, protected: role });
    }
    return result;
  }

  async markers(zone: string, opts?: BackendCallOptions): Promise<Map<string, string[]>> {
    opts?.signal?.throwIfAborted();
    const z = this.#servedZone(zone);
    return markersOf(indexByOwner((await this.#load(z))?.records ?? []));
  }

  async apply(zone: string, changes: NameChange[], opts?: BackendCallOptions): Promise<ApplyResult> {
    opts?.signal?.throwIfAborted();
    const z = this.#servedZone(zone);
    const normalised = changes.map((c) => ({
      ...c,
      name: this.#nameInZone(c.name, z),
      markerName: this.#nameInZone(c.markerName, z),
    }));
    if (normalised.length === 0) return { chunks: [] };
    const names = normalised.map((c) => c.name);
    const records = recordCount(normalised);
    const problems = normalised.map(invalidChange).filter((p) => p !== undefined);
    if (problems.length > 0) {
      const error = new BackendError(
        'INVALID',
        'INVALID',
        `nothing written to zone ${z}: ${problems.join('; ')}`,
      );
      return { chunks: [{ names, records, error }] };
    }
    try {
      await this.#applyLocked(z, normalised);
      return { chunks: [{ names, records }] };
    } catch (error) {
      const e =
        error instanceof BackendError
          ? error
          : new BackendError('SERVER', errorCode(error) ?? 'IO', `zone ${z}: ${messageOf(error)}`, {
              cause: error,
            });
      return { chunks: [{ names, records, error: e }] };
    }
  }

  async close(): Promise<void> {}

  async #applyLocked(zone: string, changes: NameChange[]): Promise<void> {
    const path = join(this.#directory, `${zone}.zone`);
    const lockPath = `${path}.lock`;
    try {
      await this.#fs.mkdir(this.#directory, { recursive: true });
    } catch (error) {
      throw this.#ioError(`cannot create the directory ${this.#directory}`, error);
    }
    let release;
    try {
      release = await acquireLock(lockPath, { ...this.#lock, fs: this.#fs });
    } catch (error) {
      if (error instanceof BackendError) throw error;
      throw this.#ioError(`cannot take the lock ${lockPath}`, error);
    }
    try {
      const loaded = await this.#load(zone);
      const before = loaded?.records ?? [];
      const index = indexByOwner(before);

      const failures = changes.flatMap((c) => failedExpectations(index, c));
      if (failures.length > 0) {
        const [detail] = failures[0] as [string, string];
        throw new BackendError(
          'PRECONDITION',
          detail,
          `nothing written to ${path}: the zone no longer matches what was planned: ` +
            failures.map(([, why]) => why).join('; '),
        );
      }

      if (!applyChanges(index, changes)) return;
      const changed = [...index.values()].flat();
      const after =
        before.length === 0
          ? [...this.#newZoneRecords(zone), ...changed]
          : this.#bumpSerial(path, zone, changed);
      const text = serializeZone(zone, after, { defaultTtl: loaded?.defaultTtl ?? NEW_ZONE_TTL });
      await this.#writeAtomically(path, text);
    } finally {
      await release();
    }
  }

  /** The SOA, NS and (for the default nameserver) glue of a zone file created from nothing. */
  #newZoneRecords(zone: string): ZoneRecord[] {
    const serial = nextSerial(0, this.#now());
    const record = (name: string, type: string, rdata: string): ZoneRecord => ({
      name,
      ttl: NEW_ZONE_TTL,
      class: 'IN',
      type,
      rdata,
    });
    const nameservers = this.#nameservers ?? [`ns1.${zone}`];
    const records = [
      record(zone, 'SOA', `ns1.${zone}. hostmaster.${zone}. ${serial} 3600 600 86400 60`),
      ...nameservers.map((ns) => record(zone, 'NS', `${ns}.`)),
    ];
    // BIND and Knot refuse a zone whose in-zone nameserver has no address. The default one is a
    // placeholder anyway; configure `nameservers` (or create the file yourself) for a real zone.
    if (this.#nameservers === undefined) records.push(record(`ns1.${zone}`, 'A', '127.0.0.1'));
    return records;
  }

  #bumpSerial(path: string, zone: string, records: ZoneRecord[]): ZoneRecord[] {
    const soas = records.filter((r) => r.name === zone && r.type === 'SOA');
    const soa = soas[0];
    const fields = soa?.rdata.split(' ') ?? [];
    const serialText = fields[2] ?? '';
    if (
      soas.length !== 1 ||
      fields.length !== 7 ||
      !/^\d+$/.test(serialText) ||
      Number(serialText) >= 2 ** 32
    ) {
      throw new BackendError(
        'SERVER',
        'BADSOA',
        `nothing written to ${path}: it needs exactly one SOA record at ${zone} with a serial from 0 to 4294967295`,
      );
    }
    fields[2] = String(nextSerial(Number(serialText), this.#now()));
    return records.map((r) => (r === soa ? { ...r, rdata: fields.join(' ') } : r));
  }

  /** The parsed zone file, or undefined when it does not exist (an empty zone). */
  async #load(zone: string): Promise<ParsedZone | undefined> {
    const path = join(this.#directory, `${zone}.zone`);
    let text: string;
    try {
      text = await this.#fs.readFile(path, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw this.#ioError(`cannot read ${path}`, error);
    }
    // The file system hands over text decoded as UTF-8, where a byte that is not UTF-8 has become
    // U+FFFD. Parsed and written back, the record holding it would change: refuse the file.
    const lossy = text.indexOf('\uFFFD');
    if (lossy >= 0) {
      const line = text.slice(0, lossy).split('\n').length;
      throw new BackendError(
        'SERVER',
        'ERR_TEXT_ENCODING',
        `${path}:${line}: not valid UTF-8 (or it holds U+FFFD); write such octets as \\DDD escapes ` +
          '(fix the file; nothing is written until then)',
      );
    }
    try {
      return parseZone(text, zone, { file: path });
    } catch (error) {
      if (error instanceof ZoneFileError) {
        throw new BackendError(
          'SERVER',
          error.code,
          `${error.message} (fix the file; nothing is written until then)`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  /** Temp file in the same directory, fsync, rename over the original, fsync the directory. */
  async #writeAtomically(path: string, text: string): Promise<void> {
    const fs = this.#fs;
    const temp = `${path}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`;
    let mode = 0o644;
    try {
      mode = (await fs.stat(path)).mode & 0o7777;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw this.#ioError(`cannot stat ${path}`, error);
    }
    let handle;
    try {
      handle = await fs.open(temp, 'wx', mode);
      await handle.writeFile(text, 'utf8');
      await handle.sync();
      await handle.close();
      handle = undefined;
      // The umask may have narrowed the mode; the zone file keeps the one it had.
      await fs.chmod(temp, mode);
      await fs.rename(temp, path);
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await fs.unlink(temp).catch(() => undefined);
      throw this.#ioError(`cannot write ${path}`, error);
    }
    try {
      const dir = await fs.open(this.#directory, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch {
      // Some file systems refuse fsync on a directory; the rename has happened either way.
    }
  }

  #ioError(what: string, error: unknown): BackendError {
    return new BackendError('SERVER', errorCode(error) ?? 'IO', `${what}: ${messageOf(error)}`, {
      cause: error,
    });
  }

  #servedZone(zone: string): string {
    const z = fileName(zone, ZONE_RE);
    if (z === undefined) {
      throw new BackendError(
        'NOTZONE',
        'NOTZONE',
        `backend ${this.name}: ${JSON.stringify(zone)} is not a zone name`,
      );
    }
    if (!this.#anyZone && !this.#zones.has(z)) {
      throw new BackendError('NOTZONE', 'NOTZONE', `backend ${this.name} does not serve zone ${z}`);
    }
    return z;
  }

  #nameInZone(name: string, zone: string): string {
    const n = fileName(name, NAME_RE);
    if (n === undefined || !inZone(n, zone)) {
      throw new BackendError(
        'NOTZONE',
        'NOTZONE',
        `${JSON.stringify(name)} is not a name inside zone ${zone}`,
      );
    }
    return n;
  }
}
