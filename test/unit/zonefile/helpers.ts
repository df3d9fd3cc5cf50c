import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressRRset, NameChange } from '../../../src/plan/types.ts';

export const ZONE = 'example.com';
export const NOW = new Date('2025-11-25T12:00:00Z');
export const MARKER = 'heritage=apexalias,owner=ctl,resource=default/apex';

/** A fresh temp directory; `cleanup` removes it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'apexalias-zonefile-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export const rrset = (ttl: number, ...addresses: string[]): AddressRRset => ({ ttl, addresses });

/** The first claim of a name that holds no addresses yet. */
export function claim(name: string, set: NameChange['set'], markerValue = MARKER): NameChange {
  return {
    name,
    markerName: `_apexalias.${name}`,
    markerValue,
    expect: { marker: 'absent', noCname: true, absent: ['A', 'AAAA'] },
    set,
    marker: 'create',
  };
}

/** A change to a name this controller already owns. */
export function update(name: string, set: NameChange['set'], markerValue = MARKER): NameChange {
  return {
    name,
    markerName: `_apexalias.${name}`,
    markerValue,
    expect: { marker: { value: markerValue }, noCname: true, absent: [] },
    set,
    marker: 'keep',
  };
}

/** Removal of everything this controller owns at a name. */
export function release(name: string, markerValue = MARKER): NameChange {
  return {
    name,
    markerName: `_apexalias.${name}`,
    markerValue,
    expect: { marker: { value: markerValue }, noCname: true, absent: [] },
    set: { A: null, AAAA: null },
    marker: 'delete',
  };
}
