/**
 * The test authoritative server as a standalone process, for the README demo:
 *
 *   node test/harness/authserver-main.ts --port 5300 --records test/harness/authserver-demo.yaml
 *
 * The records file (YAML or JSON) maps names to their data:
 *
 *   lb.example.net: { ttl: 60, A: [192.0.2.10], AAAA: ["2001:db8::10"] }
 *   app.example.net: { ttl: 300, CNAME: lb.example.net }
 *   broken.example.net: { behaviour: servfail }
 *
 * SIGHUP reloads the file; SIGINT/SIGTERM stop the server.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';

import YAML from 'yaml';

import type { AuthBehaviour } from './authserver.ts';
import { TestAuthServer } from './authserver.ts';

interface RecordEntry {
  ttl?: number;
  A?: string[];
  AAAA?: string[];
  CNAME?: string;
  behaviour?: AuthBehaviour;
}

function load(server: TestAuthServer, file: string): number {
  const parsed: unknown = YAML.parse(fs.readFileSync(file, 'utf8'));
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${file}: expected a map of names to { ttl, A, AAAA, CNAME, behaviour }`);
  }
  server.clear();
  const entries = Object.entries(parsed as Record<string, RecordEntry>);
  for (const [name, entry] of entries) {
    const ttl = entry.ttl ?? 300;
    if (entry.CNAME !== undefined) server.setCname(name, entry.CNAME, ttl);
    if (entry.A !== undefined) server.setAddresses(name, 'A', entry.A, ttl);
    if (entry.AAAA !== undefined) server.setAddresses(name, 'AAAA', entry.AAAA, ttl);
    if (entry.behaviour !== undefined) server.setBehaviour(name, entry.behaviour);
  }
  return entries.length;
}

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, records: { type: 'string' } },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535)
  throw new Error(`--port: not a port: ${values.port}`);

const server = await TestAuthServer.start(port === 0 ? {} : { port });
const recordsFile = values.records;
if (recordsFile !== undefined) {
  const count = load(server, recordsFile);
  console.log(`loaded ${count} names from ${recordsFile}`);
  process.on('SIGHUP', () => {
    try {
      console.log(`reloaded ${load(server, recordsFile)} names from ${recordsFile}`);
    } catch (err) {
      console.error(`reload failed, keeping the old records: ${String(err)}`);
    }
  });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.stop().then(() => process.exit(0));
  });
}
console.log(`listening on ${server.endpoint.host}:${server.endpoint.port}`);
