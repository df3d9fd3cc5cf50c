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
