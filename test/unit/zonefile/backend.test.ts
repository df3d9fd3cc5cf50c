import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackendError } from '../../../src/backends/errors.ts';
import { ZoneFileBackend } from '../../../src/backends/zonefile/backend.ts';
import type { ZoneFileBackendOptions } from '../../../src/backends/zonefile/backend.ts';
import { nodeFs } from '../../../src/backends/zonefile/fs.ts';
import type { ZoneFileFs } from '../../../src/backends/zonefile/fs.ts';
import { parseZoneFile } from '../../../src/backends/zonefile/parse.ts';
import type { ZoneRecord } from '../../../src/backends/zonefile/parse.ts';
import { sortRecords } from '../../../src/backends/zonefile/serialize.ts';
import type { ApplyResult } from '../../../src/backends/types.ts';
import type { NameChange } from '../../../src/plan/types.ts';
import { claim, MARKER, NOW, release, rrset, tempDir, update, ZONE } from './helpers.ts';

let dir: string;
let cleanup: () => Promise<void>;
let path: string;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  path = join(dir, `${ZONE}.zone`);
});
afterEach(async () => {
  await cleanup();
});

function backend(opts: Partial<ZoneFileBackendOptions> = {}): ZoneFileBackend {
  return new ZoneFileBackend({ name: 'files', directory: dir, zones: [ZONE], now: () => NOW, ...opts });
}

/** The error of the single chunk, asserted to be there. */
function chunkError(result: ApplyResult): BackendError {
  expect(result.chunks).toHaveLength(1);
  const error = result.chunks[0]?.error;
  expect(error).toBeInstanceOf(BackendError);
  return error as BackendError;
}

function expectLanded(result: ApplyResult): void {
  expect(result.chunks.map((c) => c.error)).toEqual([undefined]);
}

async function records(): Promise<ZoneRecord[]> {
  return parseZoneFile(await readFile(path, 'utf8'), ZONE);
}

async function soaSerial(): Promise<number> {
  const soa = (await records()).find((r) => r.type === 'SOA');
  return Number(soa?.rdata.split(' ')[2]);
}

/** A zone file an operator wrote by hand, with records apexalias must never touch. */
const HAND_WRITTEN = `$TTL 3600
@ IN SOA ns1.example.com. hostmaster.example.com. ( 2024010101 7200 900 1209600 300 )
  IN NS ns1
  IN NS ns2.example.net.
  IN MX 10 mail
  IN TXT "v=spf1 mx -all"
ns1 IN A 192.0.2.53
mail IN A 192.0.2.25
other 60 IN A 192.0.2.77
other 60 IN AAAA 2001:db8::77
alias 60 IN CNAME other
`;

describe('ZoneFileBackend basics', () => {
  it('reports its type and capabilities', async () => {
    const b = backend();
    expect(b.type).toBe('zonefile');
    expect(b.name).toBe('files');
    expect(b.capabilities()).toEqual({ atomicBatch: true, conditional: true, maxBatchNames: 100000 });
    expect(b.zoneFilePath('Example.COM.')).toBe(path);
    await b.close();
  });

  it('reads a missing zone file as an empty zone', async () => {
    const result = await backend().read(ZONE, ['example.com', 'WWW.example.com.']);
    expect([...result.entries()]).toEqual([
      ['example.com', { name: 'example.com' }],
      ['www.example.com', { name: 'www.example.com' }],
    ]);
  });

  it('refuses a zone it does not serve and names outside the zone', async () => {
    const b = backend();
    await expect(b.read('example.net', ['example.net'])).rejects.toMatchObject({ kind: 'NOTZONE' });
    await expect(
      b.apply('example.net', [claim('example.net', { A: rrset(60, '192.0.2.1') })]),
    ).rejects.toMatchObject({
      kind: 'NOTZONE',
      code: 'ERR_BACKEND_NOTZONE',
    });
    await expect(b.read(ZONE, ['badexample.com'])).rejects.toMatchObject({ kind: 'NOTZONE' });
    await expect(
      b.apply(ZONE, [claim('www.example.net', { A: rrset(60, '192.0.2.1') })]),
    ).rejects.toMatchObject({
      kind: 'NOTZONE',
    });
    await expect(b.read('../etc', ['x'])).rejects.toMatchObject({ kind: 'NOTZONE' });
    await expect(readdir(dir)).resolves.toEqual([]);
  });

  it('serves any zone with "*"', async () => {
    const b = backend({ zones: ['*'] });
    expectLanded(await b.apply('example.org', [claim('example.org', { A: rrset(60, '192.0.2.1') })]));
    expect((await b.read('example.org', ['example.org'])).get('example.org')?.A).toEqual(
      rrset(60, '192.0.2.1'),
    );
  });

  it('does nothing for an empty change list', async () => {
    expect(await backend().apply(ZONE, [])).toEqual({ chunks: [] });
    await expect(readdir(dir)).resolves.toEqual([]);
  });
});

