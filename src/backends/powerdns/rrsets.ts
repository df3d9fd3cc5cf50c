/**
 * The PowerDNS HTTP API's RRset JSON, both ways, without I/O: what a zone GET returns turned into
 * the planner's vocabulary, and planned changes turned into PATCH bodies of bounded size.
 */
import { normalizeName } from '../../dns/names.ts';
import { normalizeAddresses } from '../../plan/addresses.ts';
import { markerName } from '../../plan/ownership.ts';
import type { AddressType, CurrentRecords, NameChange } from '../../plan/types.ts';
import { txtValue } from '../zonefile/parse.ts';
import { quoteTxt } from '../zonefile/serialize.ts';
import type { NameSnapshot } from '../expectations.ts';
import { MARKER_TTL } from '../rfc2136/messages.ts';

/** One record of an RRset as the API returns it. */
export interface ApiRecord {
  content: string;
  disabled: boolean;
}

/** One RRset as the API returns it (`comments` are never read or sent). */
export interface ApiRRset {
  name: string;
  type: string;
  ttl: number;
  records: ApiRecord[];
}

/** One entry of a PATCH body's `rrsets`. Never carries `comments`, so PowerDNS keeps them. */
export interface PatchRRset {
  name: string;
  type: 'A' | 'AAAA' | 'TXT';
  changetype: 'REPLACE' | 'DELETE';
  ttl?: number;
  records?: ApiRecord[];
}

/** The enabled records of the types apexalias looks at, by owner name, then type. */
export type RRsetIndex = Map<string, Map<string, { ttl: number; contents: string[] }>>;

const WATCHED_TYPES = new Set(['A', 'AAAA', 'CNAME', 'TXT']);

/** Absolute form, as the API writes names: `www.example.com.`. */
export function apiName(name: string): string {
  return `${name}.`;
}

/**
 * Checks that a zone GET's `rrsets` has the shape this module reads.
 * @returns the RRsets, or undefined when the body is not what PowerDNS sends.
 */
export function rrsetsOf(body: unknown): ApiRRset[] | undefined {
  const rrsets = (body as { rrsets?: unknown } | null)?.rrsets;
  if (!Array.isArray(rrsets)) return undefined;
  for (const r of rrsets as Array<Partial<ApiRRset>>) {
    if (typeof r?.name !== 'string' || typeof r.type !== 'string' || !Array.isArray(r.records))
      return undefined;
    if (r.records.some((rec) => typeof rec?.content !== 'string')) return undefined;
  }
  return rrsets as ApiRRset[];
}

/**
 * Indexes the enabled A, AAAA, CNAME and TXT records of `owners`. Other names are dropped: a
 * filtered GET in PowerDNS 4.7 also returns every comment of the zone as an RRset without
 * records. Disabled records are dropped too: they are not served, and a filtered GET never
 * returns them, so both kinds of read see the same zone.
 */
export function indexRRsets(rrsets: readonly ApiRRset[], owners: ReadonlySet<string>): RRsetIndex {
  const index: RRsetIndex = new Map();
  for (const rrset of rrsets) {
    const type = rrset.type.toUpperCase();
    if (!WATCHED_TYPES.has(type)) continue;
    const owner = normalizeName(rrset.name);
    if (!owners.has(owner)) continue;
    const contents = rrset.records.filter((r) => r.disabled !== true).map((r) => r.content);
    if (contents.length === 0) continue;
    let types = index.get(owner);
    if (!types) index.set(owner, (types = new Map()));
    types.set(type, { ttl: typeof rrset.ttl === 'number' ? rrset.ttl : 0, contents });
  }
  return index;
}

function markerText(content: string): string {
  try {
    return txtValue(content);
  } catch {
    // Not TXT presentation format: kept as written, so it can never pass for our marker.
    return content;
  }
}

/** What the zone holds at `name` and its marker name, in the planner's vocabulary. */
export function snapshotOf(index: RRsetIndex, name: string): NameSnapshot {
  const current: CurrentRecords = { name };
  const here = index.get(name);
  for (const type of ['A', 'AAAA'] as AddressType[]) {
    const rrset = here?.get(type);
    if (rrset) current[type] = { ttl: rrset.ttl, addresses: normalizeAddresses(rrset.contents) };
  }
  const cname = here?.get('CNAME')?.contents[0];
  if (cname !== undefined) current.cname = normalizeName(cname);
  const atMarker = index.get(markerName(name));
  const txt = atMarker?.get('TXT');
  if (txt) current.marker = txt.contents.map(markerText).sort();
  return { current, markerCname: atMarker?.has('CNAME') ?? false };
}

/** The PATCH entries for one change, in the order the server applies them. */
export function changeToRRsets(change: NameChange): PatchRRset[] {
  const out: PatchRRset[] = [];
  let markerTtl = MARKER_TTL;
  for (const type of ['A', 'AAAA'] as AddressType[]) {
    if (!(type in change.set)) continue;
    const rrset = change.set[type];
    if (!rrset || rrset.addresses.length === 0) {
      out.push({ name: apiName(change.name), type, changetype: 'DELETE' });
      continue;
    }
    markerTtl = Math.min(markerTtl, rrset.ttl);
    out.push({
      name: apiName(change.name),
      type,
      changetype: 'REPLACE',
      ttl: rrset.ttl,
      records: rrset.addresses.map((content) => ({ content, disabled: false })),
    });
  }
  if (change.marker === 'create' || change.marker === 'replace') {
    out.push({
      name: apiName(change.markerName),
      type: 'TXT',
      changetype: 'REPLACE',
      ttl: markerTtl,
      records: [{ content: quoteTxt(change.markerValue), disabled: false }],
    });
  } else if (change.marker === 'delete') {
    out.push({ name: apiName(change.markerName), type: 'TXT', changetype: 'DELETE' });
  }
  return out;
}

/** One PATCH request: whole names only, so it lands for all of them or for none. */
export interface PatchChunk {
  changes: NameChange[];
  body: string;
  /** Records written plus RRsets deleted. */
  records: number;
}

const BODY_OPEN = '{"rrsets":[';
const BODY_CLOSE = ']}';

/**
 * Packs changes, in order, into as few PATCH bodies of at most `maxBytes` as they fit in. A
 * change is never split; one that alone exceeds the limit goes alone (and the server says no).
 */
export function packPatches(changes: readonly NameChange[], maxBytes: number): PatchChunk[] {
  const chunks: PatchChunk[] = [];
  let current: { changes: NameChange[]; parts: string[]; bytes: number; records: number } | undefined;
  const flush = (): void => {
    if (!current) return;
    chunks.push({
      changes: current.changes,
      body: BODY_OPEN + current.parts.join(',') + BODY_CLOSE,
      records: current.records,
    });
    current = undefined;
  };
  for (const change of changes) {
    const rrsets = changeToRRsets(change);
    const parts = rrsets.map((r) => JSON.stringify(r));
    const bytes = parts.reduce((n, p) => n + Buffer.byteLength(p) + 1, 0);
    const records = rrsets.reduce((n, r) => n + (r.records?.length ?? 1), 0);
    const overhead = BODY_OPEN.length + BODY_CLOSE.length;
    if (current && current.bytes + bytes + overhead > maxBytes) flush();
    current ??= { changes: [], parts: [], bytes: 0, records: 0 };
    current.changes.push(change);
    current.parts.push(...parts);
    current.bytes += bytes;
    current.records += records;
  }
  flush();
  return chunks;
}
