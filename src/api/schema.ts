/**
 * The ApexAlias v1alpha1 API: the one source of its types, its runtime validation and its CRD.
 * Everything a user or `kubectl explain` sees comes from the descriptions written here.
 */
import { Type } from '@sinclair/typebox';
import type { Static, TLiteral, TUnion } from '@sinclair/typebox';
import { celValidations } from './rules.ts';

export const GROUP = 'dns.apexalias.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'ApexAlias';
export const LIST_KIND = 'ApexAliasList';
export const PLURAL = 'apexaliases';
export const SINGULAR = 'apexalias';
export const SHORT_NAMES = ['apex'];
export const CATEGORIES = ['dns'];
/** Finalizer that holds an ApexAlias until the records it owns are removed (behaviour rule 11). */
export const FINALIZER = 'dns.apexalias.io/cleanup';

/** Largest TTL a DNS record may carry (RFC 2181 §8). */
export const MAX_TTL = 2147483647;
/** `spec.ttl.max` when the user does not set it. */
export const DEFAULT_TTL_MAX = 3600;
/** Most fallback addresses one alias may list (keeps the CEL cost estimate bounded). */
export const MAX_FALLBACK_ADDRESSES = 64;
/** Longest textual IP address accepted ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"). */
export const MAX_IP_LENGTH = 45;

/** A string enum: a union of literals, written to the CRD as `type: string` with `enum`. */
function StringEnum<const T extends string>(
  values: readonly T[],
  options: { description: string; default?: NoInfer<T> },
) {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as unknown as TUnion<TLiteral<T>[]>;
}

export const FAMILIES = ['IPv4', 'IPv6'] as const;
export const ON_TARGET_MISSING = ['Keep', 'Remove', 'Fallback'] as const;
export const DRIFT_POLICIES = ['Correct', 'Report'] as const;
export const DELETION_POLICIES = ['Delete', 'Retain'] as const;
export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;

export const AddressFamilySchema = StringEnum(FAMILIES, {
  description: 'An address family: IPv4 publishes A records, IPv6 publishes AAAA records.',
});

export const TtlSchema = Type.Object(
  {
    min: Type.Optional(
      Type.Integer({
        description:
          'Lowest TTL, in seconds, ever published. Unset by default: the published TTL is then never ' +
          "longer than the target's own TTL. Setting it lets the published TTL exceed the target's " +
          'when the target uses very short TTLs. 1 to 2147483647, and at most ttl.max.',
        format: 'int32',
        minimum: 1,
        maximum: MAX_TTL,
      }),
    ),
    max: Type.Integer({
      description:
        'Highest TTL, in seconds, ever published: the lowest TTL seen along the CNAME chain and the ' +
        'address records is clamped to this. 1 to 2147483647; defaults to 3600.',
      format: 'int32',
      minimum: 1,
      maximum: MAX_TTL,
      default: DEFAULT_TTL_MAX,
    }),
  },
  {
    description:
      'Bounds for the TTL of the published records. The published TTL is the lowest TTL seen along ' +
      "the target's CNAME chain and its address records, clamped to [min, max].",
    default: {},
    additionalProperties: false,
  },
);

/**
 * The spec as stored after defaulting: every field that has a default is present. The CRD marks
 * only `zone` and `target` as required; defaulted fields are filled in by the apiserver (or by
 * `applyDefaults` in standalone mode) before any rule runs.
 */
