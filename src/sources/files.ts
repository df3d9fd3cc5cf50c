import { aliasKey } from '../api/names.ts';
import { open, readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Document } from 'yaml';
import { ApexAliasError, ValidationError } from '../errors.ts';
import { validateApexAlias } from '../api/validate.ts';
import { API_VERSION, GROUP, KIND } from '../api/schema.ts';
import type { ApexAlias } from '../api/types.ts';
import { decodeUtf8 } from '../config/utf8.ts';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * The largest manifest file read: the apiserver's request limit (3 MiB). A file is read whole and
 * its YAML tree takes many times its size in memory, so this bounds what one file can cost.
 */
export const MAX_MANIFEST_FILE_BYTES = 3 * 1024 * 1024;
/** The largest document in a file: about what etcd stores as one object (1.5 MiB). */
export const MAX_MANIFEST_DOCUMENT_BYTES = 1.5 * 1024 * 1024;
/** YAML aliases a document may expand; more is an alias bomb ("billion laughs"). */
export const MAX_YAML_ALIASES = 100;

/** One ApexAlias read from a manifest file, with where it came from. */
export interface ManifestAlias {
  alias: ApexAlias;
  /** `file.yaml#2`: the file and the document's index (from 1), for error messages. */
  source: string;
}

/** An object that was read but is not an ApexAlias, so it was left alone. */
export interface SkippedObject {
  source: string;
  /** `apiVersion/kind` as written. */
  kind: string;
}

/** What `loadManifests` read. */
export interface LoadedManifests {
  aliases: ManifestAlias[];
  /** Objects of other kinds (a Deployment beside the aliases): not used, and reported. */
  skipped: SkippedObject[];
  /** Files read. */
  files: number;
}

/**
 * Reads ApexAlias manifests from files and directories (recursively; .yaml, .yml, .json), in
 * path order, one file at a time. Read as kubectl reads them: several documents per file, and
 * `kind: List` (or `…List`) with `items`. Refused, with the place: a file or document over the
 * size limits, bytes that are not UTF-8, YAML errors (with the parser's code frame), alias bombs,
 * a document that is a bare YAML sequence or scalar, and an object of the ApexAlias group with the
 * wrong kind or version. Objects of other kinds are returned in `skipped`, never dropped unseen.
 * Every problem of every file is reported at once in one ValidationError.
 */
export async function loadManifests(paths: string[]): Promise<LoadedManifests> {
  const files: string[] = [];
  for (const p of paths) files.push(...(await expand(p)));
  const out: LoadedManifests = { aliases: [], skipped: [], files: 0 };
  const problems: string[] = [];
  // One file in memory at a time: its text and YAML tree are dropped before the next is read.
  for (const file of files.sort()) {
    const text = await readManifestFile(file, problems);
    out.files++;
    if (text !== undefined) readDocuments(file, text, out, problems);
  }
  if (problems.length) throw new ValidationError(`${problems.length} problem(s) in the manifests`, problems);
  return out;
}

async function expand(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new ValidationError(`manifest path ${path} does not exist`);
  }
  if (!info.isDirectory()) return [path];
  const out: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...(await expand(full)));
    else if (MANIFEST_EXTENSIONS.has(extname(entry.name))) out.push(full);
  }
  return out;
}

