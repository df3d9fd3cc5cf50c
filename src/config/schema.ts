/**
 * The controller configuration file (YAML), schema'd with TypeBox: one source for its types, its
 * defaults and its validation. Credentials are never part of it, only the paths of the files
 * that hold them (mounted Secrets).
 *
 * Backends are a union discriminated by `type`. Adding one means: a schema here, a member in
 * `BackendSchema`, and an entry in `BACKEND_KINDS` (src/config/load.ts).
 */
import { Type } from '@sinclair/typebox';
import type { Static, TLiteral, TUnion } from '@sinclair/typebox';
import { DNSSEC_MODES } from '../dns/dnssec.ts';
import type { DnssecMode } from '../dns/dnssec.ts';

function StringEnum<T extends string>(values: readonly T[], options: { description: string; default?: T }) {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as TUnion<TLiteral<T>[]>;
}

/** TSIG algorithms (RFC 8945 §6); hmac-sha256 is the one every server supports. */
export const TSIG_ALGORITHMS = [
  'hmac-sha1',
  'hmac-sha224',
  'hmac-sha256',
  'hmac-sha384',
  'hmac-sha512',
] as const;
export type TsigAlgorithm = (typeof TSIG_ALGORITHMS)[number];
export const DEFAULT_TSIG_ALGORITHM: TsigAlgorithm = 'hmac-sha256';

const backendName = Type.String({
  description: "The backend's name, referred to by an ApexAlias's spec.backend: a lower-case DNS label.",
  minLength: 1,
  maxLength: 63,
});

function zones(description: string) {
  return Type.Array(
    Type.String({
      description: 'A zone name, e.g. example.com (case and a trailing dot are ignored).',
      minLength: 1,
    }),
    { description, minItems: 1 },
  );
}

export const TsigSchema = Type.Object(
  {
    keyName: Type.Optional(
      Type.String({
        description:
          'The TSIG key name as the server knows it. Required with secretFile; with keyFile it picks ' +
          'one key out of several.',
        minLength: 1,
      }),
    ),
    algorithm: Type.Optional(
      StringEnum(TSIG_ALGORITHMS, {
        description:
          'The TSIG algorithm. With secretFile it defaults to hmac-sha256; with keyFile it is taken ' +
          'from the file and, when set here too, must match it.',
      }),
    ),
    secretFile: Type.Optional(
      Type.String({
        description:
          'Path of a file that holds the base64 TSIG secret (a mounted Secret). Relative to the config file.',
        minLength: 1,
      }),
    ),
    keyFile: Type.Optional(
      Type.String({
        description:
          'Path of a BIND key file (`key "name" { algorithm …; secret "…"; };`, as tsig-keygen writes it). ' +
          'Relative to the config file. Use it instead of secretFile.',
        minLength: 1,
      }),
    ),
  },
  {
    description: 'The TSIG key that signs every update. Set exactly one of secretFile and keyFile.',
    additionalProperties: false,
  },
);

export const Rfc2136BackendSchema = Type.Object(
  {
    name: backendName,
    type: Type.Literal('rfc2136'),
    zones: zones('The zones this backend serves, each by name. "*" is not allowed for rfc2136.'),
    server: Type.String({
      description:
        'The primary server that accepts updates: "host", "host:port", "[ipv6]:port" or a bare IPv6 ' +
        'address; host is an IP address or a hostname. The port defaults to 53.',
      minLength: 1,
    }),
    tcp: Type.Boolean({
      description: 'Send updates over TCP (the default). When false, UDP is tried first.',
      default: true,
    }),
    timeoutMs: Type.Integer({
      description: 'How long to wait for the server to answer one request, in milliseconds.',
      minimum: 100,
      maximum: 300000,
      default: 5000,
    }),
    tsig: Type.Optional(TsigSchema),
    nameservers: Type.Optional(
      Type.Array(
        Type.String({
          description: 'An authoritative server: "ip", "ip:port" or "[ipv6]:port".',
          minLength: 1,
        }),
        {
          description:
            'Every authoritative server of the zones, queried after each write and on each refresh to find a ' +
            "secondary that lags behind. Default: the zone's NS records (port 53), resolved through the resolver.",
        },
      ),
    ),
    insecureNoTsig: Type.Boolean({
      description:
        'Send unsigned updates. Only for servers that authorise by address; tsig is required otherwise.',
      default: false,
    }),
  },
  { description: 'A primary server spoken to over RFC 2136 dynamic updates.', additionalProperties: false },
);