export const ApexAliasSpecSchema = Type.Object(
  {
    zone: Type.String({
      description:
        'The DNS zone that holds the record, e.g. "example.com". Lower-case; a trailing dot is ' +
        'accepted and ignored. It must be served by a backend in the controller configuration, and ' +
        "the ApexAlias's namespace must be allowed to manage it.",
      minLength: 1,
      maxLength: 254,
    }),
    name: Type.String({
      description:
        'The owner name of the published records. "@" (the default) is the zone apex. Otherwise a ' +
        'name relative to the zone such as "www", or an absolute name ending in a dot such as ' +
        '"www.example.com." that lies inside the zone. Lower-case.',
      minLength: 1,
      maxLength: 254,
      default: '@',
    }),
    target: Type.String({
      description:
        'The hostname whose addresses are published, e.g. "my-app.lb.example.net". The controller ' +
        'follows its CNAME chain (up to 8 hops) and re-resolves it when its TTL runs out. A fully ' +
        'qualified lower-case hostname with at least two labels; a trailing dot is accepted. It ' +
        'must not be the alias itself.',
      minLength: 1,
      maxLength: 254,
    }),
    addressFamilies: Type.Array(AddressFamilySchema, {
      description:
        'The address families to publish: IPv4 (A records), IPv6 (AAAA records), or both (the ' +
        'default). Each family is resolved and written on its own: when one fails, the other is ' +
        'still written and the failing one is left as it was.',
      minItems: 1,
      maxItems: 2,
      default: [...FAMILIES],
      'x-kubernetes-list-type': 'set',
    }),
    ttl: TtlSchema,
    onTargetMissing: StringEnum(ON_TARGET_MISSING, {
      description:
        'What to publish for a family when the target does not exist (NXDOMAIN) or has no record ' +
        'of that family (NODATA). Keep (default): leave the last published records. Remove: ' +
        'delete that family. Fallback: publish fallbackAddresses of that family. Resolution ' +
        'failures (SERVFAIL, REFUSED, timeouts, malformed answers) never change the zone.',
      default: 'Keep',
    }),
    fallbackAddresses: Type.Array(
      Type.String({
        description: 'An IPv4 or IPv6 address, e.g. 192.0.2.10 or 2001:db8::10.',
        maxLength: MAX_IP_LENGTH,
      }),
      {
        description:
          'Addresses published when the target is missing and onTargetMissing is Fallback. Each must ' +
          'be an IPv4 or IPv6 address of a family listed in addressFamilies. Defaults to none.',
        maxItems: MAX_FALLBACK_ADDRESSES,
        default: [],
        'x-kubernetes-list-type': 'set',
      },
    ),
    driftPolicy: StringEnum(DRIFT_POLICIES, {
      description:
        'What to do when the zone serves something other than what the controller last wrote (an ' +
        'edit by hand, a lost write). Correct (default): report it and write the records again. ' +
        'Report: only report it, as metrics and Events.',
      default: 'Correct',
    }),
    deletionPolicy: StringEnum(DELETION_POLICIES, {
      description:
        'What happens to the published records when the ApexAlias is deleted. Delete (default): ' +
        'remove the records and the ownership marker the controller owns. Retain: leave them in ' +
        'the zone.',
      default: 'Delete',
    }),
    adopt: Type.Boolean({
      description:
        'Take over A/AAAA records that already exist at the name but carry no apexalias ownership ' +
        'marker. Defaults to false: such records are never overwritten. Records marked as owned ' +
        'by another controller or ApexAlias are never taken over.',
      default: false,
    }),
    backend: Type.Optional(
      Type.String({
        description:
          "The name of a backend in the controller's configuration. Optional when exactly one " +
          'backend serves the zone.',
        maxLength: 63,
      }),
    ),
  },
  {
    description: 'The desired state: which name in which zone publishes the addresses of which target.',
    additionalProperties: false,
    'x-kubernetes-validations': celValidations(),
  },
);

export const ConditionSchema = Type.Object(
  {
    type: Type.String({
      description: 'Type of condition: Ready, Resolved, Synced, InSync or Deleting.',
      maxLength: 316,
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    }),
    status: StringEnum(CONDITION_STATUSES, {
      description: 'Status of the condition: True, False or Unknown.',
    }),
    observedGeneration: Type.Optional(
      Type.Integer({
        description: 'The .metadata.generation that the condition was set for.',
        format: 'int64',
        minimum: 0,
      }),
    ),
    lastTransitionTime: Type.String({
      description: 'When the condition last changed from one status to another.',
      format: 'date-time',
    }),
    reason: Type.String({
      description: 'A CamelCase, machine-readable reason for the last transition, e.g. ZoneNotAllowed.',
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    }),
    message: Type.String({
      description: 'A human-readable message with details about the last transition.',
      maxLength: 32768,
    }),
  },
  {
    description: 'One condition, in the standard metav1.Condition shape.',
    additionalProperties: false,
  },
);

const timestamp = (description: string) => Type.Optional(Type.String({ description, format: 'date-time' }));

