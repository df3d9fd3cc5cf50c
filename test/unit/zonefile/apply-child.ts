/**
 * Run as a separate process by lock.test.ts: one `apply` of a first claim, so that several
 * processes compete for the same zone file lock. Prints the chunk errors as JSON.
 * Usage: node apply-child.ts <directory> <name> <address> <start-at-epoch-ms>
 */
import { ZoneFileBackend } from '../../../src/backends/zonefile/backend.ts';
import { claim, NOW, rrset, ZONE } from './helpers.ts';

const [directory = '', name = '', address = '', startAt = '0'] = process.argv.slice(2);
const backend = new ZoneFileBackend({ name: 'files', directory, zones: [ZONE], now: () => NOW });
// Start together, so that the processes really contend for the lock.
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
const result = await backend.apply(ZONE, [claim(name, { A: rrset(60, address) })]);
process.stdout.write(JSON.stringify(result.chunks.map((c) => c.error?.message ?? null)));
