/**
 * Secrets other than TSIG keys (an HTTP API key), read from the files the configuration points
 * at. No error message here ever quotes the content of the file.
 */
import { ConfigError } from './errors.ts';
import type { ReadFile } from './load.ts';

/** Printable ASCII without spaces: what an HTTP header value may carry unquoted. */
const TOKEN_RE = /^[\x21-\x7e]+$/;

/**
 * Reads a one-line token (an API key) from `path`. Surrounding whitespace, such as the newline
 * that `echo` or `kubectl create secret --from-file` leaves, is dropped.
 * @param field where the path was configured, for messages ("backends[0].apiKeyFile").
 * @throws ConfigError `ERR_CONFIG_SECRET` when the file cannot be read, is empty, or holds more
 *   than one line of printable ASCII.
 */
export async function loadTokenFile(readFile: ReadFile, path: string, field: string): Promise<string> {
  let data: string | Uint8Array;
  try {
    data = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError('ERR_CONFIG_SECRET', `${field}: cannot read ${path}${code ? ` (${code})` : ''}`, {
      cause: err,
    });
  }
  const token = (typeof data === 'string' ? data : Buffer.from(data).toString('utf8')).trim();
  if (token === '') throw new ConfigError('ERR_CONFIG_SECRET', `${field}: ${path} is empty`);
  if (!TOKEN_RE.test(token)) {
    throw new ConfigError(
      'ERR_CONFIG_SECRET',
      `${field}: ${path} must hold the key alone, on one line of printable ASCII without spaces`,
    );
  }
  return token;
}
