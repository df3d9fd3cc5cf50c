/**
 * The ApexAlias v1alpha1 API: schema, types, defaults, validation, names and the CRD. Pure.
 */
export * from './schema.ts';
export { SPEC_RULES, celValidations, checkSpecRules } from './rules.ts';
export type { SpecRule } from './rules.ts';
export { applyDefaults, validateApexAlias } from './validate.ts';
export type { ValidationResult } from './validate.ts';
export { ownerName, targetName, zoneName } from './names.ts';
export { CRD_PATH, PRINTER_COLUMNS, buildCrd, renderCrdYaml, toStructuralSchema } from './crd.ts';
export type { OpenApiSchema } from './crd.ts';
export {
  absoluteName,
  canonicalIp,
  formatIp,
  isHostname,
  isIP,
  isLabel,
  isZoneName,
  parseIp,
} from './dnsname.ts';
export type { ParsedIp } from './dnsname.ts';