describe('ZoneFileBackend writes', () => {
  it('creates a missing zone file with SOA, NS, glue, the addresses and the marker', async () => {
    const nested = join(dir, 'zones', 'nested');
    const b = backend({ directory: nested });
    const result = await b.apply(ZONE, [
      claim(ZONE, { A: rrset(120, '192.0.2.2', '192.0.2.1'), AAAA: rrset(60, '2001:DB8:0:0::1') }),
    ]);
    expect(result).toEqual({ chunks: [{ names: [ZONE], records: 4 }] });
    const text = await readFile(join(nested, `${ZONE}.zone`), 'utf8');
    expect(text).toContain(
      'managed in part by apexalias: A/AAAA at names with an _apexalias marker are written by it',
    );
    expect(text).toContain('\n$ORIGIN example.com.\n$TTL 300\n');
    expect(sortRecords(ZONE, parseZoneFile(text, ZONE))).toEqual(
      sortRecords(ZONE, [
        {
          name: ZONE,
          ttl: 300,
          class: 'IN',
          type: 'SOA',
          rdata: 'ns1.example.com. hostmaster.example.com. 2025112500 3600 600 86400 60',
        },
        { name: ZONE, ttl: 300, class: 'IN', type: 'NS', rdata: 'ns1.example.com.' },
        { name: 'ns1.example.com', ttl: 300, class: 'IN', type: 'A', rdata: '127.0.0.1' },
        { name: ZONE, ttl: 120, class: 'IN', type: 'A', rdata: '192.0.2.1' },
        { name: ZONE, ttl: 120, class: 'IN', type: 'A', rdata: '192.0.2.2' },
        { name: ZONE, ttl: 60, class: 'IN', type: 'AAAA', rdata: '2001:db8::1' },
        { name: `_apexalias.${ZONE}`, ttl: 60, class: 'IN', type: 'TXT', rdata: `"${MARKER}"` },
      ]),
    );
    expect((await b.read(ZONE, [ZONE])).get(ZONE)).toEqual({
      name: ZONE,
      A: rrset(120, '192.0.2.1', '192.0.2.2'),
      AAAA: rrset(60, '2001:db8::1'),
      marker: [MARKER],
    });
    // Nothing but the zone file is left behind: no lock, no temp file.
    await expect(readdir(nested)).resolves.toEqual([`${ZONE}.zone`]);
  });

  it('writes the configured nameservers into a new zone, without glue', async () => {
    const b = backend({ nameservers: ['ns1.provider.net', 'NS2.provider.net.'] });
    expectLanded(await b.apply(ZONE, [claim('www.example.com', { A: rrset(60, '192.0.2.1') })]));
    const written = await records();
    expect(written.filter((r) => r.type === 'NS').map((r) => r.rdata)).toEqual([
      'ns1.provider.net.',
      'ns2.provider.net.',
    ]);
    expect(written.filter((r) => r.name.startsWith('ns'))).toEqual([]);
  });

  it('gives the marker the smallest written TTL, or 300 without addresses', async () => {
    const b = backend();
    expectLanded(
      await b.apply(ZONE, [
        claim('a.example.com', { A: rrset(900, '192.0.2.1'), AAAA: rrset(45, '2001:db8::1') }),
        claim('b.example.com', {}),
      ]),
    );
    const markers = (await records()).filter((r) => r.type === 'TXT');
    expect(markers.map((r) => [r.name, r.ttl])).toEqual([
      ['_apexalias.a.example.com', 45],
      ['_apexalias.b.example.com', 300],
    ]);
  });

  it('replaces an RRset, bumps the serial, and deletes', async () => {
    const b = backend();
    expectLanded(await b.apply(ZONE, [claim('www.example.com', { A: rrset(60, '192.0.2.1') })]));
    expect(await soaSerial()).toBe(2025112500);

    expectLanded(
      await b.apply(ZONE, [update('www.example.com', { A: rrset(30, '192.0.2.9', '192.0.2.8') })]),
    );
    expect(await soaSerial()).toBe(2025112501);
    expect((await b.read(ZONE, ['www.example.com'])).get('www.example.com')).toEqual({
      name: 'www.example.com',
      A: rrset(30, '192.0.2.8', '192.0.2.9'),
      marker: [MARKER],
    });

    expectLanded(
      await b.apply(ZONE, [update('www.example.com', { A: null, AAAA: rrset(60, '2001:db8::5') })]),
    );
    expect((await b.read(ZONE, ['www.example.com'])).get('www.example.com')).toEqual({
      name: 'www.example.com',
      AAAA: rrset(60, '2001:db8::5'),
      marker: [MARKER],
    });

    expectLanded(await b.apply(ZONE, [release('www.example.com')]));
    expect(await soaSerial()).toBe(2025112503);
    expect((await b.read(ZONE, ['www.example.com'])).get('www.example.com')).toEqual({
      name: 'www.example.com',
    });
    expect((await records()).filter((r) => r.name.includes('www'))).toEqual([]);
  });

  it('bumps a serial below today to YYYYMMDD00 and one at or above it by one', async () => {
    await writeFile(path, HAND_WRITTEN);
    const b = backend();
    expectLanded(await b.apply(ZONE, [claim('www.example.com', { A: rrset(60, '192.0.2.1') })]));
    expect(await soaSerial()).toBe(2025112500);

    await writeFile(path, HAND_WRITTEN.replace('2024010101', '4294967295'));
    expectLanded(await b.apply(ZONE, [claim('www.example.com', { A: rrset(60, '192.0.2.1') })]));
    // Serials wrap: today's date serial is RFC 1982-greater than 4294967295.
    expect(await soaSerial()).toBe(2025112500);

    await writeFile(path, HAND_WRITTEN.replace('2024010101', '2030010100'));
    expectLanded(await b.apply(ZONE, [claim('www.example.com', { A: rrset(60, '192.0.2.1') })]));
    expect(await soaSerial()).toBe(2030010101);
  });

  it('a zone file with a byte that is not UTF-8 is refused and left byte for byte as it was', async () => {
    // Found by test/unit/fuzz: decoded lossily, the byte became U+FFFD and was written back.
    const at = Buffer.from(HAND_WRITTEN).indexOf('hostmaster');
    const before = Buffer.concat([
      Buffer.from(HAND_WRITTEN).subarray(0, at),
      Buffer.from([0xe9]),
      Buffer.from(HAND_WRITTEN).subarray(at),
    ]);
    await writeFile(path, before);
    const result = await backend().apply(ZONE, [claim('www.example.com', { A: rrset(60, '192.0.2.1') })]);
    expect(result.chunks[0]?.error?.message).toMatch(/not valid UTF-8/);
    expect(await readFile(path)).toEqual(before);
  });

  it('does not rewrite the file when nothing changes', async () => {
    await writeFile(path, `${HAND_WRITTEN}_apexalias.other 60 TXT "${MARKER}"\n`);
    const before = await readFile(path);
    const { mtimeMs } = await stat(path);
    const b = backend();
    // Same addresses, spelled differently and in another order.
    expectLanded(
      await b.apply(ZONE, [
        update('other.example.com', { AAAA: rrset(60, '2001:DB8:0::77'), A: rrset(60, '192.0.2.77') }),
      ]),
    );
    expect(await readFile(path)).toEqual(before);
    expect((await stat(path)).mtimeMs).toBe(mtimeMs);
  });

  it('never touches records other than A/AAAA at the changed names and the marker', async () => {
    await writeFile(path, HAND_WRITTEN);
    const before = await records();
    const b = backend();
    expectLanded(
      await b.apply(ZONE, [
        {
          ...claim(ZONE, { A: rrset(60, '192.0.2.1') }),
          expect: { marker: 'absent', noCname: true, absent: ['A'] },
        },
        // Adopting existing addresses at `other` (the plan expects nothing absent).
        {
          ...claim('other.example.com', { A: rrset(60, '192.0.2.78') }),
          expect: { marker: 'absent', noCname: true, absent: [] },
        },
      ]),
    );
    const after = await records();
    const untouched = (r: ZoneRecord): boolean =>
      r.type !== 'SOA' &&
      !(r.name === ZONE && r.type === 'A') &&
      !(r.name === 'other.example.com' && r.type === 'A') &&
      !r.name.startsWith('_apexalias.');
    expect(sortRecords(ZONE, after.filter(untouched))).toEqual(sortRecords(ZONE, before.filter(untouched)));
    // The SOA keeps every field but the serial, and its TTL.
    expect(after.find((r) => r.type === 'SOA')).toEqual({
      ...before.find((r) => r.type === 'SOA'),
      rdata: 'ns1.example.com. hostmaster.example.com. 2025112500 7200 900 1209600 300',
    });
    expect(after.filter((r) => r.type === 'A' && r.name === 'other.example.com').map((r) => r.rdata)).toEqual(
      ['192.0.2.78'],
    );
    // The file's own $TTL survives the rewrite.
    expect(await readFile(path, 'utf8')).toContain('\n$TTL 3600\n');
  });

  it('keeps the file mode', async () => {
    await writeFile(path, HAND_WRITTEN);
    await chmod(path, 0o640);
    expectLanded(await backend().apply(ZONE, [claim('www.example.com', { A: rrset(60, '192.0.2.1') })]));
    expect((await stat(path)).mode & 0o777).toBe(0o640);
  });
});

