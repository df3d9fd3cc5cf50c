import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, defaultConfig, loadConfig, validateConfig } from '../../../src/config/index.ts';
import type { Config } from '../../../src/config/index.ts';
import { ValidationError } from '../../../src/errors.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apexalias-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const FULL = `
ownerId: apexalias
resolver:
  servers: []
  timeoutMs: 2000
  attempts: 3
  cacheMaxEntries: 100000
refresh: { minSeconds: 30, maxSeconds: 86400, jitter: 0.1 }
backends:
  - name: primary
    type: rfc2136
    zones: [example.com]
    server: 127.0.0.1:53
    tcp: true
    timeoutMs: 5000
    tsig: { keyName: ctl-key, algorithm: hmac-sha256, secretFile: /etc/apexalias/tsig/secret }
  - name: files
    type: zonefile
    zones: ["*"]
    directory: ./zones
    nameservers: [ns1.example.com]
allow:
  - namespaces: ["team-a"]
    zones: ["example.com", "*.example.org"]
`;

/** The problems validateConfig reports for `obj`. */
function problemsOf(obj: unknown): string[] {
  const result = validateConfig(obj);
  return result.ok ? [] : result.problems;
}

const pdns = {
  name: 'pdns',
  type: 'powerdns',
  zones: ['example.com'],
  url: 'http://192.0.2.53:8081',
  apiKeyFile: 'pdns/api-key',
};

function without<T extends object>(obj: T, key: keyof T): Partial<T> {
  const copy: Partial<T> = { ...obj };
  delete copy[key];
  return copy;
}

const rfc = {
  name: 'primary',
  type: 'rfc2136',
  zones: ['example.com'],
  server: '127.0.0.1',
  insecureNoTsig: true,
};

describe('loadConfig', () => {
  it('returns the built-in default without a path: one zonefile backend for every zone', async () => {
    const config = await loadConfig(undefined, { readFile });
    expect(config).toEqual(defaultConfig());
    expect(config).toEqual({
      ownerId: 'apexalias',
      resolver: {
        servers: [],
        timeoutMs: 2000,
        attempts: 3,
        cacheMaxEntries: 100000,
        dnssec: 'off',
        trustedValidators: [],
      },
      refresh: { minSeconds: 30, maxSeconds: 86400, jitter: 0.1 },
      backends: [{ name: 'local', type: 'zonefile', zones: ['*'], directory: './zones', nameservers: [] }],
    });
  });

  it('loads the documented example, resolving relative paths against the config file', async () => {
    const path = await write('full.yaml', FULL);
    const config = await loadConfig(path, { readFile });
    expect(config.backends[0]).toEqual({
      name: 'primary',
      type: 'rfc2136',
      zones: ['example.com'],
      server: '127.0.0.1:53',
      tcp: true,
      timeoutMs: 5000,
      tsig: { keyName: 'ctl-key', algorithm: 'hmac-sha256', secretFile: '/etc/apexalias/tsig/secret' },
      insecureNoTsig: false,
    });
    expect(config.backends[1]).toEqual({
      name: 'files',
      type: 'zonefile',
      zones: ['*'],
      directory: join(dir, 'zones'),
      nameservers: ['ns1.example.com'],
    });
    expect(config.allow).toEqual([{ namespaces: ['team-a'], zones: ['example.com', '*.example.org'] }]);
  });

  it('fills defaults for everything left out', async () => {
    const path = await write(
      'small.yaml',
      'backends: [{name: p, type: rfc2136, zones: [Example.COM.], server: ns.example.com, tsig: {keyName: k, keyFile: keys/k.conf}}]\n',
    );
    const config: Config = await loadConfig(path, { readFile });
    expect(config.ownerId).toBe('apexalias');
    expect(config.resolver.attempts).toBe(3);
    expect(config.refresh.jitter).toBe(0.1);
    expect(config.allow).toBeUndefined();
    expect(config.backends[0]).toMatchObject({
      zones: ['example.com'],
      tcp: true,
      timeoutMs: 5000,
      insecureNoTsig: false,
      tsig: { keyName: 'k', keyFile: join(dir, 'keys/k.conf') },
    });
    expect(config.backends[0]?.type === 'rfc2136' && config.backends[0].tsig?.algorithm).toBeUndefined();
  });

  it('throws ERR_CONFIG_READ for a missing file', async () => {
    const err = await loadConfig(join(dir, 'nope.yaml'), { readFile }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ code: 'ERR_CONFIG_READ' });
    expect((err as Error).message).toContain('ENOENT');
  });

  it('reports invalid YAML by line without echoing the file', async () => {
    const path = await write('bad.yaml', 'backends:\n  - name: p\n    tsig: {secret: "hunter2"\n');
    const err = await loadConfig(path, { readFile }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).problems[0]).toMatch(/^line \d+, column \d+: /);
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('rejects duplicate keys and several documents', async () => {
    const dup = await write('dup.yaml', 'ownerId: a\nownerId: b\n');
    await expect(loadConfig(dup, { readFile })).rejects.toThrow(/unique/);
    const multi = await write('multi.yaml', 'ownerId: a\n---\nownerId: b\n');
    await expect(loadConfig(multi, { readFile })).rejects.toThrow(/one YAML document/);
  });

  it('wants backends in a config file', async () => {
    const path = await write('empty.yaml', '');
    const err = (await loadConfig(path, { readFile }).catch((e: unknown) => e)) as ValidationError;
    expect(err.code).toBe('ERR_VALIDATION');
    expect(err.problems).toEqual([
      'backends: is required (the built-in zonefile backend is used only when no configuration file is given)',
    ]);
  });

  it('reads through any readFile that returns text', async () => {
    const config = await loadConfig('/virtual/config.yaml', {
      readFile: async () => 'backends: [{name: z, type: zonefile, zones: [a.test], directory: zones}]',
    });
    expect(config.backends[0]).toMatchObject({ directory: '/virtual/zones' });
  });

  it('keeps absolute paths as they are', async () => {
    const path = await write(
      'abs.yaml',
      'backends: [{name: z, type: zonefile, zones: ["*"], directory: /var/lib/zones}]',
    );
    expect((await loadConfig(path, { readFile })).backends[0]).toMatchObject({ directory: '/var/lib/zones' });
  });
});

describe('validateConfig', () => {
  it.each([
    [
      { backends: [{ ...rfc, insecureNoTsig: false }] },
      'backends[0].tsig: required unless insecureNoTsig is true',
    ],
    [
      { backends: [{ ...rfc, insecureNoTsig: undefined }] },
      'backends[0].tsig: required unless insecureNoTsig is true',
    ],
    [
      { backends: [{ ...rfc, tsig: { keyName: 'k', secretFile: '/s' } }] },
      'backends[0].insecureNoTsig: must not be true while tsig is set',
    ],
    [
      { backends: [{ ...rfc, insecureNoTsig: false, tsig: { keyName: 'k' } }] },
      'backends[0].tsig: set exactly one of secretFile and keyFile',
    ],
    [
      {
        backends: [
          { ...rfc, insecureNoTsig: false, tsig: { keyName: 'k', secretFile: '/a', keyFile: '/b' } },
        ],
      },
      'backends[0].tsig: set exactly one of secretFile and keyFile',
    ],
    [
      { backends: [{ ...rfc, insecureNoTsig: false, tsig: { secretFile: '/a' } }] },
      'backends[0].tsig.keyName: required with secretFile',
    ],
    [
      {
        backends: [
          { ...rfc, insecureNoTsig: false, tsig: { keyName: 'k', algorithm: 'hmac-md5', secretFile: '/a' } },
        ],
      },
      'backends[0].tsig.algorithm: unsupported value "hmac-md5": must be one of "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"',
    ],
    [
      { backends: [{ ...rfc, zones: ['*'] }] },
      'backends[0].zones[0]: "*" is only allowed for zonefile backends',
    ],
    [{ backends: [{ ...rfc, zones: [] }] }, 'backends[0].zones: must not be empty'],
    [{ backends: [{ ...rfc, zones: ['bad_zone.com'] }] }, 'backends[0].zones[0]: must be a DNS zone name'],
    [{ backends: [{ ...rfc, zones: ['a.com', 'A.com.'] }] }, 'backends[0].zones[1]: duplicate zone "a.com"'],
    [
      { backends: [{ ...rfc, server: '127.0.0.1:99999' }] },
      'backends[0].server: must be "host", "host:port"',
    ],
    [{ backends: [{ ...rfc, server: 'bad host' }] }, 'backends[0].server: must be'],
    [{ backends: [{ ...rfc, timeoutMs: 10 }] }, 'backends[0].timeoutMs: must be ≥ 100'],
    [{ backends: [{ ...rfc, name: 'Primary' }] }, 'backends[0].name: must be a lower-case DNS label'],
    [
      { backends: [{ ...rfc, type: 'bind' }] },
      'backends[0].type: unsupported value "bind": must be one of "rfc2136", "zonefile", "route53", "powerdns"',
    ],
    [{ backends: [without(pdns, 'url')] }, 'backends[0].url: is required'],
    [{ backends: [without(pdns, 'apiKeyFile')] }, 'backends[0].apiKeyFile: is required'],
    [
      { backends: [{ ...pdns, url: '192.0.2.53:8081' }] },
      'backends[0].url: "192.0.2.53:8081" is not a URL: write it like http://192.0.2.53:8081',
    ],
    [{ backends: [{ ...pdns, url: 'pdns:8081' }] }, 'backends[0].url: must start with http:// or https://'],
    [{ backends: [{ ...pdns, url: 'http://' }] }, 'backends[0].url: "http://" is not a URL'],
    [
      { backends: [{ ...pdns, url: 'http://admin:pw@192.0.2.53:8081' }] },
      'backends[0].url: must not hold credentials; the API key comes from apiKeyFile',
    ],
    [
      { backends: [{ ...pdns, url: 'http://192.0.2.53:8081/?api-key=x' }] },
      'backends[0].url: must not have a query',
    ],
    [
      { backends: [{ ...pdns, url: 'http://192.0.2.53:8081/api/v1' }] },
      'backends[0].url: leave out /api/v1: it is appended',
    ],
    [
      { backends: [{ ...pdns, zones: ['*'] }] },
      'backends[0].zones[0]: "*" is only allowed for zonefile backends',
    ],
    [{ backends: [{ ...pdns, maxRequestBytes: 100 }] }, 'backends[0].maxRequestBytes: must be ≥ 10000'],
    [{ backends: [{ ...pdns, filteredReadMaxNames: -1 }] }, 'backends[0].filteredReadMaxNames: must be ≥ 0'],
    [{ backends: [{ ...pdns, serverId: '' }] }, 'backends[0].serverId: must not be empty'],
    [{ backends: [{ ...pdns, tsig: {} }] }, 'backends[0].tsig: unknown field'],
    [{ backends: [{ name: 'x', zones: ['a.test'] }] }, 'backends[0].type: is required'],
    [{ backends: [{ ...rfc, port: 53 }] }, 'backends[0].port: unknown field'],
    [{ backends: ['primary'] }, 'backends[0]: must be an object'],
    [{ backends: [] }, 'backends: must not be empty'],
    [{ backends: [rfc, rfc] }, 'backends[1].name: duplicate backend name "primary" (also backends[0])'],
    [
      { backends: [{ name: 'z', type: 'zonefile', zones: ['a.test'], nameservers: ['ns1'] }] },
      'backends[0].nameservers[0]: must be a fully qualified hostname',
    ],
    [{ backends: [rfc], ownerId: 'Team A' }, 'ownerId: must be lower-case'],
    [{ backends: [rfc], ownerId: 'a,b=c' }, 'ownerId: must be lower-case'],
    [
      { backends: [rfc], resolver: { servers: ['dns.google'] } },
      'resolver.servers[0]: must be an IP address',
    ],
    [{ backends: [rfc], resolver: { attempts: 0 } }, 'resolver.attempts: must be ≥ 1'],
    [
      { backends: [rfc], resolver: { dnssec: 'strict' } },
      'resolver.dnssec: unsupported value "strict": must be one of "off", "prefer", "require"',
    ],
    [
      { backends: [rfc], resolver: { trustedValidators: ['10.0.0.53:53'] } },
      'resolver.trustedValidators[0]: must be an IP address, without a port',
    ],
    [
      { backends: [rfc], resolver: { dnssec: 'require', servers: ['127.0.0.1:5353', '10.0.0.53'] } },
      'resolver.servers: 10.0.0.53 is neither loopback nor in resolver.trustedValidators',
    ],
    [{ backends: [rfc], resolver: { timeoutMs: 'fast' } }, 'resolver.timeoutMs: must be an integer'],
    [
      { backends: [rfc], refresh: { minSeconds: 600, maxSeconds: 60 } },
      'refresh.minSeconds: must be less than or equal to refresh.maxSeconds',
    ],
    [{ backends: [rfc], refresh: { jitter: 0.9 } }, 'refresh.jitter: must be ≤ 0.5'],
    [
      { backends: [rfc], allow: [{ namespaces: [], zones: ['a.test'] }] },
      'allow[0].namespaces: must not be empty',
    ],
    [
      { backends: [rfc], allow: [{ namespaces: ['Team_A'], zones: ['a.test'] }] },
      'allow[0].namespaces[0]: must be a namespace name or "*"',
    ],
    [
      { backends: [rfc], allow: [{ namespaces: ['a'], zones: ['*example.org'] }] },
      'allow[0].zones[0]: must be a zone name',
    ],
    [{ backends: [rfc], owner: 'x' }, 'owner: unknown field'],
    ['backends: []', '(root): must be a mapping of fields'],
  ])('%j → %s', (obj, message) => {
    const problems = problemsOf(obj);
    expect(
      problems.some((p) => p.startsWith(message)),
      problems.join('\n'),
    ).toBe(true);
  });

  it('refuses an inline TSIG secret without repeating it', () => {
    const problems = problemsOf({
      backends: [{ ...rfc, insecureNoTsig: false, tsig: { keyName: 'k', secret: 'c2VjcmV0LXZhbHVl' } }],
    });
    expect(problems[0]).toMatch(/^backends\[0\]\.tsig\.secret: inline secrets are not accepted/);
    expect(problems.join('\n')).not.toContain('c2VjcmV0LXZhbHVl');
  });

  it('refuses an inline API key without repeating it', () => {
    const problems = problemsOf({ backends: [{ ...pdns, apiKey: 'very-secret-key' }] });
    expect(problems).toEqual([
      'backends[0].apiKey: inline secrets are not accepted; mount the API key as a file and set apiKeyFile',
    ]);
  });

  it('fills the powerdns defaults and resolves apiKeyFile against the config folder', () => {
    const result = validateConfig(
      { backends: [{ ...pdns, url: 'https://pdns.example.com/proxy/', zones: ['Example.COM.'] }] },
      { baseDir: '/etc/apexalias' },
    );
    expect(result.ok ? result.value.backends : result.problems).toEqual([
      {
        name: 'pdns',
        type: 'powerdns',
        zones: ['example.com'],
        url: 'https://pdns.example.com/proxy',
        serverId: 'localhost',
        apiKeyFile: '/etc/apexalias/pdns/api-key',
        timeoutMs: 10000,
        filteredReadMaxNames: 50,
        maxRequestBytes: 2000000,
      },
    ]);
  });

  it('reports every broken backend at once', () => {
    const problems = problemsOf({
      backends: [
        { ...rfc, zones: ['*'] },
        { ...rfc, name: 'b', server: '' },
      ],
      resolver: 5,
    });
    expect(problems).toContain('resolver: must be an object (a mapping of fields)');
    expect(problems.some((p) => p.startsWith('backends[0].zones[0]'))).toBe(true);
    expect(problems.some((p) => p.startsWith('backends[1].server'))).toBe(true);
  });

  it('fills algorithm hmac-sha256 for a secretFile and accepts the server forms', () => {
    for (const server of [
      '192.0.2.1',
      '192.0.2.1:5353',
      '[2001:db8::1]:53',
      '2001:db8::1',
      'bind.dns.svc',
      'primary:53',
    ]) {
      const result = validateConfig({
        backends: [{ ...rfc, server, insecureNoTsig: false, tsig: { keyName: 'Ctl-Key.', secretFile: 's' } }],
      });
      expect(result.ok ? [] : result.problems).toEqual([]);
      if (result.ok && result.value.backends[0]?.type === 'rfc2136') {
        expect(result.value.backends[0].tsig).toEqual({
          keyName: 'ctl-key',
          algorithm: 'hmac-sha256',
          secretFile: 's',
        });
      }
    }
  });

  it('normalises allow patterns and keeps an empty allow list (nothing allowed)', () => {
    const result = validateConfig({
      backends: [rfc],
      allow: [{ namespaces: ['*'], zones: ['*.Example.ORG.', 'A.test'] }],
    });
    expect(result.ok && result.value.allow).toEqual([
      { namespaces: ['*'], zones: ['*.example.org', 'a.test'] },
    ]);
    const empty = validateConfig({ backends: [rfc], allow: [] });
    expect(empty.ok && empty.value.allow).toEqual([]);
  });

  it('never mutates its input', () => {
    const input = { backends: [{ ...rfc, zones: ['A.test.'] }] };
    const copy = structuredClone(input);
    validateConfig(input);
    expect(input).toEqual(copy);
  });

  it('accepts the documented example as parsed YAML', () => {
    expect(problemsOf(parse(FULL))).toEqual([]);
  });

  it('loads examples/powerdns/apexalias.yaml, with the key file next to it', async () => {
    const path = 'examples/powerdns/apexalias.yaml';
    const config = await loadConfig(path, { readFile: (p) => readFile(p, 'utf8') });
    expect(config.backends).toEqual([
      expect.objectContaining({
        type: 'powerdns',
        url: 'http://127.0.0.1:8081',
        apiKeyFile: 'examples/powerdns/api-key',
      }),
    ]);
  });
});

describe('resolver.dnssec', () => {
  it('is off by default, and require accepts loopback and trusted validators only', () => {
    const ok = (resolver: unknown): Config => {
      const result = validateConfig({ backends: [rfc], resolver });
      if (!result.ok) throw new Error(result.problems.join('; '));
      return result.value;
    };
    expect(ok({}).resolver).toMatchObject({ dnssec: 'off', trustedValidators: [] });
    expect(ok({ dnssec: 'prefer', servers: ['192.0.2.53'] }).resolver.dnssec).toBe('prefer');
    expect(ok({ dnssec: 'require', servers: ['127.0.0.53', '[::1]:5353'] }).resolver.dnssec).toBe('require');
    expect(
      ok({
        dnssec: 'require',
        servers: ['10.0.0.53:53', '[fd00::53]:53'],
        trustedValidators: ['10.0.0.53', 'fd00::53'],
      }).resolver.trustedValidators,
    ).toEqual(['10.0.0.53', 'fd00::53']);
    // An empty list means /etc/resolv.conf, which only the resolver sees when it starts.
    expect(ok({ dnssec: 'require' }).resolver.servers).toEqual([]);
  });
});
