import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  TsigKey,
  loadTsigKey,
  loadTsigSecret,
  parseBindKeyFile,
  validateConfig,
} from '../../../src/config/index.ts';
import type { BackendConfig } from '../../../src/config/index.ts';

const SECRET = Buffer.from('0123456789abcdef0123456789abcdef');
const B64 = SECRET.toString('base64');

// What `ddns-confgen -k ctl-key -z example.com` prints (secret replaced).
const DDNS_CONFGEN = `# To activate this key, place the following in named.conf, and
# in a separate keyfile on the system or systems from which nsupdate
# will be run:
key "ctl-key" {
\talgorithm hmac-sha256;
\tsecret "${B64}";
};

# Then, in the "zone" definition statement for "example.com",
# place an "update-policy" statement like this one, adjusted as
# needed for your preferred permissions:
update-policy {
\t  grant ctl-key zonesub ANY;
};

# After the keyfile has been placed, the following command will
# execute nsupdate using this key:
nsupdate -k <keyfile>
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apexalias-tsig-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function backendWith(
  tsig: Record<string, unknown>,
  files: Record<string, string>,
): Promise<BackendConfig> {
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const result = validateConfig(
    { backends: [{ name: 'primary', type: 'rfc2136', zones: ['example.com'], server: '127.0.0.1', tsig }] },
    { baseDir: dir },
  );
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.value.backends[0]!;
}

describe('loadTsigKey', () => {
  it('reads a base64 secretFile (a mounted Secret, trailing newline and all)', async () => {
    const backend = await backendWith({ keyName: 'ctl-key', secretFile: 'secret' }, { secret: `${B64}\n` });
    const key = await loadTsigKey(backend, readFile);
    expect(key).toBeInstanceOf(TsigKey);
    expect(key?.name).toBe('ctl-key');
    expect(key?.algorithm).toBe('hmac-sha256');
    expect(key?.secret.equals(SECRET)).toBe(true);
    expect((await loadTsigSecret(backend, readFile)).equals(SECRET)).toBe(true);
  });

  it('reads a BIND key file as ddns-confgen writes it', async () => {
    const backend = await backendWith({ keyFile: 'ddns.conf' }, { 'ddns.conf': DDNS_CONFGEN });
    const key = await loadTsigKey(backend, readFile);
    expect(key).toMatchObject({ name: 'ctl-key', algorithm: 'hmac-sha256' });
    expect(key?.secret.equals(SECRET)).toBe(true);
  });

  it('picks one key out of several by keyName, and wants keyName then', async () => {
    const text = `key a { algorithm HMAC-SHA512; secret "${B64}"; };\n/* second */ key "b." { algorithm hmac-sha1; secret "${B64}"; };\n`;
    const chosen = await backendWith({ keyName: 'B', keyFile: 'two.conf' }, { 'two.conf': text });
    expect(await loadTsigKey(chosen, readFile)).toMatchObject({ name: 'b', algorithm: 'hmac-sha1' });
    const unnamed = await backendWith({ keyFile: 'two.conf' }, {});
    await expect(loadTsigKey(unnamed, readFile)).rejects.toThrow(/several keys \(a, b\); set tsig.keyName/);
    const missing = await backendWith({ keyName: 'c', keyFile: 'two.conf' }, {});
    await expect(loadTsigKey(missing, readFile)).rejects.toThrow(/no key named c \(keys: a, b\)/);
  });

  it.each([
    [{ keyName: 'k', secretFile: 'nope' }, {}, /secretFile: cannot read .*nope \(ENOENT\)/],
    [{ keyName: 'k', secretFile: 'junk' }, { junk: 'not base64!' }, /does not hold a base64 secret/],
    [{ keyName: 'k', secretFile: 'empty' }, { empty: '\n' }, /does not hold a base64 secret/],
    [{ keyFile: 'none.conf' }, { 'none.conf': '# nothing\n' }, /defines no key/],
    [
      { keyFile: 'md5.conf' },
      { 'md5.conf': `key k { algorithm hmac-md5; secret "${B64}"; };` },
      /uses algorithm hmac-md5; supported/,
    ],
    [
      { keyFile: 'sha1.conf', algorithm: 'hmac-sha256' },
      { 'sha1.conf': `key k { algorithm hmac-sha1; secret "${B64}"; };` },
      /hmac-sha256 does not match hmac-sha1/,
    ],
    [
      { keyFile: 'open.conf' },
      { 'open.conf': `key k { algorithm hmac-sha1; secret "${B64}";` },
      /not a BIND key file: line 1: expected/,
    ],
    [{ keyFile: 'nosecret.conf' }, { 'nosecret.conf': 'key k { algorithm hmac-sha1; };' }, /has no secret/],
    [
      { keyFile: 'badsecret.conf' },
      { 'badsecret.conf': 'key k { algorithm hmac-sha1; secret "%%%"; };' },
      /is not base64/,
    ],
  ])('refuses %j', async (tsig, files, message) => {
    const backend = await backendWith(tsig, files as Record<string, string>);
    const err = await loadTsigKey(backend, readFile).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ code: 'ERR_CONFIG_TSIG' });
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain(B64);
  });

  it('returns nothing for an unsigned or zonefile backend, and loadTsigSecret refuses it', async () => {
    const result = validateConfig({
      backends: [
        { name: 'p', type: 'rfc2136', zones: ['a.test'], server: '127.0.0.1', insecureNoTsig: true },
        { name: 'z', type: 'zonefile', zones: ['*'] },
      ],
    });
    if (!result.ok) throw new Error(result.problems.join('\n'));
    for (const backend of result.value.backends) {
      expect(await loadTsigKey(backend, readFile)).toBeUndefined();
      await expect(loadTsigSecret(backend, readFile)).rejects.toMatchObject({ code: 'ERR_CONFIG_TSIG' });
    }
  });
});

describe('TsigKey never shows its secret', () => {
  const key = new TsigKey('ctl-key', 'hmac-sha256', SECRET);
  it.each([
    ['JSON', () => JSON.stringify(key)],
    ['inspect', () => inspect(key, { showHidden: true, depth: 5 })],
    ['template', () => `${JSON.stringify({ key })}`],
    ['keys', () => Object.keys(key).join(',') + Object.values(key).join(',')],
  ])('in %s', (_name, render) => {
    const text = render();
    expect(text).not.toContain(B64);
    expect(text).not.toContain(SECRET.toString('hex'));
    expect(text).not.toContain(SECRET.toString('latin1'));
  });
});

describe('parseBindKeyFile', () => {
  it('handles quoted and bare names, comments of three kinds and other statements', () => {
    const text = `# hash\n// slashes\n/* block\n comment */\noptions { directory "/x"; };\nkey bare-name { algorithm hmac-sha384; secret "${B64}"; };\nkey "quoted.example." {\n algorithm "hmac-sha512";\n secret "${B64}";\n};\n`;
    expect(parseBindKeyFile(text)).toEqual([
      { name: 'bare-name', algorithm: 'hmac-sha384', secret: B64 },
      { name: 'quoted.example', algorithm: 'hmac-sha512', secret: B64 },
    ]);
  });

  it('names the line of a syntax error', () => {
    expect(() => parseBindKeyFile('key a {\n algorithm hmac-sha1\n secret "x"; };')).toThrow(
      /line 3: expected ";" after algorithm/,
    );
  });
});