describe('ZoneFileBackend reads', () => {
  it('reads addresses canonically, a CNAME, and every marker TXT joined', async () => {
    await writeFile(
      path,
      `${HAND_WRITTEN}
www 300 A 192.0.2.2
www 60 A 192.0.2.10
www 60 AAAA 2001:DB8:0:0:0:0:0:1
www 60 TYPE28 \\# 16 20010db8000000000000000000000002
_apexalias.www 60 TXT "heritage=apexalias," "owner=ctl,resource=default/apex"
_apexalias.www 60 TXT "second"
_apexalias.alias 60 TXT other
`,
    );
    const result = await backend().read(ZONE, ['www.example.com', 'alias.example.com', 'example.com']);
    expect(result.get('www.example.com')).toEqual({
      name: 'www.example.com',
      A: rrset(60, '192.0.2.2', '192.0.2.10'),
      AAAA: rrset(60, '2001:db8::1'),
      marker: [MARKER, 'second'],
    });
    expect(result.get('alias.example.com')).toEqual({
      name: 'alias.example.com',
      cname: 'other.example.com',
      marker: ['other'],
    });
    expect(result.get('example.com')).toEqual({ name: 'example.com' });
  });

  it('reads addresses in RFC 3597 generic form', async () => {
    await writeFile(
      path,
      '$TTL 60\nwww A \\# 4 c0000201\nwww AAAA \\# 16 20010db8 000000000000000000000003\n',
    );
    expect((await backend().read(ZONE, ['www.example.com'])).get('www.example.com')).toEqual({
      name: 'www.example.com',
      A: rrset(60, '192.0.2.1'),
      AAAA: rrset(60, '2001:db8::3'),
    });
  });

  it('reports a broken zone file with its path and line as a SERVER error', async () => {
    await writeFile(path, '$TTL 60\nwww A 192.0.2.1\n$INCLUDE other\n');
    const b = backend();
    await expect(b.read(ZONE, [ZONE])).rejects.toMatchObject({
      kind: 'SERVER',
      detail: 'ERR_ZONEFILE_PARSE',
      message: expect.stringContaining(`${path}:3: $INCLUDE is not supported`),
    });
    const error = chunkError(await b.apply(ZONE, [claim('x.example.com', { A: rrset(60, '192.0.2.1') })]));
    expect(error.kind).toBe('SERVER');
    expect(error.message).toContain(`${path}:3:`);
  });
});

