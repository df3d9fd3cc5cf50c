/** The controller configuration every bench writes: one rfc2136 backend on the test BIND. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { TestAuthServer } from '../../test/harness/authserver.ts';
import type { BindServer } from '../../test/harness/bind.ts';

/**
 * Writes `<dir>/secret` (the TSIG secret) and `<dir>/<file>`: ownerId `bench`, the test
 * authoritative server as the only resolver, and one rfc2136 backend for `zones` on `bind`
 * (30 s per request). `nameservers: [the BIND itself]` when `verifyAtPrimary`, so that the
 * controller's nameserver checks ask the one server that serves the zones, instead of the zones'
 * NS records (`ns1.<zone>`, 127.0.0.1 port 53, where nothing of the bench listens). Returns the path.
 */
export async function writeBenchConfig(
  dir: string,
  file: string,
  opts: { bind: BindServer; upstream: TestAuthServer; zones: readonly string[]; verifyAtPrimary?: boolean },
): Promise<string> {
  const key = opts.bind.keys[0]!;
  await writeFile(path.join(dir, 'secret'), key.secret);
  const zones = opts.zones.map((z) => `      - ${z}`).join('\n');
  const text = `ownerId: bench
resolver: { servers: ["127.0.0.1:${opts.upstream.endpoint.port}"], timeoutMs: 2000, attempts: 3 }
backends:
  - name: bind
    type: rfc2136
    server: "127.0.0.1:${opts.bind.port}"
    timeoutMs: 30000
    tsig: { keyName: ${key.name}, algorithm: ${key.algorithm}, secretFile: secret }
${opts.verifyAtPrimary ? `    nameservers: ["127.0.0.1:${opts.bind.port}"]\n` : ''}    zones:
${zones}
`;
  const target = path.join(dir, file);
  await writeFile(target, text);
  return target;
}
