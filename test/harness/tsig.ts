import crypto from 'node:crypto';
import fs from 'node:fs/promises';

/** TSIG algorithms as BIND, Knot and nsupdate spell them. */
export type TsigAlgorithm =
  'hmac-md5' | 'hmac-sha1' | 'hmac-sha224' | 'hmac-sha256' | 'hmac-sha384' | 'hmac-sha512';

/** One TSIG key: its name (a domain name), algorithm and base64 secret. */
export interface TsigKey {
  name: string;
  algorithm: TsigAlgorithm;
  secret: string;
}

/** A fresh random TSIG secret, base64 encoded (32 bytes = the HMAC-SHA256 block-size sweet spot). */
export function generateTsigSecret(bytes = 32): string {
  return crypto.randomBytes(bytes).toString('base64');
}

/** A new key with a random secret. Defaults to the harness's usual `ctl-key` / hmac-sha256. */
export function createTsigKey(name = 'ctl-key', algorithm: TsigAlgorithm = 'hmac-sha256'): TsigKey {
  return { name, algorithm, secret: generateTsigSecret() };
}

/** The BIND `key` clause for one key: `key "name" { algorithm ...; secret "..."; };`. */
export function bindKeyClause(key: TsigKey): string {
  return `key "${key.name}" {\n\talgorithm ${key.algorithm};\n\tsecret "${key.secret}";\n};\n`;
}

/** Writes BIND `key` clauses (the format of `tsig-keygen`) for the given keys to `file`. */
export async function writeBindKeyFile(file: string, keys: TsigKey | TsigKey[]): Promise<void> {
  const list = Array.isArray(keys) ? keys : [keys];
  await fs.writeFile(file, list.map(bindKeyClause).join(''), { mode: 0o600 });
}

/** The `-y` argument of nsupdate and dig: `algorithm:name:secret`. */
export function tsigKeyArg(key: TsigKey): string {
  return `${key.algorithm}:${key.name}:${key.secret}`;
}
