/**
 * The zone-file backend's model of a zone, pure: records indexed by owner name, read in the
 * planner's vocabulary, checked against a change's expectations the way RFC 2136 prerequisites
 * would be, and changed. The file I/O and locking live in backend.ts.
 */
import { addressTypeOf, normalizeAddresses, tryCanonicalAddress } from '../../plan/addresses.ts';
import { markerName } from '../../plan/ownership.ts';
import type { AddressType, CurrentRecords, NameChange } from '../../plan/types.ts';
import { MAX_TTL, txtValue } from './parse.ts';
import type { ZoneRecord } from './parse.ts';
import { quoteTxt } from './serialize.ts';

/** TTL of a marker written with no address RRset beside it. */
const DEFAULT_MARKER_TTL = 300;
const ADDRESS_TYPES: readonly AddressType[] = ['A', 'AAAA'];

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
export type OwnerIndex = Map<string, ZoneRecord[]>;

export function indexByOwner(records: readonly ZoneRecord[]): OwnerIndex {
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
export function currentRecords(index: OwnerIndex, name: string): CurrentRecords {
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
export function failedExpectations(index: OwnerIndex, change: NameChange): Array<[string, string]> {
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
export function applyChanges(index: OwnerIndex, changes: readonly NameChange[]): boolean {
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
export function invalidChange(change: NameChange): string | undefined {
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
export function recordCount(changes: readonly NameChange[]): number {
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

/** Every ownership marker of the zone: owner name → the TXT strings at its marker name. */
export function markersOf(index: OwnerIndex): Map<string, string[]> {
  const prefix = markerName('');
  const markers = new Map<string, string[]>();
  for (const [name, records] of index) {
    if (!name.startsWith(prefix)) continue;
    const txt = records.filter((r) => r.type === 'TXT').map((r) => txtValue(r.rdata));
    if (txt.length) markers.set(name.slice(prefix.length), txt.sort());
  }
  return markers;
}

/**
 * The names the zone's NS and MX records point at, and its delegation points, with why they are
 * not apexalias's to manage (`CurrentRecords.protected`).
 */
export function rolesOf(index: OwnerIndex, zone: string): Map<string, string> {
  const roles = new Map<string, string>();
  const inZone = (name: string): boolean => name === zone || name.endsWith(`.${zone}`);
  for (const [owner, records] of index) {
    for (const r of records) {
      if (r.type === 'NS') {
        const target = cnameTarget(r.rdata);
        if (inZone(target)) roles.set(target, `the target of the NS record of ${owner}`);
        if (owner !== zone) roles.set(owner, 'a delegation point (it holds NS records)');
      } else if (r.type === 'MX') {
        const target = cnameTarget(r.rdata.split(' ')[1] ?? '');
        if (target && inZone(target)) roles.set(target, `the target of the MX record of ${owner}`);
      }
    }
  }
  return roles;
}
