/**
 * Loading and validating the controller configuration. `validateConfig` is pure; `loadConfig`
 * reads the file through the `readFile` it is given.
 */
import { dirname, isAbsolute, join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { LineCounter, parseAllDocuments } from 'yaml';
import { isIP, isLabel, isZoneName } from '../api/dnsname.ts';
import { untrustedValidators } from '../dns/dnssec.ts';
import { normalizeName, tryNormalizeName } from '../dns/names.ts';
import { describeSchemaErrors, isPlainObject, joinPath } from '../api/schema-errors.ts';
import type { ValidationResult } from '../api/validate.ts';
import { ValidationError } from '../errors.ts';
import { ConfigError } from './errors.ts';
import { parseHostPort } from './resolvconf.ts';
import {
  AllowRuleSchema,
  ConfigSchema,
  DEFAULT_TSIG_ALGORITHM,
  PowerdnsBackendSchema,
  RefreshSchema,
  ResolverSchema,
  Rfc2136BackendSchema,
  Route53BackendSchema,
  ZonefileBackendSchema,
} from './schema.ts';
import type {
  BackendConfig,
  Config,
  PowerdnsBackendConfig,
  Rfc2136BackendConfig,
  Route53BackendConfig,
  ZonefileBackendConfig,
} from './schema.ts';

/** Reads a whole file; `fs/promises`' `readFile` fits. */
export type ReadFile = (path: string) => Promise<string | Uint8Array>;

/** Turns a path from the configuration into one the process can open. */
type ResolvePath = (path: string) => string;

/** What the loader needs to know about one backend type. */
interface BackendKind {
  schema: TSchema;
  /** `*` in zones serves every zone. */
  wildcardZones: boolean;
  /** Checks beyond the schema, on a structurally valid, defaulted backend. */
  check(backend: BackendConfig, path: string): string[];
  /** Normalises names and makes file paths usable. */
  finish(backend: BackendConfig, resolve: ResolvePath): BackendConfig;
}

const BACKEND_KINDS: Record<BackendConfig['type'], BackendKind> = {
  rfc2136: {
    schema: Rfc2136BackendSchema,
    wildcardZones: false,
    check(b, path) {
      const backend = b as Rfc2136BackendConfig;
      const problems: string[] = [];
      if (!parseHostPort(backend.server, { allowHostname: true })) {
        problems.push(
          `${path}.server: must be "host", "host:port" or "[ipv6]:port" with a port from 1 to 65535`,
        );
      }
      const tsig = backend.tsig;
      if (tsig === undefined && !backend.insecureNoTsig) {
        problems.push(`${path}.tsig: required unless insecureNoTsig is true`);
      }
      if (tsig !== undefined && backend.insecureNoTsig) {
        problems.push(`${path}.insecureNoTsig: must not be true while tsig is set`);
      }
      if (tsig !== undefined) {
        if ((tsig.secretFile === undefined) === (tsig.keyFile === undefined)) {
          problems.push(`${path}.tsig: set exactly one of secretFile and keyFile`);
        }
        if (tsig.secretFile !== undefined && tsig.keyName === undefined) {
          problems.push(`${path}.tsig.keyName: required with secretFile`);
        }
        if (tsig.keyName !== undefined && !isZoneName(tryNormalizeName(tsig.keyName) ?? '')) {
          problems.push(`${path}.tsig.keyName: must be a DNS name such as ctl-key or ctl-key.example.com`);
        }
      }
      return problems;
    },
    finish(b, resolve) {
      const backend = b as Rfc2136BackendConfig;
      if (!backend.tsig) return backend;
      const tsig = { ...backend.tsig };
      if (tsig.keyName !== undefined) tsig.keyName = normalizeName(tsig.keyName);
      if (tsig.secretFile !== undefined) {
        tsig.secretFile = resolve(tsig.secretFile);
        tsig.algorithm ??= DEFAULT_TSIG_ALGORITHM;
      }
      if (tsig.keyFile !== undefined) tsig.keyFile = resolve(tsig.keyFile);
      return { ...backend, tsig };
    },
  },
  zonefile: {
    schema: ZonefileBackendSchema,
    wildcardZones: true,
    check(b, path) {
      const backend = b as ZonefileBackendConfig;
      const problems: string[] = [];
      backend.nameservers.forEach((ns, i) => {
        if (!isZoneName(tryNormalizeName(ns) ?? '') || !ns.replace(/\.$/, '').includes('.')) {
          problems.push(
            `${path}.nameservers[${i}]: must be a fully qualified hostname such as ns1.example.com`,
          );
        }
      });
      return problems;
    },
    finish(b, resolve) {
      const backend = b as ZonefileBackendConfig;
      return {
        ...backend,
        directory: resolve(backend.directory),
        nameservers: backend.nameservers.map((ns) => normalizeName(ns)),
      };
    },
  },
  route53: {
    schema: Route53BackendSchema,
    wildcardZones: false,
    check(b, path) {
      const backend = b as Route53BackendConfig;
      const problems: string[] = [];
      if (backend.endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(backend.endpoint)) {
        problems.push(
          `${path}.endpoint: must be an http:// or https:// URL, such as https://route53.amazonaws.com`,
        );
      }
      const zones = new Set(backend.zones.map(tryNormalizeName));
      for (const [zone, id] of Object.entries(backend.hostedZoneIds ?? {})) {
        const at = `${path}.hostedZoneIds[${JSON.stringify(zone)}]`;
        if (!zones.has(tryNormalizeName(zone)))
          problems.push(`${at}: ${zone} is not one of this backend's zones`);
        if (!/^(\/hostedzone\/)?[A-Z0-9]{1,32}$/.test(id)) {
          problems.push(`${at}: must be a hosted zone id such as Z0123456789ABCDEFGHIJ`);
        }
      }
      return problems;
    },
    finish(b, resolve) {
      const backend = b as Route53BackendConfig;
      const out: Route53BackendConfig = { ...backend };
      if (backend.hostedZoneIds) {
        out.hostedZoneIds = Object.fromEntries(
          Object.entries(backend.hostedZoneIds).map(([zone, id]) => [
            normalizeName(zone),
            id.replace(/^\/hostedzone\//, ''),
          ]),
        );
      }
      if (backend.credentialsFile !== undefined) out.credentialsFile = resolve(backend.credentialsFile);
      return out;
    },
  },
  powerdns: {
    schema: PowerdnsBackendSchema,
    wildcardZones: false,
    check(b, path) {
      const backend = b as PowerdnsBackendConfig;
      const problem = checkApiUrl(backend.url);
      return problem ? [`${path}.url: ${problem}`] : [];
    },
    finish(b, resolve) {
      const backend = b as PowerdnsBackendConfig;
      return { ...backend, url: backend.url.replace(/\/+$/, ''), apiKeyFile: resolve(backend.apiKeyFile) };
    },
  },
};

/** Why `text` is not usable as the base URL of an HTTP API; undefined when it is. */
function checkApiUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${JSON.stringify(text)} is not a URL: write it like http://192.0.2.53:8081`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must start with http:// or https://`;
  if (url.username !== '' || url.password !== '') {
    return 'must not hold credentials; the API key comes from apiKeyFile';
  }
  if (url.search !== '' || url.hash !== '') return 'must not have a query (?…) or a fragment (#…)';
  if (/\/api\/v1\/?$/.test(url.pathname)) return 'leave out /api/v1: it is appended';
  return undefined;
}

const BACKEND_TYPES = Object.keys(BACKEND_KINDS);

/** The top level, with each backend checked on its own against the schema of its type. */
const TopLevelSchema = Type.Object(
  {
    ...ConfigSchema.properties,
    resolver: ResolverSchema,
    refresh: RefreshSchema,
    backends: Type.Array(Type.Unknown(), { minItems: 1 }),
    allow: Type.Optional(Type.Array(AllowRuleSchema)),
  },
  { additionalProperties: false },
);

export const OWNER_ID_RE = /^[a-z0-9](?:[-a-z0-9._]{0,61}[a-z0-9])?$/;
const NAMESPACE_RE = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

/** Normalises an allow-list zone pattern, or returns undefined when it is malformed. */
function normalizeZonePattern(pattern: string): string | undefined {
  if (pattern === '*') return pattern;
  const wildcard = pattern.startsWith('*.');
  const name = tryNormalizeName(wildcard ? pattern.slice(2) : pattern);
  if (name === undefined || !isZoneName(name)) return undefined;
  return wildcard ? `*.${name}` : name;
}

function checkBackend(raw: unknown, path: string): { backend?: BackendConfig; problems: string[] } {
  if (!isPlainObject(raw)) return { problems: [`${path}: must be an object (a mapping of fields)`] };
  const type = raw.type;
  if (type === undefined) {
    return {
      problems: [`${path}.type: is required (one of ${BACKEND_TYPES.map((t) => `"${t}"`).join(', ')})`],
    };
  }
  const kind = typeof type === 'string' ? BACKEND_KINDS[type as BackendConfig['type']] : undefined;
  if (!kind) {
    return {
      problems: [
        `${path}.type: unsupported value ${JSON.stringify(type)}: must be one of ${BACKEND_TYPES.map((t) => `"${t}"`).join(', ')}`,
      ],
    };
  }
  const problems: string[] = [];
  const candidate = structuredClone(raw);
  // An inline secret is the one mistake worth its own message: it must never live in a ConfigMap.
  if (isPlainObject(candidate.tsig) && 'secret' in candidate.tsig) {
    problems.push(
      `${path}.tsig.secret: inline secrets are not accepted; mount the secret as a file and set tsig.secretFile (or tsig.keyFile)`,
    );
    delete candidate.tsig.secret;
  }
  for (const key of ['accessKeyId', 'secretAccessKey', 'sessionToken', 'credentials']) {
    if (type === 'route53' && key in candidate) {
      problems.push(
        `${path}.${key}: inline AWS credentials are not accepted; mount a credentials file and set credentialsFile, ` +
          'or let the SDK find them (AWS_* environment variables, a web identity token for IRSA)',
      );
      delete candidate[key];
    }
  }
  if ('apiKey' in candidate) {
    problems.push(
      `${path}.apiKey: inline secrets are not accepted; mount the API key as a file and set apiKeyFile`,
    );
    delete candidate.apiKey;
  }
  const backend = Value.Default(kind.schema, candidate) as BackendConfig;
  problems.push(...describeSchemaErrors(kind.schema, backend, path));
  if (problems.length > 0) return { problems };

  if (!isLabel(backend.name)) {
    problems.push(`${path}.name: must be a lower-case DNS label (a-z, 0-9 and '-', at most 63 characters)`);
  }
  const seen = new Set<string>();
  const zones = backend.zones.map((zone, i) => {
    const zonePath = `${path}.zones[${i}]`;
    if (zone === '*') {
      if (!kind.wildcardZones) {
        problems.push(
          `${zonePath}: "*" is only allowed for zonefile backends; list the zones this ${type} backend serves`,
        );
      }
    } else if (!isZoneName(tryNormalizeName(zone) ?? '')) {
      problems.push(`${zonePath}: must be a DNS zone name such as example.com`);
    }
    const normalized = zone === '*' ? zone : (tryNormalizeName(zone) ?? zone);
    if (seen.has(normalized)) problems.push(`${zonePath}: duplicate zone ${JSON.stringify(normalized)}`);
    seen.add(normalized);
    return normalized;
  });
  problems.push(...kind.check(backend, path));
  return { backend: { ...backend, zones }, problems };
}

/**
 * Validates a parsed configuration and fills in its defaults. Relative file paths (zone
 * directories, TSIG files) are resolved against `baseDir` when it is given (the directory of the
 * config file, as Prometheus does) and kept as written otherwise. Names are normalised to
 * lower case without a trailing dot.
 */
export function validateConfig(obj: unknown, options: { baseDir?: string } = {}): ValidationResult<Config> {
  const input = obj === null || obj === undefined ? {} : obj;
  if (!isPlainObject(input)) return { ok: false, problems: ['(root): must be a mapping of fields'] };
  const top = Value.Default(TopLevelSchema, structuredClone(input)) as Record<string, unknown>;
  const problems = describeSchemaErrors(TopLevelSchema, top, '').map((p) =>
    p === 'backends: is required'
      ? 'backends: is required (the built-in zonefile backend is used only when no configuration file is given)'
      : p,
  );
  if (problems.length > 0) {
    // Still check each backend, so that one run shows every mistake.
    if (Array.isArray(top.backends))
      top.backends.forEach((b, i) => problems.push(...checkBackend(b, `backends[${i}]`).problems));
    return { ok: false, problems };
  }
  const config = top as unknown as Config;

  if (!OWNER_ID_RE.test(config.ownerId)) {
    problems.push(
      "ownerId: must be lower-case a-z, 0-9, '-', '.' and '_', starting and ending with a letter or digit, at most 63 characters",
    );
  }
  const servers = config.resolver.servers.map((server, i) => {
    const parsed = parseHostPort(server);
    if (!parsed) {
      problems.push(
        `resolver.servers[${i}]: must be an IP address with an optional port: "ip", "ip:port" or "[ipv6]:port"`,
      );
    }
    return parsed;
  });
  config.resolver.trustedValidators.forEach((address, i) => {
    if (!isIP(address))
      problems.push(`resolver.trustedValidators[${i}]: must be an IP address, without a port`);
  });
  if (config.resolver.dnssec === 'require') {
    // Servers from --resolver or /etc/resolv.conf are checked by the resolver when it starts.
    const listed = servers.filter((s) => s !== undefined);
    for (const host of untrustedValidators(listed, config.resolver.trustedValidators)) {
      problems.push(
        `resolver.servers: ${host} is neither loopback nor in resolver.trustedValidators, so its AD bit ` +
          'cannot be trusted with resolver.dnssec "require"; run a validating resolver on loopback, or add ' +
          'the address to trustedValidators once the path to it is protected (docs/dnssec.md)',
      );
    }
  }
  if (config.refresh.minSeconds > config.refresh.maxSeconds) {
    problems.push('refresh.minSeconds: must be less than or equal to refresh.maxSeconds');
  }

  const resolve: ResolvePath = (path) =>
    options.baseDir !== undefined && !isAbsolute(path) ? join(options.baseDir, path) : path;
  const names = new Map<string, number>();
  const backends: BackendConfig[] = [];
  (top.backends as unknown[]).forEach((raw, i) => {
    const path = `backends[${i}]`;
    const { backend, problems: backendProblems } = checkBackend(raw, path);
    problems.push(...backendProblems);
    if (!backend) return;
    const first = names.get(backend.name);
    if (first !== undefined) {
      problems.push(
        `${path}.name: duplicate backend name ${JSON.stringify(backend.name)} (also backends[${first}])`,
      );
    } else {
      names.set(backend.name, i);
    }
    backends.push(BACKEND_KINDS[backend.type].finish(backend, resolve));
  });

  const allow = config.allow?.map((rule, i) => {
    const path = joinPath('allow', i);
    rule.namespaces.forEach((ns, j) => {
      if (ns !== '*' && !NAMESPACE_RE.test(ns)) {
        problems.push(`${path}.namespaces[${j}]: must be a namespace name or "*"`);
      }
    });
    const zones = rule.zones.map((zone, j) => {
      const normalized = normalizeZonePattern(zone);
      if (normalized === undefined) {
        problems.push(`${path}.zones[${j}]: must be a zone name ("example.com"), "*.<zone>" or "*"`);
      }
      return normalized ?? zone;
    });
    return { namespaces: [...rule.namespaces], zones };
  });

  if (problems.length > 0) return { ok: false, problems };
  const value: Config = {
    ownerId: config.ownerId,
    resolver: config.resolver,
    refresh: config.refresh,
    backends,
  };
  if (allow !== undefined) value.allow = allow;
  return { ok: true, value };
}

/** The configuration used when no file is given: zone files in ./zones for every zone. */
export function defaultConfig(): Config {
  const result = validateConfig({ backends: [{ name: 'local', type: 'zonefile', zones: ['*'] }] });
  if (!result.ok) throw new Error(`built-in configuration is invalid: ${result.problems.join('; ')}`);
  return result.value;
}

/**
 * Reads, parses and validates the configuration file at `path`; with no path, returns
 * `defaultConfig()`. Throws `ConfigError` (ERR_CONFIG_READ) when the file cannot be read and
 * `ValidationError` when it is not valid YAML or not a valid configuration.
 */
export async function loadConfig(path: string | undefined, deps: { readFile: ReadFile }): Promise<Config> {
  if (path === undefined) return defaultConfig();
  let text: string;
  try {
    const data = await deps.readFile(path);
    text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      'ERR_CONFIG_READ',
      `cannot read configuration file ${path}${code ? `: ${code}` : ''}`,
      {
        cause: err,
      },
    );
  }
  // prettyErrors off: a parse error must not echo the surrounding lines of the file into a log.
  const lineCounter = new LineCounter();
  const all = [...parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true, lineCounter })];
  const yamlProblems = all.flatMap((doc) =>
    doc.errors.map((e) => {
      const at = lineCounter.linePos(e.pos[0]);
      return `line ${at.line}, column ${at.col}: ${e.message}`;
    }),
  );
  if (yamlProblems.length > 0) throw new ValidationError(`${path} is not valid YAML`, yamlProblems);
  if (all.length > 1) throw new ValidationError(`${path} must hold one YAML document, not ${all.length}`);
  const obj: unknown = all[0]?.toJS() ?? {};
  const result = validateConfig(obj, { baseDir: dirname(path) });
  if (!result.ok) throw new ValidationError(`invalid configuration in ${path}`, result.problems);
  return result.value;
}
