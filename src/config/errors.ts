import { ApexAliasError } from '../errors.ts';

/**
 * Stable codes for configuration failures other than validation (which raises `ValidationError`):
 * - ERR_CONFIG_READ: the configuration file cannot be read.
 * - ERR_CONFIG_NO_BACKEND: no backend serves the zone (or the named backend does not serve it).
 * - ERR_CONFIG_UNKNOWN_BACKEND: spec.backend names a backend that is not configured.
 * - ERR_CONFIG_AMBIGUOUS_BACKEND: several backends serve the zone and spec.backend is not set.
 * - ERR_CONFIG_TSIG: the TSIG key cannot be read or is malformed.
 * - ERR_CONFIG_SECRET: another secret file (an API key) cannot be read or is malformed.
 * None of them is worth retrying before the configuration or the ApexAlias changes.
 */
export type ConfigErrorCode =
  | 'ERR_CONFIG_READ'
  | 'ERR_CONFIG_NO_BACKEND'
  | 'ERR_CONFIG_UNKNOWN_BACKEND'
  | 'ERR_CONFIG_AMBIGUOUS_BACKEND'
  | 'ERR_CONFIG_TSIG'
  | 'ERR_CONFIG_SECRET';

export class ConfigError extends ApexAliasError<ConfigErrorCode> {
  constructor(code: ConfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
