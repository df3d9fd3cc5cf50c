/**
 * The files the zonefile backend writes must load in real DNS servers: BIND's named-checkzone
 * and Knot's kzonecheck both run the server's own zone loader and integrity checks.
 */
import { execFile } from 'node:child_process';
import { access, constants, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ZoneFileBackend } from '../../src/backends/zonefile/backend.ts';
import type { ZoneFileBackendOptions } from '../../src/backends/zonefile/backend.ts';
import type { NameChange } from '../../src/plan/types.ts';
import { claimChange } from '../harness/changes.ts';

const ZONE = 'example.com';
const MARKER = 'heritage=apexalias,owner=ctl,resource=default/apex';

const PACKAGES: Record<string, string> = {
  'named-checkzone': 'bind9-utils',
  kzonecheck: 'knot-dnssecutils',
};

/** The absolute path of a program; fails (never skips) when it is not installed. */
async function which(program: string): Promise<string> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = join(dir, program);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  throw new Error(
    `${program} is not installed. \`npm test\` installs it (Debian package ${PACKAGES[program]}); ` +
      `or run: apt-get install -y --no-install-recommends ${PACKAGES[program]}`,
  );
}

interface Run {
  code: number;
  output: string;
}

function run(program: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(program, args, { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

async function checkBoth(file: string): Promise<void> {
  const named = await run(await which('named-checkzone'), ['-k', 'fail', '-i', 'full', ZONE, file]);
  expect(named.output).toContain('OK');
  expect(named, `named-checkzone rejected:\n${await readFile(file, 'utf8')}`).toMatchObject({ code: 0 });
  const knot = await run(await which('kzonecheck'), ['-o', ZONE, file]);
  expect(knot, `kzonecheck rejected:\n${await readFile(file, 'utf8')}`).toMatchObject({ code: 0 });
}

/** BIND's canonical dump of a zone file: one record per line, absolute names, sorted. */
async function bindDump(file: string): Promise<string[]> {
  const dump = await run(await which('named-checkzone'), ['-q', '-D', '-o', '-', ZONE, file]);
  expect(dump.code, dump.output).toBe(0);
  return dump.output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split(/\s+/).join(' '))
    .sort();
}

const claim = (name: string, set: NameChange['set']): NameChange => claimChange(name, set, MARKER);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apexalias-zonefile-bind-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function backend(opts: Partial<ZoneFileBackendOptions> = {}): ZoneFileBackend {
  return new ZoneFileBackend({ name: 'files', directory: dir, zones: [ZONE], ...opts });
}

describe('zone files written by the zonefile backend load in BIND and Knot', () => {
  it('a zone created from nothing with the default nameserver', async () => {
    const b = backend();
    const result = await b.apply(ZONE, [
      claim(ZONE, {
        A: { ttl: 60, addresses: ['192.0.2.1', '192.0.2.2'] },
        AAAA: { ttl: 60, addresses: ['2001:db8::1'] },
      }),
      claim(`www.${ZONE}`, { A: { ttl: 300, addresses: ['192.0.2.3'] } }),
    ]);
    expect(result.chunks.map((c) => c.error)).toEqual([undefined]);
    await checkBoth(b.zoneFilePath(ZONE));
  });

  it('a zone created from nothing with configured nameservers', async () => {
    const b = backend({ nameservers: ['ns1.dns-provider.net', 'ns2.dns-provider.net'] });
    const result = await b.apply(ZONE, [claim(ZONE, { A: { ttl: 60, addresses: ['192.0.2.1'] } })]);
    expect(result.chunks.map((c) => c.error)).toEqual([undefined]);
    await checkBoth(b.zoneFilePath(ZONE));
  });

  it('a hand-written zone keeps every other record exactly as BIND reads it', async () => {
    const file = join(dir, `${ZONE}.zone`);
    const original = `; hand-written
$TTL 1h
@   IN SOA ns1 hostmaster ( 2024010101 7200 900 1209600 300 )
    IN NS  ns1
    IN NS  ns2.dns-provider.net.
    IN MX  10 mail
    IN TXT "v=spf1 mx -all" ; comment
    IN CAA 0 issue "letsencrypt.org"
ns1  IN A 192.0.2.53
mail IN A 192.0.2.25
     IN AAAA 2001:DB8:0:0::25
*.wild 60 IN A 192.0.2.99
_sip._tcp 60 SRV 10 5 5060 mail
quote 60 TXT "semi;colon" "quote\\"d" \\065\\066 ( "paren"
    "second line" )
long 60 TXT "${'x'.repeat(255)}" "${'y'.repeat(100)}"
$ORIGIN sub.example.com.
a 2m IN A 10.0.0.1
b    IN PTR a
c    IN CNAME a
`;
    await writeFile(file, original);
    const before = await bindDump(file);

    const b = backend();
    const result = await b.apply(ZONE, [
      claim(ZONE, { A: { ttl: 60, addresses: ['192.0.2.1'] } }),
      claim(`www.${ZONE}`, {
        A: { ttl: 60, addresses: ['192.0.2.3'] },
        AAAA: { ttl: 60, addresses: ['2001:db8::3'] },
      }),
    ]);
    expect(result.chunks.map((c) => c.error)).toEqual([undefined]);
    await checkBoth(file);

    const after = await bindDump(file);
    const ours = (line: string): boolean =>
      / IN SOA /.test(line) ||
      line.startsWith('www.example.com. ') ||
      line.startsWith('_apexalias.') ||
      /^example\.com\. \d+ IN A /.test(line);
    expect(after.filter((l) => !ours(l))).toEqual(before.filter((l) => !ours(l)));
    expect(after.filter(ours)).toEqual(
      [
        `example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. ${after.find((l) => / SOA /.test(l))?.split(' ')[6]} 7200 900 1209600 300`,
        'example.com. 60 IN A 192.0.2.1',
        `_apexalias.example.com. 60 IN TXT "${MARKER}"`,
        'www.example.com. 60 IN A 192.0.2.3',
        'www.example.com. 60 IN AAAA 2001:db8::3',
        `_apexalias.www.example.com. 60 IN TXT "${MARKER}"`,
      ].sort(),
    );
  });
});
