import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZoneFileBackend } from '../../src/backends/zonefile/backend.ts';
import { parseZoneFile } from '../../src/backends/zonefile/parse.ts';
import { normalizeAddresses } from '../../src/plan/addresses.ts';
import { zoneFileText } from '../harness/server-common.ts';
import { describeBackendConformance } from './conformance/suite.ts';

describeBackendConformance('zonefile', async () => {
  const zone = 'example.test';
  const dir = await mkdtemp(join(tmpdir(), 'apexalias-zonefile-'));
  const backend = new ZoneFileBackend({ name: 'local', directory: dir, zones: [zone] });
  const file = backend.zoneFilePath(zone);
  await writeFile(file, zoneFileText({ name: zone }));
  return {
    backend,
    zone,
    // A hand edit is an operator appending lines to the file.
    handAdd: (lines) => appendFile(file, lines.map((l) => `${l}\n`).join('')),
    async lookup(name, type) {
      const records = parseZoneFile(await readFile(file, 'utf8'), zone).filter(
        (r) => r.name === name && r.type === type,
      );
      const data = records.map((r) => r.rdata);
      return type === 'A' || type === 'AAAA' ? normalizeAddresses(data) : data.sort();
    },
    stop: () => rm(dir, { recursive: true, force: true }),
  };
});