export const ZonefileBackendSchema = Type.Object(
  {
    name: backendName,
    type: Type.Literal('zonefile'),
    zones: zones('The zones this backend serves. "*" serves every zone (one file per zone).'),
    directory: Type.String({
      description: 'Directory of the zone files, one <zone>.zone per zone. Relative to the config file.',
      minLength: 1,
      default: './zones',
    }),
    nameservers: Type.Array(Type.String({ description: 'A nameserver hostname.', minLength: 1 }), {
      description: 'The NS records written when a zone file is created. Existing files are left as they are.',
      default: [],
    }),
  },
  { description: 'Zone files on disk, for standalone use and tests.', additionalProperties: false },
);

export const Route53BackendSchema = Type.Object(
  {
    name: backendName,
    type: Type.Literal('route53'),
    zones: zones('The hosted zones this backend serves, each by name.'),
    region: Type.String({
      description: 'The region requests are signed for. Route 53 is global; its API lives in us-east-1.',
      minLength: 1,
      default: 'us-east-1',
    }),
    endpoint: Type.Optional(
      Type.String({
        description:
          'Another Route 53 API endpoint, an http(s) URL (an emulator, a VPC endpoint). Default: AWS.',
        minLength: 1,
      }),
    ),
    hostedZoneIds: Type.Optional(
      Type.Record(Type.String(), Type.String({ minLength: 1 }), {
        description:
          'Hosted zone ids by zone name ("example.com": "Z0123456789ABCDEFGHIJ"), for a zone whose name alone is ' +
          'ambiguous (a private and a public hosted zone of the same name). Other zones are looked up by name.',
      }),
    ),
    privateZone: Type.Optional(
      Type.Boolean({
        description:
          'Look zones up among private (true) or public (false) hosted zones only. Default: either.',
      }),
    ),
    credentialsFile: Type.Optional(
      Type.String({
        description:
          'Path of a shared credentials file (INI, as `aws configure` writes it; a mounted Secret), used by the ' +
          "SDK's default credential chain after the AWS_* environment variables. Relative to the config file.",
        minLength: 1,
      }),
    ),
    profile: Type.Optional(
      Type.String({
        description: 'The profile to use in the shared config and credentials files.',
        minLength: 1,
      }),
    ),
    timeoutMs: Type.Integer({
      description: 'How long one API request may take, in milliseconds.',
      minimum: 100,
      maximum: 300000,
      default: 10000,
    }),
  },
  {
    description:
      "Amazon Route 53 hosted zones, through the official AWS SDK. Credentials come from the SDK's default chain.",
    additionalProperties: false,
  },
);

/** Defaults of the powerdns backend, also used when it is built without a configuration. */
export const POWERDNS_DEFAULTS = {
  serverId: 'localhost',
  timeoutMs: 10000,
  filteredReadMaxNames: 50,
  /** Below PowerDNS's own limit, `webserver-max-bodysize` (2 MB by default). */
  maxRequestBytes: 2000000,
} as const;

export const PowerdnsBackendSchema = Type.Object(
  {
    name: backendName,
    type: Type.Literal('powerdns'),
    zones: zones('The zones this backend serves, each by name. "*" is not allowed for powerdns.'),
    url: Type.String({
      description:
        "The base URL of PowerDNS's webserver (http:// or https://), e.g. http://127.0.0.1:8081. A path " +
        'prefix (a reverse proxy) is kept; /api/v1 is appended.',
      minLength: 1,
    }),
    serverId: Type.String({
      description: 'The server_id in /api/v1/servers/{server_id}: localhost for a plain pdns_server.',
      minLength: 1,
      default: POWERDNS_DEFAULTS.serverId,
    }),
    apiKeyFile: Type.String({
      description:
        "Path of a file that holds the API key (pdns.conf's api-key), sent as X-API-Key. Relative to the config file.",
      minLength: 1,
    }),
    timeoutMs: Type.Integer({
      description: 'How long to wait for the server to answer one request, in milliseconds.',
      minimum: 100,
      maximum: 300000,
      default: POWERDNS_DEFAULTS.timeoutMs,
    }),
    filteredReadMaxNames: Type.Integer({
      description:
        'Reads of up to this many names fetch only their RRsets (two filtered GETs per name); larger reads ' +
        'fetch the whole zone in one GET.',
      minimum: 0,
      maximum: 100000,
      default: POWERDNS_DEFAULTS.filteredReadMaxNames,
    }),
    maxRequestBytes: Type.Integer({
      description:
        "The largest PATCH body sent; larger batches become several PATCHes. Keep it below the server's " +
        'webserver-max-bodysize (2 MB by default).',
      minimum: 10000,
      maximum: 1073741824,
      default: POWERDNS_DEFAULTS.maxRequestBytes,
    }),
  },
  { description: 'PowerDNS Authoritative spoken to over its HTTP API.', additionalProperties: false },
);

export const BackendSchema = Type.Union([
  Rfc2136BackendSchema,
  ZonefileBackendSchema,
  Route53BackendSchema,
  PowerdnsBackendSchema,
]);

