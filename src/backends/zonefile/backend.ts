import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { normalizeAddresses, tryCanonicalAddress, addressTypeOf } from '../../plan/addresses.ts';
import type { AddressType, CurrentRecords, NameChange } from '../../plan/types.ts';
import { markerName } from '../../plan/ownership.ts';
import { tryNormalizeName } from '../../dns/names.ts';
import { BackendError } from '../errors.ts';
import type { ApplyResult, BackendCapabilities, DnsBackend, BackendCallOptions } from '../types.ts';
import { errorCode, nodeFs } from './fs.ts';
import type { ZoneFileFs } from './fs.ts';
import { acquireLock, processIsAlive } from './lock.ts';
import type { LockOptions } from './lock.ts';
import { MAX_TTL, parseZone, txtValue, ZoneFileError } from './parse.ts';
import type { ParsedZone, ZoneRecord } from './parse.ts';
import { nextSerial } from './serial.ts';
import { inZone, quoteTxt, serializeZone } from './serialize.ts';

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
/** TTL of a marker written with no address RRset beside it. */
const DEFAULT_MARKER_TTL = 300;
const ADDRESS_TYPES: readonly AddressType[] = ['A', 'AAAA'];

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

/** The address in A or AAAA RDATA, also in RFC 3597 generic form (`\# 4 c0000201`). */
function addressOf(type: AddressType, rdata: string): string {
  const fields = rdata.split(' ');
  if (fields[0] !== '\\#') return tryCanonicalAddress(rdata) ?? rdata;
  const bytes = Buffer.from(fields.slice(2).join(''), 'hex');
  if (type === 'A' && bytes.length === 4) return [...bytes].join('.');
  if (type === 'AAAA' && bytes.length === 16) {
    const groups = Array.from({ length: 8 }, (_, k) => bytes.readUInt16BE(2 * k).toString(16));
    return tryCanonicalAddress(groups.join(':')) ?? rdata;
  }
  return rdata;
}

