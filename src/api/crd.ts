/**
 * The CustomResourceDefinition, built from the TypeBox schemas in schema.ts. Pure: the generator
 * script (scripts/gen-crd.ts) and the drift test both render it with `renderCrdYaml`.
 */
import type { TSchema } from '@sinclair/typebox';
import { stringify } from 'yaml';
import {
  ApexAliasSpecSchema,
  ApexAliasStatusSchema,
  CATEGORIES,
  GROUP,
  KIND,
  LIST_KIND,
  PLURAL,
  SHORT_NAMES,
  SINGULAR,
  VERSION,
} from './schema.ts';

/** An OpenAPI v3 schema node as a structural CRD schema allows it. */
export interface OpenApiSchema {
  description?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  items?: OpenApiSchema;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: { rule: string; message: string; fieldPath?: string }[];
}

/** Keys copied as they are, in this order (the order they appear in the YAML). */
const SCALAR_KEYS = [
  'description',
  'type',
  'format',
  'enum',
  'default',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
] as const;

const KUBERNETES_KEYS = [
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-validations',
] as const;

/** TypeBox and JSON Schema keys that have no place in a CRD and are dropped on purpose. */
const DROPPED_KEYS = new Set(['$id', '$schema', 'additionalProperties']);

const HANDLED_KEYS = new Set<string>([
  ...SCALAR_KEYS,
  ...KUBERNETES_KEYS,
  'items',
  'properties',
  'required',
  'anyOf',
  'const',
]);

/**
 * Translates one TypeBox schema into a structural OpenAPI v3 schema:
 * - symbols, `$id` and `additionalProperties: false` go (the apiserver prunes unknown fields;
 *   a CRD may not combine `additionalProperties` with `properties`);
 * - a union of string literals becomes `type: string` with `enum`, a literal a one-value enum;
 * - a field with a `default` is dropped from `required` (the apiserver fills it before validating);
 * - any other keyword throws, so nothing the apiserver would reject slips through.
 */
export function toStructuralSchema(schema: TSchema, path = '(root)'): OpenApiSchema {
  const src = schema as Record<string, unknown>;
  for (const key of Object.keys(src)) {
    if (!HANDLED_KEYS.has(key) && !DROPPED_KEYS.has(key)) {
      throw new Error(`buildCrd: unsupported schema keyword "${key}" at ${path}`);
    }
  }
  if (src.additionalProperties !== undefined && src.additionalProperties !== false) {
    throw new Error(`buildCrd: only additionalProperties: false is supported (at ${path})`);
  }

  let enumValues: unknown[] | undefined;
  let type = src.type as OpenApiSchema['type'];
  if (Array.isArray(src.anyOf)) {
    const members = src.anyOf as Record<string, unknown>[];
    if (!members.every((m) => typeof m.const === 'string')) {
      throw new Error(`buildCrd: only unions of string literals are supported (at ${path})`);
    }
    enumValues = members.map((m) => m.const);
    type = 'string';
  } else if (src.const !== undefined) {
    enumValues = [src.const];
  }
  if (type === undefined) throw new Error(`buildCrd: schema without a type at ${path}`);

  const out: Record<string, unknown> = {};
  for (const key of SCALAR_KEYS) {
    if (key === 'type') out.type = type;
    else if (key === 'enum') {
      if (enumValues) out.enum = enumValues;
    } else if (src[key] !== undefined) out[key] = structuredClone(src[key]);
  }
  if (src.items !== undefined) out.items = toStructuralSchema(src.items as TSchema, `${path}[]`);
  if (src.properties !== undefined) {
    const props = src.properties as Record<string, TSchema>;
    const properties: Record<string, OpenApiSchema> = {};
    for (const [name, sub] of Object.entries(props))
      properties[name] = toStructuralSchema(sub, `${path}.${name}`);
    out.properties = properties;
    const required = ((src.required as string[] | undefined) ?? []).filter(
      (name) => (props[name] as Record<string, unknown> | undefined)?.default === undefined,
    );
    if (required.length > 0) out.required = required;
  }
  for (const key of KUBERNETES_KEYS) {
    if (src[key] !== undefined) out[key] = structuredClone(src[key]);
  }
  return out as OpenApiSchema;
}

/** The printer columns of `kubectl get apex` (and, with -o wide, the priority-1 ones). */
export const PRINTER_COLUMNS = [
  {
    name: 'Target',
    type: 'string',
    jsonPath: '.spec.target',
    description: 'The hostname whose addresses are published.',
  },
  {
    name: 'Addresses',
    type: 'string',
    jsonPath: '.status.addressesSummary',
    description: 'The published addresses.',
  },
  { name: 'TTL', type: 'integer', jsonPath: '.status.ttl', description: 'The TTL of the published records.' },
  {
    name: 'Ready',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    description: 'Whether the records are published and match the spec.',
  },
  {
    name: 'Zone',
    type: 'string',
    jsonPath: '.spec.zone',
    description: 'The zone that holds the records.',
    priority: 1,
  },
  {
    name: 'Reason',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
    description: 'Why the alias is (not) ready.',
    priority: 1,
  },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

/** The CRD (apiextensions.k8s.io/v1) for ApexAlias, generated from the TypeBox schemas. */
export function buildCrd(): Record<string, unknown> {
  const openAPIV3Schema: OpenApiSchema = {
    description:
      'ApexAlias publishes the addresses of a target hostname as A/AAAA records at a name in a DNS ' +
      'zone, most often the zone apex, where a CNAME is not allowed. The controller resolves the ' +
      'target, follows its CNAME chain, and keeps the records current as the TTL runs out.',
    type: 'object',
    properties: {
      apiVersion: {
        description:
          'APIVersion defines the versioned schema of this representation of an object. Servers ' +
          'should convert recognized schemas to the latest internal value, and may reject ' +
          'unrecognized values. More info: ' +
          'https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
        type: 'string',
      },
      kind: {
        description:
          'Kind is a string value representing the REST resource this object represents. Servers ' +
          'may infer this from the endpoint the client submits requests to. Cannot be updated. In ' +
          'CamelCase. More info: ' +
          'https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
        type: 'string',
      },
      metadata: { type: 'object' },
      spec: toStructuralSchema(ApexAliasSpecSchema, 'spec'),
      status: toStructuralSchema(ApexAliasStatusSchema, 'status'),
    },
    required: ['spec'],
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${PLURAL}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'apexalias' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: LIST_KIND,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [...SHORT_NAMES],
        categories: [...CATEGORIES],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: structuredClone(PRINTER_COLUMNS),
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}

/** Where the generated CRD lives in the repository. */
export const CRD_PATH = `crds/${GROUP}_${PLURAL}.yaml`;

/** The CRD as the committed YAML file: a header, then the document, keys in generation order. */
export function renderCrdYaml(crd: Record<string, unknown> = buildCrd()): string {
  const header =
    '# generated by npm run gen:crd — do not edit.\n' +
    '# Source: src/api/schema.ts and src/api/rules.ts (TypeBox); regenerate with `node scripts/gen-crd.ts`.\n';
  // lineWidth 0: never fold long strings, so CEL rules and descriptions stay greppable and diffs small.
  return header + stringify(crd, { lineWidth: 0, minContentWidth: 0 });
}
