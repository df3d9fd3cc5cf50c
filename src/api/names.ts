/**
 * The names an ApexAlias writes to, and its ownership marker (behaviour rule 7). Pure.
 * Every name returned here is absolute, lower-case and written without the trailing dot.
 */
import { normalizeName } from '../dns/names.ts';

/** The zone of a spec in canonical form ("example.com"). */
export function zoneName(spec: { zone: string }): string {
  return normalizeName(spec.zone);
}

/** The target of a spec in canonical form ("lb.example.net"). */
export function targetName(spec: { target: string }): string {
  return normalizeName(spec.target);
}

/**
 * The absolute owner name of the alias: the zone for "@" (or no name), the name itself when it is
 * absolute (ends with a dot), otherwise the name followed by the zone.
 */
export function ownerName(spec: { zone: string; name?: string }): string {
  const zone = zoneName(spec);
  const name = spec.name ?? '@';
  if (name === '@') return zone;
  if (name.endsWith('.')) return normalizeName(name);
  return normalizeName(`${name}.${zone}`);
}

/**
 * The key of an alias everywhere it is tracked (the workqueue, ownership markers, logs):
 * `namespace/name`, with `default` for an alias without a namespace (a manifest file).
 */
export function aliasKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? 'default'}/${name}`;
}

/** {@link aliasKey} of an object's metadata. */
export function keyOf(alias: { metadata: { namespace?: string; name: string } }): string {
  return aliasKey(alias.metadata.namespace, alias.metadata.name);
}

/** The namespace and name in a key made by {@link aliasKey}. */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
