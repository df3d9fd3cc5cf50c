import type { Ownership, OwnershipStatus } from './types.ts';

/** The label under which the ownership marker TXT lives (behaviour rule 7). */
export const MARKER_LABEL = '_apexalias';

/** Marks the TXT as written by apexalias, as external-dns's `heritage=external-dns` does. */
export const HERITAGE = 'apexalias';

/** The owner name of the ownership marker TXT for `name`: `_apexalias.<name>`. */
export function markerName(name: string): string {
  return `${MARKER_LABEL}.${name}`;
}

/** The marker TXT text: `heritage=apexalias,owner=<ownerId>,resource=<namespace>/<name>`. */
export function markerValue(ownerId: string, resource: string): string {
  return `heritage=${HERITAGE},owner=${ownerId},resource=${resource}`;
}

/**
 * The marker `deletionPolicy: Retain` leaves behind: the records stay in the zone, no longer
 * managed, and the ownership sweep leaves them alone. An alias of the same key takes them back.
 */
export function retainedMarkerValue(ownerId: string, resource: string): string {
  return `${markerValue(ownerId, resource)},retained=true`;
}

/** The fields of an apexalias marker. */
export interface Marker {
  heritage: typeof HERITAGE;
  owner: string;
  resource: string;
  /** Left by `deletionPolicy: Retain`: nobody manages the records. */
  retained: boolean;
}

/**
 * Reads a marker TXT text; undefined when it is not an apexalias marker. Keys may come in any
 * order and unknown keys are ignored, so a later version may add fields; a key given twice
 * makes the text ambiguous and it is refused.
 */
export function parseMarker(text: string): Marker | undefined {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const key = part.slice(0, eq);
    if (fields.has(key)) return undefined;
    fields.set(key, part.slice(eq + 1));
  }
  const owner = fields.get('owner');
  const resource = fields.get('resource');
  if (fields.get('heritage') !== HERITAGE || !owner || !resource) return undefined;
  return { heritage: HERITAGE, owner, resource, retained: fields.get('retained') === 'true' };
}

/**
 * How the TXT strings found at the marker name relate to `ownership`:
 * - `unclaimed`: no TXT at the marker name;
 * - `ours`: exactly one TXT, equal to our marker value;
 * - `conflict`: one apexalias marker of this controller, naming another ApexAlias;
 * - `foreign`: anything else (another controller, foreign TXT, several TXT strings). It is
 *   never touched: a marker that only resembles ours (other key order, extra keys) also
 *   counts as foreign, because a conditional write expecting our exact value could not land.
 */
export function classifyOwnership(
  marker: readonly string[] | undefined,
  ownership: Ownership,
): OwnershipStatus {
  if (marker === undefined || marker.length === 0) return 'unclaimed';
  if (marker.length > 1) return 'foreign';
  const text = marker[0] ?? '';
  if (text === markerValue(ownership.ownerId, ownership.resource)) return 'ours';
  if (text === retainedMarkerValue(ownership.ownerId, ownership.resource)) return 'retained';
  const parsed = parseMarker(text);
  if (parsed !== undefined && parsed.owner === ownership.ownerId && parsed.resource !== ownership.resource) {
    return 'conflict';
  }
  return 'foreign';
}

/** Who holds a marker, in words, for `blocked` messages and deletion reasons. */
export function describeMarker(marker: readonly string[] | undefined): string {
  if (marker === undefined || marker.length === 0) return 'no ownership marker';
  if (marker.length > 1)
    return `${marker.length} TXT records (${marker.map((m) => JSON.stringify(m)).join(', ')})`;
  const text = marker[0] ?? '';
  const parsed = parseMarker(text);
  if (parsed === undefined) return `a foreign TXT record ${JSON.stringify(text)}`;
  return `owner ${JSON.stringify(parsed.owner)}, resource ${parsed.resource}`;
}
