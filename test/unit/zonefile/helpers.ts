import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NameChange } from '../../../src/plan/types.ts';
import { claimChange, releaseChange, updateChange } from '../../harness/changes.ts';

export const ZONE = 'example.com';
export const NOW = new Date('2025-11-25T12:00:00Z');
export const MARKER = 'heritage=apexalias,owner=ctl,resource=default/apex';

/** A fresh temp directory; `cleanup` removes it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'apexalias-zonefile-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export { rrset } from '../../harness/changes.ts';

/** The first claim of a name that holds no addresses yet. */
export const claim = (name: string, set: NameChange['set'], markerValue = MARKER): NameChange =>
  claimChange(name, set, markerValue);

/** A change to a name this controller already owns. */
export const update = (name: string, set: NameChange['set'], markerValue = MARKER): NameChange =>
  updateChange(name, set, markerValue);

/** Removal of everything this controller owns at a name. */
export const release = (name: string, markerValue = MARKER): NameChange => releaseChange(name, markerValue);
