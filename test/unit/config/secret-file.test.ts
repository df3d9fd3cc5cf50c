import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors.ts';
import { loadTokenFile } from '../../../src/config/secret-file.ts';

const fileOf = (content: string | Uint8Array) => async (): Promise<string | Uint8Array> => content;

describe('loadTokenFile', () => {
  it('returns the key without the surrounding whitespace a file usually ends with', async () => {
    expect(await loadTokenFile(fileOf('s3cr3t-Key_1\n'), '/k', 'f')).toBe('s3cr3t-Key_1');
    expect(await loadTokenFile(fileOf(Buffer.from('  abc.DEF~\r\n')), '/k', 'f')).toBe('abc.DEF~');
  });

  it.each([
    ['', 'f: /k is empty'],
    ['\n \n', 'f: /k is empty'],
    ['two\nlines', 'f: /k must hold the key alone, on one line of printable ASCII without spaces'],
    ['with space', 'f: /k must hold the key alone, on one line of printable ASCII without spaces'],
    ['ünïcode', 'f: /k must hold the key alone, on one line of printable ASCII without spaces'],
  ])('refuses %j without quoting it', async (content, message) => {
    const err = await loadTokenFile(fileOf(content), '/k', 'f').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('ERR_CONFIG_SECRET');
    expect((err as ConfigError).message).toBe(message);
  });

  it('says which file could not be read, and why', async () => {
    const missing = Object.assign(new Error('gone'), { code: 'ENOENT' });
    const err = await loadTokenFile(
      async () => {
        throw missing;
      },
      '/run/key',
      'backend pdns: apiKeyFile',
    ).catch((e: unknown) => e);
    expect((err as ConfigError).message).toBe('backend pdns: apiKeyFile: cannot read /run/key (ENOENT)');
  });
});
