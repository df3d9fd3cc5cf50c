/**
 * The controller configuration: schema, loading, TSIG keys, backend selection and tenancy.
 */
export * from './schema.ts';
export { ConfigError } from './errors.ts';
export type { ConfigErrorCode } from './errors.ts';
export { defaultConfig, loadConfig, validateConfig } from './load.ts';
export type { ReadFile } from './load.ts';
export { TsigKey, decodeBase64Secret, loadTsigKey, loadTsigSecret, parseBindKeyFile } from './tsig.ts';
export type { BindKey } from './tsig.ts';
export { backendForZone, zoneAllowed } from './select.ts';
export { parseHostPort, readResolvConf } from './resolvconf.ts';
export type { HostPort } from './resolvconf.ts';
