import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HTTPS_TYPE,
  SVCB_TYPE,
  encodeAliasMode,
  encodeSvcb,
  formatSvcb,
  parseSvcb,
} from '../../src/dns/svcb.ts';
import type { SvcbRecord } from '../../src/dns/svcb.ts';
import { startBind } from '../harness/bind.ts';
import type { BindServer } from '../harness/bind.ts';
import { startKnot } from '../harness/knot.ts';
import type { KnotServer } from '../harness/knot.ts';
import { requireBinary, runCommand } from '../harness/process.ts';
import type { TestDnsServer } from '../harness/server-common.ts';
import { zoneFileText } from '../harness/server-common.ts';

const ZONE = 'example.test';

/** What apexalias will write at an apex: one AliasMode record. */
const ALIAS: SvcbRecord = { priority: 0, target: 'lb.cdn.example.net.', params: [] };

/** A ServiceMode record with every registered key, escapes in a list and two unknown keys. */
const SERVICE: SvcbRecord = {
  priority: 1,
  target: 'svc.example.test.',
  params: [
    { key: 'mandatory', keys: [1, 3] },
    { key: 'alpn', protocols: [Buffer.from('h3'), Buffer.from('h2'), Buffer.from('f\\oo,bar')] },
    { key: 'no-default-alpn' },
    { key: 'port', port: 8443 },
    { key: 'ipv4hint', addresses: ['192.0.2.1', '198.51.100.7'] },
    { key: 'ech', config: Buffer.from('0004deadbeef', 'hex') },
    { key: 'ipv6hint', addresses: ['2001:db8::1', '2001:db8:122:344::c000:221'] },
    { key: 'unknown', code: 667, value: Buffer.from('hello\xd2qoo', 'latin1') },
    { key: 'unknown', code: 65280, value: Buffer.alloc(0) },
  ],
};

/** The RFC 9460 D.2 record whose keys are unordered in presentation format, as an SVCB record. */
const SVCB_RECORD = parseSvcb('16 foo.example.org. alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1');

const RECORDS = [
  `@ 300 IN HTTPS ${formatSvcb(ALIAS)}`,
  `svc 300 IN HTTPS ${formatSvcb(SERVICE)}`,
  `_8443._foo 300 IN SVCB ${formatSvcb(SVCB_RECORD)}`,
];

/** RFC 9460 Appendix D.3, RDATA only. */
const FAILURE_VECTORS = [
  '1 foo.example.com. key123=abc key123=def',
  '1 foo.example.com. mandatory',
  '1 foo.example.com. alpn',
  '1 foo.example.com. port',
  '1 foo.example.com. ipv4hint',
  '1 foo.example.com. ipv6hint',
  '1 foo.example.com. no-default-alpn=abc',
  '1 foo.example.com. mandatory=key123',
  '1 foo.example.com. mandatory=mandatory',
  '1 foo.example.com. mandatory=key123,key123 key123=abc',
];

describe('SVCB/HTTPS presentation output in real zone-file checkers', () => {
  let dir: string;
  const checkers = (): Array<[string, (file: string) => Promise<{ code: number; output: string }>]> => {
    const named = requireBinary('named-checkzone', 'bind9-utils');
    const knot = requireBinary('kzonecheck', 'knot-dnssecutils');
    const run = async (bin: string, args: string[]) => {
      const res = await runCommand(bin, args);
      return { code: res.code, output: `${res.stdout}${res.stderr}` };
    };
    return [
      ['named-checkzone', (file) => run(named, [ZONE, file])],
      ['kzonecheck', (file) => run(knot, ['-o', ZONE, file])],
    ];
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'apexalias-svcb-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('named-checkzone and kzonecheck accept the AliasMode and ServiceMode records formatSvcb writes', async () => {
    const file = path.join(dir, 'good.zone');
    await fs.writeFile(file, zoneFileText({ name: ZONE, records: RECORDS }));
    for (const [name, check] of checkers()) {
      const res = await check(file);
      expect(res.code, `${name}: ${res.output}`).toBe(0);
    }
  });

  it.each(FAILURE_VECTORS)('both checkers refuse the D.3 vector our parser refuses: %s', async (rdata) => {
    expect(() => parseSvcb(rdata)).toThrow(expect.objectContaining({ name: 'SvcbError' }));
    const file = path.join(dir, 'bad.zone');
    await fs.writeFile(file, zoneFileText({ name: ZONE, records: [`bad 300 IN SVCB ${rdata}`] }));
    for (const [name, check] of checkers()) {
      const res = await check(file);
      expect(res.code, `${name} accepted ${rdata}: ${res.output}`).not.toBe(0);
    }
  });
});

describe.each([
  ['BIND', () => startBind({ zones: [{ name: ZONE, records: RECORDS }] })],
  ['Knot', () => startKnot({ zones: [{ name: ZONE, records: RECORDS }] })],
] as const)('%s serves the records and the codec reads what it serves', (serverName, start) => {
  let server: TestDnsServer & (BindServer | KnotServer);
  beforeAll(async () => {
    server = await start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.each([
    ['apex AliasMode', ZONE, 'HTTPS', ALIAS],
    ['ServiceMode', `svc.${ZONE}`, 'HTTPS', SERVICE],
    ['SVCB', `_8443._foo.${ZONE}`, 'SVCB', SVCB_RECORD],
  ] as const)(
    '%s: dig shows it, and its wire octets are the ones encodeSvcb makes',
    async (_t, name, type, record) => {
      const shown = await server.dig(name, type);
      expect(shown.rcode).toBe('NOERROR');
      expect(shown.answers).toHaveLength(1);
      expect(parseSvcb(shown.answers[0]!)).toEqual(record);

      // +unknownformat prints the RFC 3597 form: the octets exactly as the server sent them.
      const generic = await server.dig(name, type, { extraArgs: ['+unknownformat'] });
      const raw = generic.records.filter(
        (r) => r.type === `TYPE${type === 'HTTPS' ? HTTPS_TYPE : SVCB_TYPE}`,
      );
      expect(raw).toHaveLength(1);
      const text = raw[0]!.data;
      expect(text.startsWith('\\# ')).toBe(true);
      expect(parseSvcb(text)).toEqual(record);
      const served = Buffer.from(text.split(' ').slice(2).join(''), 'hex');
      expect(served.toString('hex')).toBe(encodeSvcb(record).toString('hex'));
      if (record.priority === 0) expect(served).toEqual(encodeAliasMode(record.target));
      console.log(`${serverName} dig ${name} ${type}:\n  ${shown.answers[0]}\n  ${text}`);
    },
  );
});
