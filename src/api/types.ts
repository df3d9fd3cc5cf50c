/**
 * The ApexAlias types on their own, for modules that need no runtime code from src/api.
 * They are derived from the TypeBox schemas in schema.ts (the one source).
 */
export type {
  AddressFamily,
  ApexAlias,
  ApexAliasSpec,
  ApexAliasSpecInput,
  ApexAliasStatus,
  Condition,
  DeletionPolicy,
  DriftPolicy,
  ObjectMeta,
  OnTargetMissing,
} from './schema.ts';
export type { ValidationResult } from './validate.ts';
