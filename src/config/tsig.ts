/**
 * TSIG keys, read from the files the configuration points at. The secret is held in a private
 * field: it is not an enumerable property, and JSON, util.inspect and loggers show it redacted.
 * No error message here ever quotes the content of a key file.
 */
import { normalizeName } from '../dns/names.ts';
import { ConfigError } from './errors.ts';
import type { ReadFile } from './load.ts';
import { DEFAULT_TSIG_ALGORITHM, TSIG_ALGORITHMS } from './schema.ts';
import type { BackendConfig, TsigAlgorithm } from './schema.ts';

/** A TSIG key ready for signing. */
export class TsigKey {
  /** Key name, lower-case, without the trailing dot. */
  readonly name: string;
  readonly algorithm: TsigAlgorithm;
  readonly #secret: Buffer;

  constructor(name: string, algorithm: TsigAlgorithm, secret: Buffer) {
    this.name = name;
    this.algorithm = algorithm;
    this.#secret = secret;
  }

  /** The raw shared secret. */
  get secret(): Buffer {
    return this.#secret;
  }

  toJSON(): { name: string; algorithm: TsigAlgorithm; secret: string } {
    return { name: this.name, algorithm: this.algorithm, secret: '[redacted]' };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `TsigKey { name: '${this.name}', algorithm: '${this.algorithm}', secret: [redacted] }`;
  }
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes a base64 secret (whitespace and line breaks ignored); undefined when malformed or empty. */
export function decodeBase64Secret(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || !BASE64_RE.test(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}

function asAlgorithm(text: string): TsigAlgorithm | undefined {
  const lower = text.toLowerCase().replace(/\.$/, '');
  return (TSIG_ALGORITHMS as readonly string[]).includes(lower) ? (lower as TsigAlgorithm) : undefined;
}

/** One key statement of a BIND key file, as written (the secret still base64). */
export interface BindKey {
  name: string;
  /** The algorithm as written in the file, lower-case. */
  algorithm: string;
  secret: string;
}

type Token = { kind: 'word' | 'string' | '{' | '}' | ';'; text: string; line: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) throw new Error(`line ${line}: unterminated comment`);
      for (let k = i; k < end; k++) if (text[k] === '\n') line++;
      i = end + 2;
    } else if (c === '{' || c === '}' || c === ';') {
      tokens.push({ kind: c, text: c, line });
      i++;
    } else if (c === '"') {
      let value = '';
      const start = line;
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        if (text[i] === '\n') line++;
        value += text[i];
        i++;
      }
      if (i >= text.length) throw new Error(`line ${start}: unterminated string`);
      i++;
      tokens.push({ kind: 'string', text: value, line: start });
    } else {
      let value = '';
      while (i < text.length && !/[\s{};"]/.test(text[i]!)) value += text[i++];
      tokens.push({ kind: 'word', text: value, line });
    }
  }
  return tokens;
}

/**
 * Parses the `key` statements of a BIND configuration fragment (named.conf syntax: `key "name" {
 * algorithm hmac-sha256; secret "base64"; };`, with #, // and C comments). Other statements are
 * skipped. Throws an Error naming the line of the first syntax error, never the text around it.
 */
export function parseBindKeyFile(text: string): BindKey[] {
  const tokens = tokenize(text);
  const keys: BindKey[] = [];
  let i = 0;
  const expect = (kind: Token['kind'], what: string): Token => {
    const token = tokens[i];
    if (!token || token.kind !== kind) {
      throw new Error(`line ${token?.line ?? tokens.at(-1)?.line ?? 1}: expected ${what}`);
    }
    i++;
    return token;
  };
  /**
   * Skips one statement (up to its `;`), including any nested blocks. Text after the last
   * statement is let go: ddns-confgen ends its output with an uncommented `nsupdate -k <keyfile>`.
   */
  const skipStatement = () => {
    let depth = 0;
    while (i < tokens.length) {
      const token = tokens[i++]!;
      if (token.kind === '{') depth++;
      else if (token.kind === '}') depth--;
      else if (token.kind === ';' && depth === 0) return;
      if (depth < 0) throw new Error(`line ${token.line}: unbalanced "}"`);
    }
  };
  while (i < tokens.length) {
    const head = tokens[i]!;
    if (head.kind !== 'word' || head.text !== 'key') {
      skipStatement();
      continue;
    }
    i++;
    const nameToken = tokens[i];
    if (!nameToken || (nameToken.kind !== 'word' && nameToken.kind !== 'string')) {
      throw new Error(`line ${head.line}: expected the key name after "key"`);
    }
    i++;
    expect('{', '"{" after the key name');
    let algorithm: string | undefined;
    let secret: string | undefined;
    while (tokens[i] && tokens[i]!.kind !== '}') {
      const clause = expect('word', 'a clause such as algorithm or secret');
      if (clause.text === 'algorithm' || clause.text === 'secret') {
        const value = tokens[i];
        if (!value || (value.kind !== 'word' && value.kind !== 'string')) {
          throw new Error(`line ${clause.line}: expected a value after "${clause.text}"`);
        }
        i++;
        if (clause.text === 'algorithm') algorithm = value.text.toLowerCase();
        else secret = value.text;
        expect(';', `";" after ${clause.text}`);
      } else {
        i--;
        skipStatement();
      }
    }
    expect('}', `"}" to close key "${nameToken.text}"`);
    expect(';', `";" after the key block`);
    if (algorithm === undefined)
      throw new Error(`line ${head.line}: key "${nameToken.text}" has no algorithm`);
    if (secret === undefined) throw new Error(`line ${head.line}: key "${nameToken.text}" has no secret`);
    keys.push({ name: normalizeName(nameToken.text), algorithm, secret });
  }
  return keys;
}