export const ApexAliasStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(
      Type.Integer({
        description: 'The .metadata.generation that this status describes.',
        format: 'int64',
        minimum: 0,
      }),
    ),
    conditions: Type.Optional(
      Type.Array(ConditionSchema, {
        description:
          'Ready: records are published and match the spec. Resolved: the last lookup of the ' +
          'target succeeded. Synced: the last write to the backend succeeded. InSync: the zone ' +
          'serves what the controller last wrote. Deleting (only while the object is being ' +
          'deleted and its records cannot be removed yet): why the finalizer still holds it.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    ),
    addresses: Type.Optional(
      Type.Object(
        {
          ipv4: Type.Optional(
            Type.Array(Type.String({ description: 'An IPv4 address.' }), {
              description: 'The published A record addresses, sorted.',
            }),
          ),
          ipv6: Type.Optional(
            Type.Array(Type.String({ description: 'An IPv6 address.' }), {
              description: 'The published AAAA record addresses, sorted.',
            }),
          ),
        },
        { description: 'The addresses currently published, per family.', additionalProperties: false },
      ),
    ),
    addressesSummary: Type.Optional(
      Type.String({
        description:
          'The published addresses in one short line for `kubectl get`, e.g. "192.0.2.1,2001:db8::1" ' +
          'or "5 addresses".',
      }),
    ),
    ttl: Type.Optional(
      Type.Integer({ description: 'The TTL, in seconds, of the published records.', format: 'int32' }),
    ),
    chain: Type.Optional(
      Type.Array(Type.String({ description: 'A hostname.' }), {
        description: 'The names followed by the last lookup: the target first, then each CNAME target.',
      }),
    ),
    lastResolvedTime: timestamp('When the target was last resolved successfully.'),
    lastSyncedTime: timestamp('When the records were last written to, or confirmed in, the backend.'),
    nextRefreshTime: timestamp('When the target will be resolved next.'),
  },
  {
    description: 'The observed state, written by the controller.',
    additionalProperties: false,
  },
);

/** Object metadata as apexalias reads it. Validated in standalone mode only; never part of the CRD schema. */
export const ObjectMetaSchema = Type.Object(
  {
    name: Type.String({ description: 'Name of the ApexAlias, unique in its namespace.' }),
    namespace: Type.Optional(Type.String({ description: 'Namespace of the ApexAlias.' })),
    uid: Type.Optional(Type.String()),
    resourceVersion: Type.Optional(Type.String()),
    generation: Type.Optional(Type.Integer()),
    creationTimestamp: Type.Optional(Type.String()),
    deletionTimestamp: Type.Optional(Type.String()),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
    finalizers: Type.Optional(Type.Array(Type.String())),
  },
  // Kubernetes adds fields of its own (managedFields, ownerReferences, …): accept and keep them.
  { description: 'Standard object metadata.' },
);

/**
 * The whole object as standalone mode validates it. `status` is accepted and dropped, as the
 * apiserver does on create: only the controller writes status, through the status subresource.
 */
export const ApexAliasSchema = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal(KIND),
    metadata: ObjectMetaSchema,
    spec: ApexAliasSpecSchema,
    status: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

/** A fully defaulted spec. */
export type ApexAliasSpec = Static<typeof ApexAliasSpecSchema>;
export type ApexAliasStatus = Static<typeof ApexAliasStatusSchema>;
export type Condition = Static<typeof ConditionSchema>;
export type ObjectMeta = Static<typeof ObjectMetaSchema>;
export type AddressFamily = (typeof FAMILIES)[number];
export type OnTargetMissing = (typeof ON_TARGET_MISSING)[number];
export type DriftPolicy = (typeof DRIFT_POLICIES)[number];
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];

/** The spec fields that have a default; a user may leave each of them out. */
export const DEFAULTED_SPEC_FIELDS = [
  'name',
  'addressFamilies',
  'ttl',
  'onTargetMissing',
  'fallbackAddresses',
  'driftPolicy',
  'deletionPolicy',
  'adopt',
] as const;
type DefaultedField = (typeof DEFAULTED_SPEC_FIELDS)[number];

/** A spec as a user may write it: every defaulted field may be left out. */
export type ApexAliasSpecInput = Omit<ApexAliasSpec, DefaultedField> &
  Partial<Omit<Pick<ApexAliasSpec, DefaultedField>, 'ttl'>> & { ttl?: Partial<ApexAliasSpec['ttl']> };

/** An ApexAlias with a defaulted spec. */
export interface ApexAlias {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: ApexAliasSpec;
  status?: ApexAliasStatus;
}