export const ResolverSchema = Type.Object(
  {
    servers: Type.Array(
      Type.String({ description: 'An upstream resolver: "ip", "ip:port" or "[ipv6]:port".' }),
      {
        description: 'Recursive resolvers to ask. Empty (the default): the nameservers of /etc/resolv.conf.',
        default: [],
      },
    ),
    timeoutMs: Type.Integer({
      description: 'How long to wait for one answer, in milliseconds.',
      minimum: 50,
      maximum: 60000,
      default: 2000,
    }),
    attempts: Type.Integer({
      description: 'Tries, across the servers in turn, before a lookup fails.',
      minimum: 1,
      maximum: 10,
      default: 3,
    }),
    cacheMaxEntries: Type.Integer({
      description:
        'Most answers kept in the cache. 0 turns the cache off (lookups are still shared while in flight).',
      minimum: 0,
      maximum: 10000000,
      default: 100000,
    }),
    dnssec: StringEnum<DnssecMode>(DNSSEC_MODES, {
      description:
        'DNSSEC for targets, validated by the resolvers (apexalias checks no signature itself): "off" asks ' +
        'plain questions; "prefer" sets the DO bit and records whether each chain was validated; "require" ' +
        'uses an answer only when every answer along the chain carried the AD bit of a resolver on a trusted ' +
        'path (loopback or trustedValidators). See docs/dnssec.md.',
      default: 'off',
    }),
    trustedValidators: Type.Array(
      Type.String({ description: 'The IP address of a validating resolver (no port).', minLength: 1 }),
      {
        description:
          'Validating resolvers whose AD bit is believed although they are not on loopback: list one only when ' +
          'the path to it cannot be tampered with (same node, a protected link). Loopback is always trusted.',
        default: [],
      },
    ),
  },
  { description: 'How targets are resolved.', default: {}, additionalProperties: false },
);

export const RefreshSchema = Type.Object(
  {
    minSeconds: Type.Integer({
      description: 'Never re-resolve a target sooner than this, however short its TTL.',
      minimum: 1,
      default: 30,
    }),
    maxSeconds: Type.Integer({
      description: 'Always re-resolve a target at least this often, however long its TTL.',
      minimum: 1,
      default: 86400,
    }),
    jitter: Type.Number({
      description: 'Random spread of each refresh, as a fraction: 0.1 is ±10%.',
      minimum: 0,
      maximum: 0.5,
      default: 0.1,
    }),
  },
  { description: 'When targets are resolved again.', default: {}, additionalProperties: false },
);

export const AllowRuleSchema = Type.Object(
  {
    namespaces: Type.Array(
      Type.String({ description: 'A namespace name, or "*" for every namespace.', minLength: 1 }),
      {
        description: 'The namespaces this rule is for.',
        minItems: 1,
      },
    ),
    zones: Type.Array(
      Type.String({
        description:
          'A zone name ("example.com"), every zone below a name ("*.example.org", not example.org itself), or "*".',
        minLength: 1,
      }),
      { description: 'The zones those namespaces may manage.', minItems: 1 },
    ),
  },
  { description: 'One allowance: these namespaces may manage these zones.', additionalProperties: false },
);

export const DEFAULT_OWNER_ID = 'apexalias';

export const ConfigSchema = Type.Object(
  {
    ownerId: Type.String({
      description:
        'Identifies this controller in every ownership marker it writes; controllers that share a ' +
        "zone need different ids. Lower-case a-z, 0-9, '-', '.' and '_'.",
      minLength: 1,
      maxLength: 63,
      default: DEFAULT_OWNER_ID,
    }),
    resolver: ResolverSchema,
    refresh: RefreshSchema,
    backends: Type.Array(BackendSchema, {
      description: 'The DNS backends records are written to, and the zones each one serves.',
      minItems: 1,
    }),
    allow: Type.Optional(
      Type.Array(AllowRuleSchema, {
        description:
          'Which namespaces may manage which zones. Left out: every namespace may manage every zone. ' +
          'An empty list allows nothing.',
      }),
    ),
  },
  { description: 'The apexalias controller configuration.', additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type BackendConfig = Static<typeof BackendSchema>;
export type Rfc2136BackendConfig = Static<typeof Rfc2136BackendSchema>;
export type ZonefileBackendConfig = Static<typeof ZonefileBackendSchema>;
export type Route53BackendConfig = Static<typeof Route53BackendSchema>;
export type PowerdnsBackendConfig = Static<typeof PowerdnsBackendSchema>;
export type TsigConfig = Static<typeof TsigSchema>;
export type ResolverConfig = Static<typeof ResolverSchema>;
export type RefreshConfig = Static<typeof RefreshSchema>;
export type AllowRule = Static<typeof AllowRuleSchema>;
export type BackendType = BackendConfig['type'];
