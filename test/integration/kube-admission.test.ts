/**
 * Every case of test/fixtures/apexalias-cases.ts through a real kube-apiserver: the invalid specs
 * are rejected at admission by the part of the CRD the fixture names (OpenAPI schema, CEL rule,
 * list-type, strict field validation) with a readable message on the right field, and the valid
 * ones are stored exactly as standalone mode's defaulting predicts.
 */
import { ApiException, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { GROUP, PLURAL, VERSION } from '../../src/api/schema.ts';
import { SPEC_RULES, applyDefaults } from '../../src/api/index.ts';
import type { ApexAliasSpecInput } from '../../src/api/schema.ts';
import type { InvalidCase } from '../fixtures/apexalias-cases.ts';
import { invalidCases, manifest, validCases } from '../fixtures/apexalias-cases.ts';
import type { KubeCluster } from '../harness/kube.ts';
import { startKube } from '../harness/kube.ts';

/** The apiserver's Status for a refused request. */
interface Status {
  code: number;
  reason: string;
  message: string;
  details?: { causes?: { reason: string; message: string; field?: string }[] };
}

const NAMESPACE = 'default';
const ref = { group: GROUP, version: VERSION, plural: PLURAL, namespace: NAMESPACE };
const ruleMessages = new Map(SPEC_RULES.map((r) => [r.id, r.message]));

let cluster: KubeCluster;
let api: CustomObjectsApi;

beforeAll(async () => {
  cluster = await startKube();
  console.log(`kube cluster started in ${cluster.startupMs} ms`);
  api = cluster.kubeConfig().makeApiClient(CustomObjectsApi);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

/** Creates the object for real (kubectl's default `--validate=strict` is asked for explicitly). */
async function create(name: string, spec: Record<string, unknown> | undefined): Promise<unknown> {
  return api.createNamespacedCustomObject({ ...ref, body: manifest(spec, name), fieldValidation: 'Strict' });
}

/** The Status of a create that must fail. */
async function refusal(name: string, spec: Record<string, unknown> | undefined): Promise<Status> {
  try {
    await create(name, spec);
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    return JSON.parse(err.body as string) as Status;
  }
  throw new Error(`the apiserver accepted ${name}: ${JSON.stringify(spec)}`);
}

function expectRejected(c: InvalidCase, status: Status): void {
  const causes = status.details?.causes ?? [];
  const shown = `${status.message}\n${JSON.stringify(causes, null, 1)}`;
  if (c.mechanism === 'unknown-field') {
    // Strict field validation refuses before admission validation runs: 400, not 422.
    expect(status.code, shown).toBe(400);
    expect(status.reason, shown).toBe('BadRequest');
    expect(status.message, shown).toContain(`unknown field "${c.field}"`);
    return;
  }
  expect(status.code, shown).toBe(422);
  expect(status.reason, shown).toBe('Invalid');
  // The message a user sees names the field ...
  expect(status.message, shown).toContain(`${c.field}:`);
  // ... and a structured cause points at exactly that field.
  const atField = causes.filter((cause) => cause.field === c.field);
  expect(atField.length, shown).toBeGreaterThan(0);
  if (c.mechanism === 'cel') {
    const message = ruleMessages.get(c.rule ?? '');
    expect(message, `rule ${c.rule} exists in SPEC_RULES`).toBeDefined();
    expect(
      atField.some((cause) => cause.message.includes(message ?? '')),
      shown,
    ).toBe(true);
  } else if (c.mechanism === 'list-type') {
    expect(
      atField.some((cause) => cause.reason === 'FieldValueDuplicate'),
      shown,
    ).toBe(true);
  } else {
    // The OpenAPI schema, not one of the CEL rules, refused it.
    expect(
      atField.some((cause) => ![...ruleMessages.values()].some((m) => cause.message.includes(m))),
      shown,
    ).toBe(true);
  }
}

describe('ApexAlias admission through the real kube-apiserver', () => {
  it('covers at least 20 invalid and a range of valid cases', () => {
    expect(invalidCases.length).toBeGreaterThanOrEqual(20);
    expect(validCases.length).toBeGreaterThan(0);
    expect(new Set(invalidCases.map((c) => c.name)).size).toBe(invalidCases.length);
  });

  describe('rejects every invalid case', () => {
    invalidCases.forEach((c, i) => {
      it(`${c.name} (${c.mechanism}${c.rule ? ` ${c.rule}` : ''} on ${c.field})`, async () => {
        expectRejected(c, await refusal(`invalid-${i}`, c.spec));
      });
    });
  });

  describe('accepts every valid case, defaulted as standalone mode defaults it', () => {
    validCases.forEach((c, i) => {
      it(c.name, async () => {
        const stored = (await create(`valid-${i}`, c.spec)) as { spec: unknown };
        expect(stored.spec).toEqual(applyDefaults(c.spec as ApexAliasSpecInput));
      });
    });
  });

  it('runs the CEL rules on update too', async () => {
    await create('update-target', {
      zone: 'example.com',
      target: 'lb.demo.test',
      ttl: { min: 60, max: 600 },
    });
    try {
      await api.patchNamespacedCustomObject(
        { ...ref, name: 'update-target', body: [{ op: 'replace', path: '/spec/ttl/min', value: 6000 }] },
        undefined,
      );
      expect.unreachable('the update was accepted');
    } catch (err) {
      if (!(err instanceof ApiException)) throw err;
      const status = JSON.parse(err.body as string) as Status;
      expect(status.code).toBe(422);
      expect(status.message).toContain('spec.ttl.min: Invalid value: ');
      expect(status.message).toContain(ruleMessages.get('ttl-min-not-above-max'));
    }
  });

  it('shows kubectl users the readable message, and refuses unknown fields by default', async () => {
    const bad = await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify(manifest({ zone: 'example.com', target: 'example.com' }, 'kubectl-self')),
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('The ApexAlias "kubectl-self" is invalid');
    expect(bad.stderr).toContain(`spec.target: Invalid value: ${ruleMessages.get('target-not-self')}`);

    const misspelt = await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify(
        manifest({ zone: 'example.com', target: 'lb.demo.test', tll: { max: 60 } }, 'kubectl-tll'),
      ),
    });
    expect(misspelt.code).not.toBe(0);
    expect(misspelt.stderr).toContain('unknown field "spec.tll"');

    const dryRun = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], {
      input: JSON.stringify(manifest({ zone: 'example.com', target: 'lb.demo.test' }, 'kubectl-dry')),
    });
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toContain('apexalias.dns.apexalias.io/kubectl-dry created (server dry run)');
  });
});
