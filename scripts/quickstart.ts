/**
 * The README quick start: `npm run quickstart`. Works offline: the example target lb.demo.test is
 * served by the project's own small authoritative server on a loopback port, and the resolver is
 * pointed at it. Then the real CLI runs `sync` twice with the built-in zonefile backend and
 * prints the zone file it wrote; the second run shows that nothing needs writing.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { TestAuthServer } from '../test/harness/authserver.ts';

const upstream = await TestAuthServer.start();
upstream.setCname('lb.demo.test', 'edge-7.cdn.demo.test', 300);
upstream.setAddresses('edge-7.cdn.demo.test', 'A', ['192.0.2.10', '192.0.2.11'], 60);
upstream.setAddresses('edge-7.cdn.demo.test', 'AAAA', ['2001:db8::10'], 60);
const resolver = `${upstream.endpoint.host}:${upstream.endpoint.port}`;
console.log(`demo upstream serving lb.demo.test → edge-7.cdn.demo.test on ${resolver}\n`);

// Asynchronous on purpose: the demo upstream answers from this process's event loop.
const run = async (args: string[]): Promise<number> => {
  console.log(`$ apexalias ${args.join(' ')}`);
  const child = spawn(process.execPath, ['bin/apexalias.js', ...args], { stdio: 'inherit' });
  const [code] = (await once(child, 'exit')) as [number | null];
  console.log('');
  return code ?? 1;
};
try {
  const args = ['sync', '-f', 'examples/quickstart.yaml', '--resolver', resolver, '--log-format', 'text'];
  const first = await run(args);
  console.log('$ cat zones/example.com.zone');
  console.log(readFileSync('zones/example.com.zone', 'utf8'));
  const second = await run(args);
  process.exitCode = first || second;
} finally {
  await upstream.stop();
}
