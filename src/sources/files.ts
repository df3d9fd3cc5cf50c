import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ValidationError } from '../errors.ts';
import { validateApexAlias } from '../api/validate.ts';
import type { ApexAlias } from '../api/types.ts';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** One ApexAlias read from a manifest file, with where it came from. */
export interface ManifestAlias {
  alias: ApexAlias;
  /** `file.yaml#2`: the file and the document's index (from 1), for error messages. */
  source: string;
}

/**
 * Reads ApexAlias manifests from files and directories (recursively; .yaml, .yml, .json;
 * multi-document YAML and `kind: List` supported). Other kinds are skipped. Every invalid
 * manifest is reported at once in one ValidationError, so a user fixes them all in one go.
 */
export async function loadManifests(paths: string[]): Promise<ManifestAlias[]> {
  const files: string[] = [];
  for (const p of paths) files.push(...(await expand(p)));
  const aliases: ManifestAlias[] = [];
  const problems: string[] = [];
  for (const file of files.sort()) {
    const text = await readFile(file, 'utf8');
    const docs = parseAllDocuments(text, { prettyErrors: true });
    docs.forEach((doc, i) => {
      const where = `${file}#${i + 1}`;
      if (doc.errors.length) {
        problems.push(`${where}: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
        return;
      }
      const value: unknown = doc.toJS();
      for (const [j, obj] of itemsOf(value).entries()) {
        const source = Array.isArray((value as { items?: unknown }).items) ? `${where}.items[${j}]` : where;
        if (!isApexAliasKind(obj)) continue;
        const result = validateApexAlias(obj);
        if (result.ok) aliases.push({ alias: result.value, source });
        else problems.push(...result.problems.map((p) => `${source} (${nameOf(obj)}): ${p}`));
      }
    });
  }
  if (problems.length) throw new ValidationError(`${problems.length} problem(s) in the manifests`, problems);
  return aliases;
}

async function expand(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new ValidationError(`manifest path ${path} does not exist`);
  }
  if (info.isFile()) return [path];
  const out: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...(await expand(full)));
    else if (MANIFEST_EXTENSIONS.has(extname(entry.name))) out.push(full);
  }
  return out;
}

function itemsOf(value: unknown): unknown[] {
  if (value === null || value === undefined) return [];
  const v = value as { kind?: unknown; items?: unknown };
  if (typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items)) return v.items;
  return [value];
}

function isApexAliasKind(obj: unknown): boolean {
  const o = obj as { kind?: unknown; apiVersion?: unknown };
  return (
    o?.kind === 'ApexAlias' &&
    typeof o.apiVersion === 'string' &&
    o.apiVersion.startsWith('dns.apexalias.io/')
  );
}

function nameOf(obj: unknown): string {
  const m = (obj as { metadata?: { name?: unknown; namespace?: unknown } }).metadata;
  return `${typeof m?.namespace === 'string' ? m.namespace : 'default'}/${typeof m?.name === 'string' ? m.name : '?'}`;
}
