/**
 * Turns TypeBox validation errors into short messages with Kubernetes-style field paths
 * ("spec.ttl.min: must be ≥ 1", "backends[0].zones: must not be empty"). Shared by the API and
 * the configuration. Pure.
 */
import type { TSchema } from '@sinclair/typebox';
import { ValueErrorType } from '@sinclair/typebox/errors';
import type { ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** Appends one key or index to a field path: `spec` + `ttl` → `spec.ttl`, + 0 → `spec.ttl[0]`. */
export function joinPath(prefix: string, key: string | number): string {
  if (typeof key === 'number') return `${prefix}[${key}]`;
  if (!IDENT.test(key)) return `${prefix}[${key}]`;
  return prefix ? `${prefix}.${key}` : key;
}

/** Converts a JSON pointer from TypeBox ("/ttl/min", "/fallbackAddresses/0") to a field path. */
export function pointerToPath(prefix: string, pointer: string): string {
  if (pointer === '') return prefix;
  let path = prefix;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path = joinPath(path, /^(0|[1-9][0-9]*)$/.test(key) ? Number(key) : key);
  }
  return path;
}

function describeValue(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function literalChoices(schema: TSchema): string[] | undefined {
  const anyOf = (schema as { anyOf?: TSchema[] }).anyOf;
  if (!anyOf || !anyOf.every((s) => 'const' in s)) return undefined;
  return anyOf.map((s) => JSON.stringify((s as Record<string, unknown>).const));
}

/**
 * One message for one TypeBox error. Values are echoed only where the schema limits them to a
 * known set (enums, literals), so that a secret mistyped into a wrong field never reaches a log.
 */
function describeError(error: ValueError): string {
  const s = error.schema as Record<string, unknown>;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.ObjectAdditionalProperties:
      return 'unknown field';
    case ValueErrorType.String:
      return 'must be a string';
    case ValueErrorType.Integer:
      return 'must be an integer';
    case ValueErrorType.Number:
      return 'must be a number';
    case ValueErrorType.Boolean:
      return 'must be true or false';
    case ValueErrorType.Array:
      return 'must be a list';
    case ValueErrorType.Object:
      return 'must be an object (a mapping of fields)';
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `must be ≥ ${String(s.minimum)}`;
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `must be ≤ ${String(s.maximum)}`;
    case ValueErrorType.IntegerExclusiveMinimum:
    case ValueErrorType.NumberExclusiveMinimum:
      return `must be > ${String(s.exclusiveMinimum)}`;
    case ValueErrorType.IntegerExclusiveMaximum:
    case ValueErrorType.NumberExclusiveMaximum:
      return `must be < ${String(s.exclusiveMaximum)}`;
    case ValueErrorType.StringMinLength:
      return s.minLength === 1 ? 'must not be empty' : `must be at least ${String(s.minLength)} characters`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${String(s.maxLength)} characters`;
    case ValueErrorType.StringPattern:
      return `must match the pattern ${String(s.pattern)}`;
    case ValueErrorType.ArrayMinItems:
      return s.minItems === 1 ? 'must not be empty' : `must have at least ${String(s.minItems)} entries`;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${String(s.maxItems)} entries`;
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(s.const)}`;
    case ValueErrorType.Union: {
      const choices = literalChoices(error.schema);
      if (choices)
        return `unsupported value ${describeValue(error.value)}: must be one of ${choices.join(', ')}`;
      return 'does not match any of the allowed shapes';
    }
    default:
      return error.message;
  }
}

/**
 * Checks `value` against `schema` and returns one message per failing field, in schema order,
 * each prefixed with its path under `prefix`.
 */
export function describeSchemaErrors(schema: TSchema, value: unknown, prefix: string): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const error of Value.Errors(schema, value)) {
    const path = pointerToPath(prefix, error.path);
    // TypeBox reports a missing field twice ("required", then "expected string"): keep the first.
    if (seen.has(path)) continue;
    seen.add(path);
    problems.push(`${path || '(root)'}: ${describeError(error)}`);
  }
  return problems;
}

/**
 * The apiserver's check for `x-kubernetes-list-type: set`: no value may appear twice. JSON Schema's
 * `uniqueItems` is not allowed in a CRD, so this walks the schema for the Kubernetes marker.
 */
export function describeListSetErrors(schema: TSchema, value: unknown, prefix: string): string[] {
  const s = schema as Record<string, unknown>;
  const problems: string[] = [];
  if (Array.isArray(value)) {
    if (s['x-kubernetes-list-type'] === 'set') {
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const key = JSON.stringify(item);
        if (seen.has(key)) problems.push(`${joinPath(prefix, i)}: duplicate value ${describeValue(item)}`);
        seen.add(key);
      });
    }
    const items = s.items as TSchema | undefined;
    if (items)
      value.forEach((item, i) => problems.push(...describeListSetErrors(items, item, joinPath(prefix, i))));
    return problems;
  }
  const properties = s.properties as Record<string, TSchema> | undefined;
  if (properties && value !== null && typeof value === 'object') {
    for (const [key, sub] of Object.entries(properties)) {
      const child = (value as Record<string, unknown>)[key];
      if (child !== undefined) problems.push(...describeListSetErrors(sub, child, joinPath(prefix, key)));
    }
  }
  return problems;
}

/** True for a plain object (a YAML mapping), not an array or null. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
