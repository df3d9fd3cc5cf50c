import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateApexAlias } from '../../../src/api/validate.ts';
import { loadConfig, validateConfig } from '../../../src/config/index.ts';

const r53 = { name: 'aws', type: 'route53', zones: ['Example.COM.'] };

function problemsOf(backend: Record<string, unknown>): string[] {
  const result = validateConfig({ backends: [backend] }, { baseDir: '/etc/apexalias' });
  return result.ok ? [] : result.problems;
}

describe('route53 backend configuration', () => {
  it('fills the defaults and normalises zone names', () => {
    const result = validateConfig({ backends: [r53] });
    expect(result.ok && result.value.backends[0]).toEqual({
      name: 'aws',
      type: 'route53',
      zones: ['example.com'],
      region: 'us-east-1',
      timeoutMs: 10000,
    });
  });

  it('keeps every documented field, resolving credentialsFile against the config directory and dropping /hostedzone/', () => {
    const result = validateConfig(
      {
        backends: [
          {
            ...r53,
            zones: ['example.com', 'example.org'],
            region: 'eu-west-1',
            endpoint: 'http://127.0.0.1:5000',
            hostedZoneIds: { 'Example.com.': '/hostedzone/Z0123456789ABCDEFGHIJ' },
            privateZone: true,
            credentialsFile: 'aws/credentials',
            profile: 'dns',
            timeoutMs: 3000,
          },
        ],
      },
      { baseDir: '/etc/apexalias' },
    );
    expect(result.ok && result.value.backends[0]).toEqual({
      name: 'aws',
      type: 'route53',
      zones: ['example.com', 'example.org'],
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:5000',
      hostedZoneIds: { 'example.com': 'Z0123456789ABCDEFGHIJ' },
      privateZone: true,
      credentialsFile: '/etc/apexalias/aws/credentials',
      profile: 'dns',
      timeoutMs: 3000,
    });
  });

  it.each([
    [{ ...r53, zones: ['*'] }, 'backends[0].zones[0]: "*" is only allowed for zonefile backends'],
    [{ ...r53, endpoint: 'moto:5000' }, 'backends[0].endpoint: must be an http:// or https:// URL'],
    [
      { ...r53, hostedZoneIds: { 'other.com': 'Z1' } },
      'backends[0].hostedZoneIds["other.com"]: other.com is not one',
    ],
    [
      { ...r53, hostedZoneIds: { 'example.com': 'not an id' } },
      'backends[0].hostedZoneIds["example.com"]: must be',
    ],
    [{ ...r53, timeoutMs: 5 }, 'backends[0].timeoutMs'],
    [{ ...r53, tsig: { keyName: 'x' } }, 'backends[0].tsig: unknown field'],
  ])('%j → %s', (backend, message) => {
    const problems = problemsOf(backend);
    expect(
      problems.some((p) => p.startsWith(message)),
      problems.join('\n'),
    ).toBe(true);
  });

  it('refuses inline AWS credentials without repeating them', () => {
    const problems = problemsOf({
      ...r53,
      accessKeyId: 'AKIAEXAMPLEKEY123456',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG',
    });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^backends\[0\]\.accessKeyId: inline AWS credentials are not accepted/);
    expect(problems[1]).toMatch(/^backends\[0\]\.secretAccessKey: inline AWS credentials are not accepted/);
    expect(problems.join('\n')).not.toContain('wJalrXUtnFEMI');
    expect(problems.join('\n')).not.toContain('AKIAEXAMPLEKEY123456');
  });

  it('examples/route53 holds a valid configuration and a valid alias', async () => {
    const file = (name: string): string =>
      fileURLToPath(new URL(`../../../examples/route53/${name}`, import.meta.url));
    const config = await loadConfig(file('apexalias.yaml'), { readFile: (p) => readFile(p) });
    expect(config.backends).toEqual([
      { name: 'aws', type: 'route53', zones: ['example.com'], region: 'us-east-1', timeoutMs: 10000 },
    ]);
    const [doc] = parseAllDocuments(await readFile(file('apex.yaml'), 'utf8'));
    const result = validateApexAlias(doc!.toJS());
    expect(result.ok ? [] : result.problems).toEqual([]);
  });
});