const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** The file's text, or undefined after adding a problem (too large, not UTF-8, unreadable). */
async function readManifestFile(file: string, problems: string[]): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
    // Checked on the open file, before reading, so that a huge file costs nothing.
    const { size } = await handle.stat();
    if (size > MAX_MANIFEST_FILE_BYTES) {
      problems.push(
        `${file}: ${mib(size)} is more than the ${mib(MAX_MANIFEST_FILE_BYTES)} a manifest file may hold ` +
          '(the apiserver request limit); split it into several files in a folder',
      );
      return undefined;
    }
    const bytes = await handle.readFile();
    if (bytes.length > MAX_MANIFEST_FILE_BYTES) {
      problems.push(`${file}: grew past ${mib(MAX_MANIFEST_FILE_BYTES)} while it was read`);
      return undefined;
    }
    return decodeUtf8(bytes, file);
  } catch (err) {
    if (err instanceof ApexAliasError) problems.push(err.message);
    else problems.push(`${file}: cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    return undefined;
  } finally {
    await handle?.close();
  }
}

/** The parser's message with its code frame, indented under the problem's list item. */
function yamlMessage(message: string): string {
  return message.trimEnd().replace(/\n/g, '\n    ');
}

function readDocuments(file: string, text: string, out: LoadedManifests, problems: string[]): void {
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  // An empty file, or one of comments only, holds no document: nothing to read, nothing lost.
  const list: Document[] = Array.isArray(docs) ? docs : [];
  list.forEach((doc, i) => {
    const where = `${file}#${i + 1}`;
    const [start, , end] = doc.range ?? [0, 0, text.length];
    const bytes = Buffer.byteLength(text.slice(start, end));
    if (bytes > MAX_MANIFEST_DOCUMENT_BYTES) {
      problems.push(
        `${where}: the document is ${mib(bytes)}, more than the ${mib(MAX_MANIFEST_DOCUMENT_BYTES)} ` +
          'the apiserver stores as one object',
      );
      return;
    }
    if (doc.errors.length) {
      for (const e of doc.errors) problems.push(`${where}: not valid YAML: ${yamlMessage(e.message)}`);
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
    } catch (err) {
      // yaml throws a ReferenceError for an alias bomb, and for an alias to an unknown anchor.
      const why = (err as Error).message;
      problems.push(
        /alias count/i.test(why)
          ? `${where}: refused: its YAML aliases expand more than ${MAX_YAML_ALIASES} times (an alias bomb?)`
          : `${where}: not valid YAML: ${why}`,
      );
      return;
    }
    readObject(value, where, out, problems);
  });
}

function readObject(value: unknown, where: string, out: LoadedManifests, problems: string[]): void {
  if (value === null || value === undefined) return; // an empty document, as kubectl skips it
  if (Array.isArray(value)) {
    problems.push(
      `${where}: the document is a YAML sequence; kubectl does not read that either: write each ` +
        "object as its own document (separated by '---'), or put them in the items of a kind: List",
    );
    return;
  }
  if (typeof value !== 'object') {
    problems.push(`${where}: the document is a ${typeof value}, not an object with apiVersion and kind`);
    return;
  }
  const obj = value as { kind?: unknown; apiVersion?: unknown; items?: unknown };
  const kind = typeof obj.kind === 'string' ? obj.kind : undefined;
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : undefined;
  if (kind?.endsWith('List') && obj.items !== undefined) {
    if (!Array.isArray(obj.items)) {
      problems.push(`${where}: items of a ${kind} must be a list`);
      return;
    }
    obj.items.forEach((item, j) => {
      const at = `${where}.items[${j}]`;
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        problems.push(`${at}: must be an object with apiVersion and kind`);
      } else readObject(item, at, out, problems);
    });
    return;
  }
  if (kind === undefined || apiVersion === undefined) {
    problems.push(`${where}: has no ${kind === undefined ? 'kind' : 'apiVersion'}; every object needs both`);
    return;
  }
  if (apiVersion.split('/')[0] !== GROUP) {
    out.skipped.push({ source: where, kind: `${apiVersion}/${kind}` });
    return;
  }
  if (kind !== KIND || apiVersion !== API_VERSION) {
    // Our group, but a kind or version this build does not know: a typo or a newer manifest.
    problems.push(
      `${where} (${nameOf(value)}): ${apiVersion}/${kind} is not known; this version of apexalias reads ` +
        `${API_VERSION}/${KIND}`,
    );
    return;
  }
  const result = validateApexAlias(value);
  if (result.ok) out.aliases.push({ alias: result.value, source: where });
  else problems.push(...result.problems.map((p) => `${where} (${nameOf(value)}): ${p}`));
}

function nameOf(obj: unknown): string {
  const m = (obj as { metadata?: { name?: unknown; namespace?: unknown } }).metadata;
  return aliasKey(
    typeof m?.namespace === 'string' ? m.namespace : undefined,
    typeof m?.name === 'string' ? m.name : '?',
  );
}