async function readText(readFile: ReadFile, path: string, field: string): Promise<string> {
  try {
    const data = await readFile(path);
    return typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError('ERR_CONFIG_TSIG', `${field}: cannot read ${path}${code ? ` (${code})` : ''}`, {
      cause: err,
    });
  }
}

/**
 * Loads the TSIG key of an rfc2136 backend from its secretFile or keyFile. Returns undefined for a
 * backend that signs nothing (`insecureNoTsig`, or a backend type without TSIG). Throws
 * `ConfigError` (ERR_CONFIG_TSIG) when the file cannot be read or holds no usable key.
 */
export async function loadTsigKey(backend: BackendConfig, readFile: ReadFile): Promise<TsigKey | undefined> {
  if (backend.type !== 'rfc2136' || backend.tsig === undefined) return undefined;
  const tsig = backend.tsig;
  const where = `backend ${backend.name}: tsig`;
  if (tsig.secretFile !== undefined) {
    const secret = decodeBase64Secret(await readText(readFile, tsig.secretFile, `${where}.secretFile`));
    if (!secret) {
      throw new ConfigError(
        'ERR_CONFIG_TSIG',
        `${where}.secretFile: ${tsig.secretFile} does not hold a base64 secret`,
      );
    }
    if (tsig.keyName === undefined)
      throw new ConfigError('ERR_CONFIG_TSIG', `${where}.keyName: required with secretFile`);
    return new TsigKey(normalizeName(tsig.keyName), tsig.algorithm ?? DEFAULT_TSIG_ALGORITHM, secret);
  }
  if (tsig.keyFile === undefined) {
    throw new ConfigError('ERR_CONFIG_TSIG', `${where}: set exactly one of secretFile and keyFile`);
  }
  const file = tsig.keyFile;
  let keys: BindKey[];
  try {
    keys = parseBindKeyFile(await readText(readFile, file, `${where}.keyFile`));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(
      'ERR_CONFIG_TSIG',
      `${where}.keyFile: ${file} is not a BIND key file: ${(err as Error).message}`,
    );
  }
  const wanted = tsig.keyName === undefined ? undefined : normalizeName(tsig.keyName);
  const candidates = wanted === undefined ? keys : keys.filter((k) => k.name === wanted);
  if (candidates.length !== 1) {
    const names = keys.map((k) => k.name).join(', ') || 'none';
    const why =
      wanted !== undefined
        ? `has no key named ${wanted} (keys: ${names})`
        : keys.length === 0
          ? 'defines no key'
          : `defines several keys (${names}); set tsig.keyName`;
    throw new ConfigError('ERR_CONFIG_TSIG', `${where}.keyFile: ${file} ${why}`);
  }
  const key = candidates[0]!;
  const algorithm = asAlgorithm(key.algorithm);
  if (!algorithm) {
    throw new ConfigError(
      'ERR_CONFIG_TSIG',
      `${where}.keyFile: key ${key.name} uses algorithm ${key.algorithm}; supported: ${TSIG_ALGORITHMS.join(', ')}`,
    );
  }
  if (tsig.algorithm !== undefined && tsig.algorithm !== algorithm) {
    throw new ConfigError(
      'ERR_CONFIG_TSIG',
      `${where}.algorithm: ${tsig.algorithm} does not match ${algorithm} of key ${key.name} in ${file}`,
    );
  }
  const secret = decodeBase64Secret(key.secret);
  if (!secret)
    throw new ConfigError('ERR_CONFIG_TSIG', `${where}.keyFile: the secret of key ${key.name} is not base64`);
  return new TsigKey(key.name, algorithm, secret);
}

/**
 * The raw TSIG secret of an rfc2136 backend. Throws `ConfigError` (ERR_CONFIG_TSIG) when the
 * backend has no TSIG key or the key cannot be loaded. Prefer `loadTsigKey`, which also returns
 * the key name and algorithm (a key file carries both).
 */
export async function loadTsigSecret(backend: BackendConfig, readFile: ReadFile): Promise<Buffer> {
  const key = await loadTsigKey(backend, readFile);
  if (!key) throw new ConfigError('ERR_CONFIG_TSIG', `backend ${backend.name} has no TSIG key configured`);
  return key.secret;
}
