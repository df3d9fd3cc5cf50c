/**
 * Real helm for chart tests: the helm 3.22.0 binary that tools/build.sh builds from the Go module
 * proxy. Every run gets its own cache/config/data folders, so tests never read or write the
 * user's ~/.config/helm and never depend on repositories being configured.
 */
import { runCommand } from './process.ts';
import { accessSync, constants as fsConstants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as prettier from 'prettier';

import { kubeBinDir } from './kube.ts';
import type { CommandResult } from './process.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
/** The chart, as a path helm accepts. */
export const CHART_DIR = path.join(REPO_ROOT, 'charts', 'apexalias');

/** The release name and namespace that deploy/ is rendered with (the chart's defaults). */
export const DEPLOY_RELEASE = 'apexalias';
export const DEPLOY_NAMESPACE = 'apexalias-system';

/**
 * The path of the helm binary (`APEXALIAS_TOOLS_BIN` or ~/.cache/apexalias/bin). Throws when it is
 * missing: a chart test fails, it never skips.
 */
export function helmBinary(): string {
  const file = path.join(kubeBinDir(), 'helm');
  try {
    accessSync(file, fsConstants.X_OK);
    return file;
  } catch {
    throw new Error(
      `Required binary "helm" was not found at ${file}. Build it with \`bash tools/build.sh helm\` ` +
        '(helm v3.22.0 from the Go module proxy into APEXALIAS_TOOLS_BIN or ~/.cache/apexalias/bin; ' +
        'cold: about 6 min; cached afterwards). Tests never skip a missing component.',
    );
  }
}

let helmHome: string | undefined;

/**
 * The Kubernetes version `helm template` and `helm lint` assume without a cluster: the
 * kube-apiserver the tests run (tools/build.sh). A helm built by `go install` lacks the release
 * build's ldflags and would assume v1.20, which the chart's `kubeVersion` refuses.
 */
export const OFFLINE_KUBE_VERSION = 'v1.37.2';

/**
 * Runs helm and returns its exit code and output; never rejects for a non-zero exit. With
 * `kubeconfig`, helm talks to that cluster. `input` is written to stdin (`-f -`).
 */
export function helm(
  args: string[],
  opts: { kubeconfig?: string; input?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const bin = helmBinary();
  // One shared home for every test process: only local charts are used, so helm keeps nothing
  // there that runs could fight over, and nothing piles up in the temp dir.
  helmHome ??= path.join(os.tmpdir(), 'apexalias-helm-home');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HELM_CACHE_HOME: path.join(helmHome, 'cache'),
    HELM_CONFIG_HOME: path.join(helmHome, 'config'),
    HELM_DATA_HOME: path.join(helmHome, 'data'),
    // Never fall back to the user's cluster.
    KUBECONFIG: opts.kubeconfig ?? path.join(helmHome, 'no-cluster.kubeconfig'),
  };
  const offline = (args[0] === 'template' || args[0] === 'lint') && !args.includes('--kube-version');
  const withVersion = offline ? [...args, '--kube-version', OFFLINE_KUBE_VERSION] : args;
  const fullArgs = opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig, ...withVersion] : withVersion;
  return runCommand(bin, fullArgs, {
    cwd: REPO_ROOT,
    env,
    input: opts.input,
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
}

/** Like {@link helm}, but rejects with helm's stderr on a non-zero exit; resolves with stdout. */
export async function mustHelm(
  args: string[],
  opts: { kubeconfig?: string; input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const r = await helm(args, opts);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}`);
  return r.stdout;
}

/**
 * `helm template` of the chart with `values` (YAML or JSON text, may be empty) as release
 * `release` in `namespace`.
 */
export function helmTemplate(
  values: string,
  opts: { release?: string; namespace?: string; set?: string[] } = {},
): Promise<string> {
  return mustHelm(
    [
      'template',
      opts.release ?? DEPLOY_RELEASE,
      CHART_DIR,
      '--namespace',
      opts.namespace ?? DEPLOY_NAMESPACE,
      '--values',
      '-',
      ...(opts.set ?? []).flatMap((s) => ['--set', s]),
    ],
    { input: values },
  );
}

export const DEPLOY_HEADER =
  '# Generated from charts/apexalias with its default values (release "apexalias", namespace\n' +
  '# "apexalias-system") by `npx node scripts/sync-chart-crds.ts`. Do not edit: change the chart\n' +
  '# and regenerate. test/integration/chart.test.ts fails when this file is out of date.\n';

/**
 * The plain manifests of deploy/apexalias.yaml: the chart rendered with its defaults, with the
 * Helm-only labels removed (nothing manages these objects but kubectl) and without the CRD
 * (deploy/kustomization.yaml lists its own copy in deploy/crds/).
 */
export async function renderDeployManifests(): Promise<string> {
  const out = await mustHelm([
    'template',
    DEPLOY_RELEASE,
    CHART_DIR,
    '--namespace',
    DEPLOY_NAMESPACE,
    '--set',
    'crds.enabled=false',
  ]);
  const body = out
    .split('\n')
    .filter((line) => !/^\s*helm\.sh\/chart: /.test(line))
    .map((line) => line.replace(/^(\s*app\.kubernetes\.io\/managed-by:) Helm$/, '$1 kubectl'))
    .join('\n');
  const text = DEPLOY_HEADER + body.replace(/^---\n/, '').trimEnd() + '\n';
  // deploy/ is checked by `prettier --check .`: write it the way prettier would.
  const options = await prettier.resolveConfig(path.join(REPO_ROOT, 'deploy', 'apexalias.yaml'));
  return prettier.format(text, { ...options, parser: 'yaml' });
}
