import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { SPEC_RULES, validateApexAlias } from '../../../src/api/index.ts';
import { invalidCases, manifest, validCases } from '../../fixtures/apexalias-cases.ts';

/** True when `problem` is reported on `field` or on something inside it. */
function isAbout(problem: string, field: string): boolean {
  const path = problem.slice(0, problem.indexOf(': '));
  return path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`);
}

describe('validateApexAlias: invalid specs', () => {
  it('has at least 25 cases', () => {
    expect(invalidCases.length).toBeGreaterThanOrEqual(25);
  });

  it.each(invalidCases.map((c) => [c.name, c] as const))('rejects %s', (_name, c) => {
    const result = validateApexAlias(manifest(c.spec));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.some((p) => isAbout(p, c.field))).toBe(true);
    if (c.rule !== undefined) {
      const rule = SPEC_RULES.find((r) => r.id === c.rule);
      expect(rule, `rule ${c.rule}`).toBeDefined();
      expect(result.problems).toContain(`spec${rule!.fieldPath ?? ''}: ${rule!.message}`);
    }
  });

  it('has a case for every CEL rule', () => {
    const covered = new Set(invalidCases.map((c) => c.rule));
    expect(SPEC_RULES.filter((r) => !covered.has(r.id)).map((r) => r.id)).toEqual([]);
  });
});

describe('validateApexAlias: valid specs', () => {
  it.each(validCases.map((c) => [c.name, c] as const))('accepts %s', (_name, c) => {
    const result = validateApexAlias(manifest(c.spec));
    expect(result.ok ? [] : result.problems).toEqual([]);
  });
});

describe('validateApexAlias: messages and objects', () => {
  const ok = manifest({ zone: 'example.com', target: 'lb.demo.test' });

  it.each([
    [{ ttl: { min: 0 } }, 'spec.ttl.min: must be ≥ 1'],
    [{ ttl: { max: 2147483648 } }, 'spec.ttl.max: must be ≤ 2147483647'],
    [{ zone: '' }, 'spec.zone: must not be empty'],
    [
      { addressFamilies: ['IPv5'] },
      'spec.addressFamilies[0]: unsupported value "IPv5": must be one of "IPv4", "IPv6"',
    ],
    [{ addressFamilies: [] }, 'spec.addressFamilies: must not be empty'],
    [{ adopt: 'yes' }, 'spec.adopt: must be true or false'],
    [{ tll: 3 }, 'spec.tll: unknown field'],
    [{ ttl: { max: '60' } }, 'spec.ttl.max: must be an integer'],
    [
      { fallbackAddresses: ['192.0.2.1', '192.0.2.1'] },
      'spec.fallbackAddresses[1]: duplicate value "192.0.2.1"',
    ],
  ])('reports %j as %s', (patch, message) => {
    const result = validateApexAlias({ ...ok, spec: { ...ok.spec, ...patch } });
    expect(result.ok ? [] : result.problems).toContain(message);
  });

  it('reports a missing required field once', () => {
    const result = validateApexAlias(manifest({ target: 'lb.demo.test' }));
    expect(result.ok ? [] : result.problems).toEqual(['spec.zone: is required']);
  });

  it('returns the object with its spec defaulted and without status', () => {
    const input = { ...ok, status: { ttl: 5 } };
    const result = validateApexAlias(input);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.spec.name).toBe('@');
    expect(result.value.spec.ttl).toEqual({ max: 3600 });
    expect(result.value).not.toHaveProperty('status');
    expect(input.status).toEqual({ ttl: 5 });
    expect(input.spec).not.toHaveProperty('name');
  });

  it('keeps metadata it does not know', () => {
    const result = validateApexAlias({
      ...ok,
      metadata: { ...ok.metadata, labels: { a: 'b' }, managedFields: [] },
    });
    expect(result.ok && result.value.metadata).toMatchObject({ labels: { a: 'b' }, managedFields: [] });
  });

  it.each([
    [{ ...ok, apiVersion: 'dns.apexalias.io/v1' }, 'apiVersion: must be "dns.apexalias.io/v1alpha1"'],
    [{ ...ok, kind: 'Alias' }, 'kind: must be "ApexAlias"'],
    [{ ...ok, metadata: {} }, 'metadata.name: is required'],
    [{ ...ok, metadata: { name: 'Bad_Name' } }, 'metadata.name: must be a lower-case RFC 1123 subdomain'],
    [
      { ...ok, metadata: { name: 'x', namespace: 'a.b' } },
      'metadata.namespace: must be a lower-case RFC 1123 label',
    ],
    [{ ...ok, spec: 'zone: example.com' }, 'spec: must be an object'],
    [{ ...ok, extra: 1 }, 'extra: unknown field'],
    [[ok], '(root): must be an object'],
    [null, '(root): must be an object'],
  ])('rejects the object %#', (obj, prefix) => {
    const result = validateApexAlias(obj);
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems.some((p) => p.startsWith(prefix))).toBe(true);
  });

  it('does not run the rules on a malformed spec', () => {
    const result = validateApexAlias(manifest({ zone: 5, target: 'lb.demo.test' }));
    expect(result.ok ? [] : result.problems).toEqual(['spec.zone: must be a string']);
  });
});

const repoFile = (path: string) => new URL(`../../../${path}`, import.meta.url);

describe('examples/', () => {
  it.each(['examples/quickstart.yaml', 'examples/multiple.yaml'])(
    '%s holds only valid ApexAliases',
    async (file) => {
      const docs = parseAllDocuments(await readFile(repoFile(file), 'utf8'));
      expect(docs.length).toBeGreaterThan(0);
      for (const doc of docs) {
        expect(doc.errors).toEqual([]);
        const result = validateApexAlias(doc.toJS());
        expect(result.ok ? [] : result.problems).toEqual([]);
      }
    },
  );

  it('multiple.yaml has three aliases and quickstart.yaml one with both families', async () => {
    expect(parseAllDocuments(await readFile(repoFile('examples/multiple.yaml'), 'utf8'))).toHaveLength(3);
    const [quick] = parseAllDocuments(await readFile(repoFile('examples/quickstart.yaml'), 'utf8'));
    expect(quick?.toJS()).toMatchObject({
      spec: { zone: 'example.com', target: 'lb.demo.test', addressFamilies: ['IPv4', 'IPv6'] },
    });
  });
});

describe('owner names of 243 to 253 characters pass the DNS limit, but their marker does not', () => {
  const label63 = 'a'.repeat(63);
  const at = (zone: string) =>
    manifest({ zone, name: `${label63}.${label63}.${label63}`, target: 'lb.demo.test' });
  const owner = (zone: string) => `${label63}.${label63}.${label63}.${zone}`;

  it('refuses a 243-character owner name, whose _apexalias marker would be 254', () => {
    const zone = `${'z'.repeat(39)}.example.com`;
    expect(owner(zone)).toHaveLength(243);
    expect(`_apexalias.${owner(zone)}`).toHaveLength(254);
    const result = validateApexAlias(at(zone));
    expect(result.ok ? [] : result.problems).toEqual([
      expect.stringMatching(/^spec\.name: the full owner name .* at most 242 characters/),
    ]);
  });

  it('refuses an apex alias in a zone of 243 characters', () => {
    const zone = `${label63}.${label63}.${label63}.${'z'.repeat(39)}.example.com`;
    const result = validateApexAlias(manifest({ zone, target: 'lb.demo.test' }));
    expect(result.ok).toBe(false);
  });

  it('accepts a 242-character owner name, whose marker is exactly 253', () => {
    const zone = `${'z'.repeat(38)}.example.com`;
    expect(`_apexalias.${owner(zone)}`).toHaveLength(253);
    const result = validateApexAlias(at(zone));
    expect(result.ok ? [] : result.problems).toEqual([]);
  });
});

describe('every problem of a manifest comes out in one pass', () => {
  it('zone and ttl problems are reported beside schema errors, not only after they are fixed', () => {
    const result = validateApexAlias(
      manifest({
        zone: 'Example.COM',
        target: 'lb.demo.test',
        ttl: { min: 600, max: 60 },
        tll: 3,
        adopt: 'yes',
      }),
    );
    expect(result.ok).toBe(false);
    const fields = result.ok ? [] : result.problems.map((p) => p.slice(0, p.indexOf(': ')));
    expect(fields.sort()).toEqual(['spec.adopt', 'spec.tll', 'spec.ttl.min', 'spec.zone'].sort());
  });

  it('a rule is skipped only when a field it reads is malformed', () => {
    const result = validateApexAlias(manifest({ zone: 42, target: 'example.com', name: 'WWW' }));
    const problems = result.ok ? [] : result.problems;
    expect(problems).toContain('spec.zone: must be a string');
    expect(problems.some((p) => p.startsWith('spec.name: name must be'))).toBe(true);
    // target-not-self reads the zone, which is malformed: not run, so no false report about it.
    expect(problems.some((p) => p.startsWith('spec.target'))).toBe(false);
  });

  it.each(SPEC_RULES.map((r) => [r.id, r] as const))(
    'rule %s declares exactly the fields it reads',
    (_id, rule) => {
      const spec = validateApexAlias(
        manifest({
          zone: 'example.com',
          name: 'www',
          target: 'lb.demo.test',
          ttl: { min: 30, max: 60 },
          onTargetMissing: 'Fallback',
          fallbackAddresses: ['192.0.2.1'],
          backend: 'primary',
        }),
      );
      if (!spec.ok) throw new Error(spec.problems.join('; '));
      const read = new Set<string>();
      const watched = new Proxy(spec.value.spec, {
        get(target, key, receiver) {
          if (typeof key === 'string') read.add(key);
          return Reflect.get(target, key, receiver) as unknown;
        },
      });
      rule.check(watched);
      expect([...read].sort()).toEqual([...rule.reads].sort());
    },
  );
});
