/**
 * The names an ApexAlias writes to, and its ownership marker (DESIGN rule 6). Pure.
 * Every name returned here is absolute, lower-case and written without the trailing dot.
 */
import { normalizeDnsName } from './dnsname.ts';

/** The zone of a spec in canonical form ("example.com"). */
export function zoneName(spec: { zone: string }): string {
  return normalizeDnsName(spec.zone);
}

/** The target of a spec in canonical form ("lb.example.net"). */
export function targetName(spec: { target: string }): string {
  return normalizeDnsName(spec.target);
}

/**
 * The absolute owner name of the alias: the zone for "@" (or no name), the name itself when it is
 * absolute (ends with a dot), otherwise the name followed by the zone.
 */
export function ownerName(spec: { zone: string; name?: string }): string {
  const zone = zoneName(spec);
  const name = spec.name ?? '@';
  if (name === '@') return zone;
  if (name.endsWith('.')) return normalizeDnsName(name);
  return `${name.toLowerCase()}.${zone}`;
}

/** The TXT name that carries the ownership marker of `fqdn`. */
export function markerName(fqdn: string): string {
  return `_apexalias.${normalizeDnsName(fqdn)}`;
}

/** The value of the ownership marker TXT record. */
export function markerValue(ownerId: string, namespace: string, name: string): string {
  return `heritage=apexalias,owner=${ownerId},resource=${namespace}/${name}`;
}

/** A parsed ownership marker. */
export interface Marker {
  heritage: 'apexalias';
  /** The owner id of the controller that wrote it. */
  owner: string;
  /** `<namespace>/<name>` of the ApexAlias. */
  resource: string;
}

/**
 * Parses a marker TXT value. Returns undefined for anything that is not an apexalias marker with
 * an owner and a resource, or that names a key twice (an ambiguous marker is nobody's).
 * Unknown keys are ignored, so later versions may add some.
 */
export function parseMarker(text: string): Marker | undefined {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (fields.has(key)) return undefined;
    fields.set(key, value);
  }
  const owner = fields.get('owner');
  const resource = fields.get('resource');
  if (fields.get('heritage') !== 'apexalias' || !owner || !resource) return undefined;
  return { heritage: 'apexalias', owner, resource };
}
