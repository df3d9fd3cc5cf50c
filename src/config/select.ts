/**
 * Which backend serves a zone, and which namespace may manage it (behaviour rule 12). Pure.
 */
import { normalizeName } from '../dns/names.ts';
import { ConfigError } from './errors.ts';
import type { BackendConfig, Config } from './schema.ts';

function serves(backend: BackendConfig, zone: string): 'exact' | 'wildcard' | undefined {
  if (backend.zones.includes(zone)) return 'exact';
  return backend.zones.includes('*') ? 'wildcard' : undefined;
}

/**
 * The backend that writes `zone`. With `requestedName` (an ApexAlias's spec.backend) that backend,
 * which must serve the zone. Without it the one backend that lists the zone by name; failing
 * that, the one backend that serves every zone ("*").
 * Throws `ConfigError`: ERR_CONFIG_UNKNOWN_BACKEND, ERR_CONFIG_NO_BACKEND or
 * ERR_CONFIG_AMBIGUOUS_BACKEND, each with a message that says what to change.
 */
export function backendForZone(config: Config, zone: string, requestedName?: string): BackendConfig {
  const name = normalizeName(zone);
  if (requestedName !== undefined) {
    const backend = config.backends.find((b) => b.name === requestedName);
    if (!backend) {
      const known = config.backends.map((b) => b.name).join(', ');
      throw new ConfigError(
        'ERR_CONFIG_UNKNOWN_BACKEND',
        `backend ${JSON.stringify(requestedName)} is not in the controller configuration (backends: ${known})`,
      );
    }
    if (!serves(backend, name)) {
      throw new ConfigError(
        'ERR_CONFIG_NO_BACKEND',
        `backend ${backend.name} does not serve zone ${name}; add it to that backend's zones`,
      );
    }
    return backend;
  }
  for (const level of ['exact', 'wildcard'] as const) {
    const matches = config.backends.filter((b) => serves(b, name) === level);
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new ConfigError(
        'ERR_CONFIG_AMBIGUOUS_BACKEND',
        `zone ${name} is served by several backends (${matches.map((b) => b.name).join(', ')}); set spec.backend`,
      );
    }
  }
  throw new ConfigError(
    'ERR_CONFIG_NO_BACKEND',
    `no backend serves zone ${name}; add it to backends[].zones`,
  );
}

function zoneMatches(pattern: string, zone: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return zone.endsWith(pattern.slice(1));
  return pattern === zone;
}

/**
 * Whether `namespace` may manage `zone`. Without an `allow` section every namespace may manage
 * every zone; with one, some rule must list the namespace (or "*") and match the zone
 * ("example.com", "*.example.org" for any zone below example.org, or "*").
 */
export function zoneAllowed(config: Config, namespace: string, zone: string): boolean {
  if (config.allow === undefined) return true;
  const name = normalizeName(zone);
  return config.allow.some(
    (rule) =>
      (rule.namespaces.includes('*') || rule.namespaces.includes(namespace)) &&
      rule.zones.some((pattern) => zoneMatches(pattern, name)),
  );
}
