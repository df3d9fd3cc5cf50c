/**
 * The alert rules (deploy/monitoring/apexalias-rules.yaml and its copy in the chart) checked and
 * unit-tested by the real promtool (Debian's prometheus package), plus the contracts around them:
 * both copies identical, the chart's PrometheusRule rendering the same groups, every alert with a
 * runbook section in docs/alerts.md and promtool test cases that fire and that do not.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { createMetrics } from '../../src/observe/metrics.ts';
import { helmTemplate } from '../harness/helm.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const RULES = path.join(ROOT, 'deploy', 'monitoring', 'apexalias-rules.yaml');
const CHART_RULES = path.join(ROOT, 'charts', 'apexalias', 'files', 'prometheus-rules.yaml');
const PROMTOOL_TESTS = path.join(ROOT, 'test', 'promtool', 'apexalias-rules.test.yaml');
const RUNBOOK = path.join(ROOT, 'docs', 'alerts.md');
const RUNBOOK_URL = 'https://github.com/apexalias/apexalias/blob/main/docs/alerts.md';

// promtool lives in /usr/bin (Debian's prometheus package); a bare PATH may still lack sbin dirs.
const PATH = `${process.env.PATH ?? ''}:/usr/local/bin:/usr/bin:/usr/local/sbin:/usr/sbin`;

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}
interface PromtoolTests {
  rule_files: string[];
  tests: Array<{
    name: string;
    alert_rule_test?: Array<{ eval_time: string; alertname: string; exp_alerts?: unknown[] | null }>;
  }>;
}

function requirePromtool(): void {
  const probe = spawnSync('promtool', ['--version'], { env: { ...process.env, PATH }, encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'promtool is not installed (Debian package "prometheus"). `npm test` installs it through ' +
        'scripts/install-test-deps.sh; run that script, then this test again.',
    );
  }
}

/** Runs promtool with `args`; resolves with its exit code and stdout + stderr. */
function promtool(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', args, { cwd: ROOT, env: { ...process.env, PATH } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const rulesText = readFileSync(RULES, 'utf8');
const rules = parse(rulesText) as RuleFile;
const alerts = rules.groups.flatMap((g) => g.rules).filter((r): r is Rule & { alert: string } => !!r.alert);
const promtoolTests = parse(readFileSync(PROMTOOL_TESTS, 'utf8')) as PromtoolTests;
const cases = promtoolTests.tests.flatMap((t) => t.alert_rule_test ?? []);

const tmpDirs: string[] = [];
afterAll(() => {
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

describe('alert rule files', () => {
  it('the chart carries exactly the same rules file as deploy/monitoring', () => {
    expect(readFileSync(CHART_RULES, 'utf8')).toBe(rulesText);
  });

  it('has the alerts of issue 7, each with a severity, a summary, a description and its runbook', () => {
    const names = alerts.map((a) => a.alert);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(
      expect.arrayContaining([
        'ApexAliasControllerDown',
        'ApexAliasNoLeader',
        'ApexAliasMultipleLeaders',
        'ApexAliasZoneDrift',
        'ApexAliasNameserverDrift',
        'ApexAliasTargetResolutionFailing',
        'ApexAliasTargetNXDOMAIN',
        'ApexAliasBackendErrors',
        'ApexAliasNoRecentSync',
        'ApexAliasOutOfSync',
        'ApexAliasWorkqueueBacklog',
      ]),
    );
    const runbook = readFileSync(RUNBOOK, 'utf8');
    const headings = new Set([...runbook.matchAll(/^## (\S+)\s*$/gm)].map((m) => m[1]!));
    for (const a of alerts) {
      expect(['critical', 'warning', 'info'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description, a.alert).toBeTruthy();
      expect(a.annotations?.runbook_url, a.alert).toBe(`${RUNBOOK_URL}#${a.alert.toLowerCase()}`);
      // GitHub's anchor of "## ApexAliasZoneDrift" is #apexaliaszonedrift.
      expect(headings.has(a.alert), `docs/alerts.md has no "## ${a.alert}" section`).toBe(true);
    }
  });

  it('uses only metrics that createMetrics registers', async () => {
    const registered = new Set(
      (await createMetrics(new Registry(), { defaultMetrics: false }).registry.getMetricsAsJSON()).map(
        (m) => m.name,
      ),
    );
    const used = new Set(
      alerts.flatMap((a) => [...a.expr.matchAll(/\bapexalias_[a-z_]+/g)].map((m) => m[0])),
    );
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) expect(registered, `${name} is not an apexalias metric`).toContain(name);
  });

  it('has promtool cases for every alert that fire and that do not', () => {
    const known = new Set(alerts.map((a) => a.alert));
    // promtool passes a case whose alertname matches no rule and expects nothing: forbid that.
    for (const c of cases) expect(known, `unknown alertname in a promtool case`).toContain(c.alertname);
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${a.alert} has no firing case`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${a.alert} has no case where it must not fire`,
      ).toBe(true);
    }
    expect(promtoolTests.rule_files).toEqual(['../../deploy/monitoring/apexalias-rules.yaml']);
  });

  it("renders into the chart's PrometheusRule unchanged, and the chart's job label matches the rules", async () => {
    const find = (manifests: string, kind: string): Record<string, unknown> => {
      const doc = parseAllDocuments(manifests)
        .map((d) => d.toJS() as { kind?: string } | null)
        .find((d) => d?.kind === kind);
      if (!doc) throw new Error(`helm template rendered no ${kind}`);
      return doc as Record<string, unknown>;
    };
    const set = ['metrics.prometheusRule.enabled=true', 'metrics.serviceMonitor.enabled=true'];
    const out = await helmTemplate('', { set });
    const rule = find(out, 'PrometheusRule') as { spec: RuleFile };
    expect(rule.spec.groups).toEqual(rules.groups);

    // prometheus-operator names the job after the Service the ServiceMonitor selects.
    const jobRegex = /^.*apexalias.*$/;
    for (const release of ['apexalias', 'dns']) {
      const rendered = release === 'apexalias' ? out : await helmTemplate('', { release, set });
      const service = find(rendered, 'Service') as { metadata: { name: string } };
      expect(service.metadata.name).toMatch(jobRegex);
    }
  });
});

describe('promtool', () => {
  it.each([
    ['deploy/monitoring/apexalias-rules.yaml', RULES],
    ['charts/apexalias/files/prometheus-rules.yaml', CHART_RULES],
  ])('check rules accepts %s', async (_name, file) => {
    requirePromtool();
    const { code, output } = await promtool(['check', 'rules', file]);
    expect(output).toContain('SUCCESS');
    expect(output).toContain(`${alerts.length} rules found`);
    expect(code, output).toBe(0);
  });

  it('test rules passes test/promtool/apexalias-rules.test.yaml', async () => {
    requirePromtool();
    const { code, output } = await promtool(['test', 'rules', PROMTOOL_TESTS]);
    expect(output).toContain('SUCCESS');
    expect(output).not.toContain('FAILED');
    expect(code, output).toBe(0);
  });

  it('test rules fails on a wrong expectation (the harness would catch a broken rule)', async () => {
    requirePromtool();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'apexalias-promtool-'));
    tmpDirs.push(dir);
    const file = path.join(dir, 'wrong.test.yaml');
    // Drift that started at 0 cannot fire at 5m: the rule waits 10m. This expects it anyway.
    writeFileSync(
      file,
      [
        'rule_files:',
        `  - ${JSON.stringify(RULES)}`,
        'evaluation_interval: 1m',
        'tests:',
        '  - interval: 1m',
        '    input_series:',
        `      - series: 'apexalias_zone_drift{namespace="shop", alias="apex", family="IPv4"}'`,
        `        values: '1x20'`,
        '    alert_rule_test:',
        '      - eval_time: 5m',
        '        alertname: ApexAliasZoneDrift',
        '        exp_alerts:',
        '          - exp_labels: { severity: warning, namespace: shop, alias: apex, family: IPv4 }',
        '',
      ].join('\n'),
    );
    const { code, output } = await promtool(['test', 'rules', file]);
    expect(output).toContain('FAILED');
    expect(output).toContain('ApexAliasZoneDrift');
    expect(code, output).toBe(1);
  });
});