describe('ZoneFileBackend preconditions', () => {
  const cases: Array<[string, string, NameChange, RegExp]> = [
    [
      'marker expected absent but present',
      'YXRRSET',
      claim('owned.example.com', { A: rrset(60, '192.0.2.1') }),
      /_apexalias.owned.example.com holds TXT/,
    ],
    [
      'marker expected with another value',
      'NXRRSET',
      update(
        'owned.example.com',
        { A: rrset(60, '192.0.2.1') },
        'heritage=apexalias,owner=other,resource=x/y',
      ),
      /expected \["heritage=apexalias,owner=other,resource=x\/y"\]/,
    ],
    [
      'marker expected but missing',
      'NXRRSET',
      update('free.example.com', { A: rrset(60, '192.0.2.1') }),
      /holds TXT \[\], expected/,
    ],
    [
      'a CNAME at the name',
      'YXRRSET',
      claim('alias.example.com', { A: rrset(60, '192.0.2.1') }),
      /alias.example.com holds a CNAME/,
    ],
    [
      'an address type expected absent',
      'YXRRSET',
      claim('other.example.com', { A: rrset(60, '192.0.2.1') }),
      /other.example.com already holds A records/,
    ],
  ];

  it.each(cases)(
    '%s: nothing is written, not even the other changes',
    async (_title, detail, failing, message) => {
      await writeFile(path, `${HAND_WRITTEN}owned 60 A 192.0.2.50\n_apexalias.owned 60 TXT "${MARKER}"\n`);
      const before = await readFile(path);
      const { mtimeMs } = await stat(path);
      const result = await backend().apply(ZONE, [
        claim('fine.example.com', { A: rrset(60, '192.0.2.1') }),
        failing,
      ]);
      const error = chunkError(result);
      expect(error).toMatchObject({
        kind: 'PRECONDITION',
        code: 'ERR_BACKEND_PRECONDITION',
        detail,
        retryable: true,
      });
      expect(error.message).toMatch(message);
      expect(result.chunks[0]?.names).toEqual(['fine.example.com', failing.name]);
      expect(await readFile(path)).toEqual(before);
      expect((await stat(path)).mtimeMs).toBe(mtimeMs);
      await expect(readdir(dir)).resolves.toEqual([`${ZONE}.zone`]);
    },
  );

  it('refuses a marker where a CNAME is', async () => {
    await writeFile(path, `${HAND_WRITTEN}_apexalias.www 60 CNAME other\n`);
    const error = chunkError(
      await backend().apply(ZONE, [claim('www.example.com', { A: rrset(60, '192.0.2.1') })]),
    );
    expect(error.kind).toBe('PRECONDITION');
    expect(error.message).toMatch(/no marker TXT can be written/);
  });

  it('refuses invalid changes before touching anything', async () => {
    const b = backend();
    const wrongFamily = chunkError(
      await b.apply(ZONE, [claim('www.example.com', { A: rrset(60, '2001:db8::1') })]),
    );
    expect(wrongFamily).toMatchObject({ kind: 'INVALID' });
    expect(wrongFamily.message).toMatch(/"2001:db8::1" is not an A address/);
    const badTtl = chunkError(await b.apply(ZONE, [claim('www.example.com', { A: rrset(-5, '192.0.2.1') })]));
    expect(badTtl.message).toMatch(/TTL -5/);
    await expect(readdir(dir)).resolves.toEqual([]);
  });
});