/** The target of CNAME RDATA, absolute, lower-case and without the trailing dot. */
function cnameTarget(rdata: string): string {
  return rdata.replace(/\.$/, '').replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** One owner name's records of the types apexalias looks at. */
interface NameView {
  A: ZoneRecord[];
  AAAA: ZoneRecord[];
  CNAME: ZoneRecord[];
  TXT: ZoneRecord[];
}

/** The records of a zone by owner name, so that a batch of 100,000 names stays linear. */
type OwnerIndex = Map<string, ZoneRecord[]>;

function indexByOwner(records: readonly ZoneRecord[]): OwnerIndex {
  const index: OwnerIndex = new Map();
  for (const r of records) {
    const list = index.get(r.name);
    if (list) list.push(r);
    else index.set(r.name, [r]);
  }
  return index;
}

function viewOf(index: OwnerIndex, name: string): NameView {
  const view: NameView = { A: [], AAAA: [], CNAME: [], TXT: [] };
  for (const r of index.get(name) ?? []) {
    if (r.type === 'A' || r.type === 'AAAA' || r.type === 'CNAME' || r.type === 'TXT') view[r.type].push(r);
  }
  return view;
}

/** What the zone holds at `name` and its marker name, in the planner's vocabulary. */
function currentRecords(index: OwnerIndex, name: string): CurrentRecords {
  const current: CurrentRecords = { name };
  const here = viewOf(index, name);
  for (const type of ADDRESS_TYPES) {
    const rrs = here[type];
    if (rrs.length > 0) {
      current[type] = {
        ttl: rrs.reduce((min, r) => Math.min(min, r.ttl), Number.POSITIVE_INFINITY),
        addresses: normalizeAddresses(rrs.map((r) => addressOf(type, r.rdata))),
      };
    }
  }
  const cname = here.CNAME[0];
  if (cname) current.cname = cnameTarget(cname.rdata);
  const marker = viewOf(index, markerName(name)).TXT;
  if (marker.length > 0) current.marker = marker.map((r) => txtValue(r.rdata)).sort();
  return current;
}

/** Why `change.expect` does not hold in the zone, as RFC 2136 would answer; empty when it holds. */
function failedExpectations(index: OwnerIndex, change: NameChange): Array<[string, string]> {
  const failures: Array<[string, string]> = [];
  const here = viewOf(index, change.name);
  const markerView = viewOf(index, change.markerName);
  const marker = markerView.TXT.map((r) => txtValue(r.rdata));
  const { expect } = change;
  if (expect.marker === 'absent') {
    if (marker.length > 0) {
      failures.push(['YXRRSET', `${change.markerName} holds TXT ${JSON.stringify(marker)}, expected none`]);
    }
  } else if (marker.length !== 1 || marker[0] !== expect.marker.value) {
    failures.push([
      'NXRRSET',
      `${change.markerName} holds TXT ${JSON.stringify(marker)}, expected ${JSON.stringify([expect.marker.value])}`,
    ]);
  }
  if (here.CNAME.length > 0) {
    failures.push(['YXRRSET', `${change.name} holds a CNAME to ${cnameTarget(here.CNAME[0]?.rdata ?? '')}`]);
  }
  for (const type of expect.absent) {
    if (here[type].length > 0) failures.push(['YXRRSET', `${change.name} already holds ${type} records`]);
  }
  if (change.marker === 'create' && markerView.CNAME.length > 0) {
    failures.push(['YXRRSET', `${change.markerName} holds a CNAME, so no marker TXT can be written there`]);
  }
  return failures;
}

/** The records at one owner name as comparable text: order and the spelling of addresses ignored. */
function ownerKey(records: readonly ZoneRecord[] | undefined): string {
  return (records ?? [])
    .map(
      (r) =>
        `${r.type} ${r.ttl} ${r.type === 'A' || r.type === 'AAAA' ? addressOf(r.type, r.rdata) : r.rdata}`,
    )
    .sort()
    .join('\n');
}

/**
 * Makes the changes in `index`: only A/AAAA at each changed name and the marker TXT move.
 * @returns whether the zone's content changed.
 */
function applyChanges(index: OwnerIndex, changes: readonly NameChange[]): boolean {
  const touched = new Map<string, string>();
  const replace = (name: string, drop: (r: ZoneRecord) => boolean, add: ZoneRecord[]): void => {
    const existing = index.get(name);
    if (!touched.has(name)) touched.set(name, ownerKey(existing));
    const next = [...(existing ?? []).filter((r) => !drop(r)), ...add];
    if (next.length > 0) index.set(name, next);
    else index.delete(name);
  };
  for (const change of changes) {
    const writtenTtls: number[] = [];
    for (const type of ADDRESS_TYPES) {
      const rrset = change.set[type];
      if (rrset === undefined) continue;
      const add = (rrset === null ? [] : normalizeAddresses(rrset.addresses)).map((address): ZoneRecord => ({
        name: change.name,
        ttl: rrset?.ttl ?? 0,
        class: 'IN',
        type,
        rdata: address,
      }));
      if (rrset !== null && add.length > 0) writtenTtls.push(rrset.ttl);
      replace(change.name, (r) => r.type === type, add);
    }
    if (change.marker === 'keep') continue;
    const marker: ZoneRecord[] = [];
    if (change.marker === 'create' || change.marker === 'replace') {
      marker.push({
        name: change.markerName,
        ttl: writtenTtls.length > 0 ? Math.min(...writtenTtls) : DEFAULT_MARKER_TTL,
        class: 'IN',
        type: 'TXT',
        rdata: quoteTxt(change.markerValue),
      });
    }
    replace(change.markerName, (r) => r.type === 'TXT', marker);
  }
  return [...touched].some(([name, before]) => ownerKey(index.get(name)) !== before);
}

/** Bad input in a change, found before anything is read; undefined when the change is sound. */
function invalidChange(change: NameChange): string | undefined {
  for (const type of ADDRESS_TYPES) {
    const rrset = change.set[type];
    if (!rrset) continue;
    if (!Number.isInteger(rrset.ttl) || rrset.ttl < 0 || rrset.ttl > MAX_TTL) {
      return `${change.name} ${type}: TTL ${rrset.ttl} is not an integer from 0 to ${MAX_TTL}`;
    }
    const wrong = rrset.addresses.find((a) => addressTypeOf(a) !== type);
    if (wrong !== undefined)
      return `${change.name} ${type}: ${JSON.stringify(wrong)} is not an ${type} address`;
  }
  if (change.marker === 'create' && change.markerValue === '')
    return `${change.markerName}: empty marker value`;
  return undefined;
}

/** How many resource records the changes write or delete (an RRset deletion counts once). */
function recordCount(changes: readonly NameChange[]): number {
  let n = 0;
  for (const change of changes) {
    for (const type of ADDRESS_TYPES) {
      const rrset = change.set[type];
      if (rrset !== undefined) n += rrset === null ? 1 : Math.max(1, rrset.addresses.length);
    }
    if (change.marker !== 'keep') n += 1;
  }
  return n;
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
    const result = new Map<string, CurrentRecords>();
    for (const name of wanted) result.set(name, currentRecords(index, name));
    return result;
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
