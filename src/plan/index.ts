export * from './types.ts';
export * from './ttl.ts';
export * from './addresses.ts';
export * from './ownership.ts';
export * from './desired.ts';
export * from './diff.ts';
export * from './delete.ts';