describe('ZoneFileBackend I/O failures', () => {
  it('reports a failed rename as SERVER with the path, leaving the zone file and directory clean', async () => {
    await writeFile(path, HAND_WRITTEN);
    const failingFs: ZoneFileFs = {
      ...nodeFs,
      rename: async (from, to) => {
        if (to === path)
          throw Object.assign(new Error(`EIO: i/o error, rename '${from}' -> '${to}'`), { code: 'EIO' });
        return nodeFs.rename(from, to);
      },
    };
    const error = chunkError(
      await backend({ fs: failingFs }).apply(ZONE, [claim('www.example.com', { A: rrset(60, '192.0.2.1') })]),
    );
    expect(error).toMatchObject({ kind: 'SERVER', detail: 'EIO' });
    expect(error.message).toContain(`cannot write ${path}`);
    expect(await readFile(path, 'utf8')).toBe(HAND_WRITTEN);
    await expect(readdir(dir)).resolves.toEqual([`${ZONE}.zone`]);
  });

  it('reports an unreadable zone file as SERVER with the path', async () => {
    const failingFs: ZoneFileFs = {
      ...nodeFs,
      readFile: async (p, enc) => {
        if (p === path)
          throw Object.assign(new Error(`EACCES: permission denied, open '${p}'`), { code: 'EACCES' });
        return nodeFs.readFile(p, enc);
      },
    };
    await expect(backend({ fs: failingFs }).read(ZONE, [ZONE])).rejects.toMatchObject({
      kind: 'SERVER',
      detail: 'EACCES',
      message: expect.stringContaining(`cannot read ${path}`),
    });
  });

  it('reports a directory that cannot be created as SERVER with the path', async () => {
    await writeFile(join(dir, 'file'), 'x');
    const directory = join(dir, 'file', 'zones');
    const error = chunkError(
      await backend({ directory }).apply(ZONE, [claim('www.example.com', { A: rrset(60, '192.0.2.1') })]),
    );
    expect(error.kind).toBe('SERVER');
    expect(error.message).toContain(directory);
  });

  it('refuses to bump a zone without an SOA', async () => {
    await writeFile(path, '$TTL 60\nmail A 192.0.2.25\n');
    const error = chunkError(
      await backend().apply(ZONE, [claim('www.example.com', { A: rrset(60, '192.0.2.1') })]),
    );
    expect(error).toMatchObject({ kind: 'SERVER', detail: 'BADSOA' });
    expect(await readFile(path, 'utf8')).toBe('$TTL 60\nmail A 192.0.2.25\n');
  });
});
