export { ZoneFileBackend } from './backend.ts';
export type { ZoneFileBackendOptions } from './backend.ts';
export { parseZone, parseZoneFile, parseCharacterStrings, txtValue, ZoneFileError } from './parse.ts';
export type { ParsedZone, ParseOptions, ZoneRecord } from './parse.ts';
export { serializeZone, quoteTxt, sortRecords, HEADER_COMMENT } from './serialize.ts';
export type { SerializeOptions } from './serialize.ts';
export type { ZoneFileFs } from './fs.ts';
