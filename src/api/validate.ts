/**
 * Defaulting and validation of ApexAlias objects, in the order the apiserver applies them:
 * defaults first, then the structural schema, then the CEL rules. Used by standalone mode, where no
 * apiserver stands between a manifest and the controller. Pure.
 */
import { Value } from '@sinclair/typebox/value';
import { ApexAliasSchema, ApexAliasSpecSchema } from './schema.ts';
import type { ApexAlias, ApexAliasSpec, ApexAliasSpecInput } from './schema.ts';
import { checkSpecRules } from './rules.ts';
import { describeListSetErrors, describeSchemaErrors, isPlainObject } from './schema-errors.ts';

/** Kubernetes' rule for custom resource names: an RFC 1123 subdomain. */
const SUBDOMAIN_RE = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
/** Kubernetes' rule for namespace names: an RFC 1123 label. */
const NAMESPACE_RE = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;

/**
 * Returns a copy of `spec` with every default filled in, as the apiserver would store it.
 * Never mutates its argument; fields of the wrong type are left for validation to report.
 */
export function applyDefaults(spec: ApexAliasSpecInput): ApexAliasSpec {
  return Value.Default(ApexAliasSpecSchema, structuredClone(spec)) as ApexAliasSpec;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; problems: string[] };

function metadataProblems(metadata: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const { name, namespace } = metadata;
  if (typeof name === 'string' && !(name.length <= 253 && SUBDOMAIN_RE.test(name))) {
    problems.push(
      "metadata.name: must be a lower-case RFC 1123 subdomain (a-z, 0-9, '-' and '.', at most 253 characters)",
    );
  }
  if (typeof namespace === 'string' && !(namespace.length <= 63 && NAMESPACE_RE.test(namespace))) {
    problems.push(
      "metadata.namespace: must be a lower-case RFC 1123 label (a-z, 0-9 and '-', at most 63 characters)",
    );
  }
  return problems;
}

/** The top-level spec fields a schema problem is about: `spec.ttl.min: …` → `ttl`. */
function malformedFields(problems: string[]): Set<string> {
  const fields = new Set<string>();
  for (const p of problems) {
    const m = /^spec(?:\.([A-Za-z_$][\w$-]*)|\[([^\]]+)\])/.exec(p);
    const field = m?.[1] ?? m?.[2];
    if (field !== undefined) fields.add(field);
  }
  return fields;
}

/**
 * Validates a parsed manifest as an ApexAlias: defaults, then the structural schema (with readable
 * field paths), then the predicates that mirror the CRD's CEL rules. On success returns the object
 * with its spec defaulted and any `status` dropped (only the controller writes status).
 *
 * Every problem comes out in one pass: a rule is skipped only when a field it reads is itself
 * malformed (or missing), so a misspelt field does not hide a bad zone or TTL behind it.
 */
export function validateApexAlias(obj: unknown): ValidationResult<ApexAlias> {
  if (!isPlainObject(obj)) {
    return { ok: false, problems: ['(root): must be an object with apiVersion, kind, metadata and spec'] };
  }
  let candidate: Record<string, unknown>;
  try {
    candidate = structuredClone(obj);
  } catch {
    return { ok: false, problems: ['(root): must be plain data (as parsed from YAML or JSON)'] };
  }
  if (isPlainObject(candidate.spec)) candidate.spec = applyDefaults(candidate.spec as ApexAliasSpecInput);

  const problems = describeSchemaErrors(ApexAliasSchema, candidate, '');
  const malformed = malformedFields(problems);
  if (isPlainObject(candidate.metadata)) problems.push(...metadataProblems(candidate.metadata));
  problems.push(...describeListSetErrors(ApexAliasSpecSchema, candidate.spec, 'spec'));
  if (isPlainObject(candidate.spec)) {
    problems.push(...checkSpecRules(candidate.spec as ApexAliasSpec, malformed));
  }
  if (problems.length > 0) return { ok: false, problems };

  delete candidate.status;
  return { ok: true, value: candidate as unknown as ApexAlias };
}
