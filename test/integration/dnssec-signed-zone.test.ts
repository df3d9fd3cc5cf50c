import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NameserverVerifier } from '../../src/drift/nameservers.ts';
import { NetTransport } from '../../src/dns/transport.ts';
import { Resolver } from '../../src/resolve/resolver.ts';
import { TestAuthServer } from '../harness/authserver.ts';
import { startBind } from '../harness/bind.ts';
import type { BindServer } from '../harness/bind.ts';
import { delv } from '../harness/dnssec.ts';
import type { DelvResult } from '../harness/dnssec.ts';
import { rfc2136Backend, tsigKeyOf } from './conformance/rfc2136-fixture.ts';
import { runCli } from '../harness/cli.ts';
import type { CliResult } from '../harness/cli.ts';

/**
 * The alias zone itself is signed by BIND (dnssec-policy default, inline-signing): apexalias
 * writes plain RRsets over RFC 2136, BIND signs them, and `delv` validates what is served from
 * the zone's own key. RRSIG and NSEC records that the signer adds must not confuse apexalias.
 */
const ZONE = 'alias.test';
const MARKER = `_apexalias.${ZONE}`;
const MARKER_VALUE = 'heritage=apexalias,owner=signed,resource=web/apex';

describe('a signed alias zone: BIND signs what apexalias writes, delv validates it', () => {
  let bind: BindServer;
  let upstream: TestAuthServer;
  let anchor: string;
  let dir: string;
  let config: string;
  let manifest: string;
  /** How many 25 ms polls the signed zone needed to serve each write, for the report. */
  const signingPolls: number[] = [];

  const writeManifest = (families: string[]): Promise<void> =>
    writeFile(
      manifest,
      JSON.stringify({
        apiVersion: 'dns.apexalias.io/v1alpha1',
        kind: 'ApexAlias',
        metadata: { name: 'apex', namespace: 'web' },
        spec: { zone: ZONE, target: 'lb.cdn.test', addressFamilies: families },
      }),
    );
  const sync = (): Promise<CliResult> =>
    runCli(['--config', config, '--log-format', 'json', 'sync', '-f', manifest, '-o', 'json']);

  /**
   * Inline signing signs an update after BIND has answered it: waits (in counted 25 ms polls)
   * until the signed zone serves `expected` at `name` with an RRSIG over it, or its absence.
   */
  async function signedServes(name: string, type: string, expected: string[]): Promise<void> {
    for (let poll = 0; poll < 400; poll++) {
      const r = await bind.dig(name, type, { extraArgs: ['+dnssec'] });
      const answers = [...r.answers].sort();
      const signed = r.records.some((rec) => rec.type === 'RRSIG' && rec.data.startsWith(`${type} `));
      const denied = expected.length === 0 && r.authority.some((rec) => rec.type === 'NSEC');
      if (JSON.stringify(answers) === JSON.stringify([...expected].sort()) && (signed || denied)) {
        signingPolls.push(poll);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`the signed zone never served ${name} ${type} = ${expected.join(',') || '(none)'}`);
  }

  const validate = async (name: string, type: string): Promise<DelvResult> => {
    const r = await delv(bind, anchor, name, type);
    console.log(`delv ${name} ${type}:\n${r.stdout.trim()}`);
    return r;
  };

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: ZONE }], signedZones: [ZONE] });
    anchor = await bind.trustAnchor(ZONE);
    upstream = await TestAuthServer.start();
    upstream.setAddresses('lb.cdn.test', 'A', ['192.0.2.10'], 120);
    upstream.setAddresses('lb.cdn.test', 'AAAA', ['2001:db8::10'], 120);
    dir = await mkdtemp(join(tmpdir(), 'apexalias-signed-'));
    const key = bind.keys[0]!;
    await writeFile(join(dir, 'tsig.secret'), `${key.secret}\n`, { mode: 0o600 });
    config = join(dir, 'apexalias.yaml');
    await writeFile(
      config,
      [
        'ownerId: signed',
        'resolver:',
        `  servers: ["${upstream.endpoint.host}:${upstream.endpoint.port}"]`,
        '  timeoutMs: 500',
        'backends:',
        '  - name: primary',
        '    type: rfc2136',
        `    server: 127.0.0.1:${bind.port}`,
        `    zones: [${ZONE}]`,
        `    tsig: { keyName: ${key.name}, algorithm: ${key.algorithm}, secretFile: tsig.secret }`,
      ].join('\n'),
    );
    await mkdir(join(dir, 'manifests'));
    manifest = join(dir, 'manifests', 'apex.yaml');
    await writeManifest(['IPv4', 'IPv6']);
  });
  afterAll(async () => {
    console.log(`polls of 25 ms until the signed zone served each write: ${signingPolls.join(', ')}`);
    await bind?.stop();
    await upstream?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the zone is signed before apexalias writes: DNSKEY validates from its own key', async () => {
    const keys = await validate(ZONE, 'DNSKEY');
    expect(keys.fullyValidated).toBe(true);
    expect(anchor).toMatch(/^alias\.test\. \d+ IN DNSKEY 257 3 13 /);
  });

  it('after sync, delv fully validates the apex A, AAAA and the ownership TXT', async () => {
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('does not hold what was just written');
    await signedServes(ZONE, 'A', ['192.0.2.10']);
    await signedServes(ZONE, 'AAAA', ['2001:db8::10']);
    await signedServes(MARKER, 'TXT', [`"${MARKER_VALUE}"`]);
    for (const [name, type, data] of [
      [ZONE, 'A', '192.0.2.10'],
      [ZONE, 'AAAA', '2001:db8::10'],
      [MARKER, 'TXT', `"${MARKER_VALUE}"`],
    ] as const) {
      const v = await validate(name, type);
      expect(v.fullyValidated, v.output).toBe(true);
      expect(v.validatedDenial).toBe(false);
      expect(v.records.map((l) => l.split(/\s+/).slice(4).join(' '))).toEqual([data]);
    }
  });

  it('the backend reads only what apexalias wrote, although the signer added RRSIG and NSEC', async () => {
    // The records are there for anyone who asks with DO.
    const withDo = await bind.dig(ZONE, 'A', { extraArgs: ['+dnssec'] });
    expect(withDo.records.map((r) => r.type).sort()).toEqual(['A', 'RRSIG']);
    const nsec = await bind.dig(ZONE, 'NSEC', { extraArgs: ['+dnssec'] });
    expect(nsec.answers).toHaveLength(1);
    expect(nsec.answers[0]).toMatch(/ A NS SOA MX AAAA RRSIG NSEC DNSKEY/);

    const backend = rfc2136Backend(bind, ZONE, tsigKeyOf(bind.keys[0]!));
    const read = await backend.read(ZONE, [ZONE]);
    expect([...read.values()]).toEqual([
      {
        name: ZONE,
        A: { ttl: 120, addresses: ['192.0.2.10'] },
        AAAA: { ttl: 120, addresses: ['2001:db8::10'] },
        marker: [MARKER_VALUE],
      },
    ]);

    // The nameserver drift check asks the same way: no drift on a signed zone.
    const transport = new NetTransport();
    const verifier = new NameserverVerifier({
      transport,
      timeoutMs: 2000,
      primary: { host: bind.host, port: bind.port },
      configured: [{ host: bind.host, port: bind.port }],
      resolver: new Resolver({
        servers: [upstream.endpoint],
        transport,
        timeoutMs: 500,
        attempts: 1,
        cacheMaxEntries: 0,
        now: () => Date.now(),
      }),
      now: () => Date.now(),
    });
    const verdicts = await verifier.check(ZONE, ZONE, { A: ['192.0.2.10'], AAAA: ['2001:db8::10'] });
    expect([...verdicts.values()]).toEqual([
      { drifted: false, unreachable: false, types: { A: false, AAAA: false }, detail: '' },
    ]);

    // And the planner sees nothing to do: a second sync sends no UPDATE.
    const before = await bind.updateCount();
    const again = await sync();
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).summary).toMatchObject({ changed: 0, writes: 0 });
    expect(await bind.updateCount()).toBe(before);
  });

  it('after a target change, delv validates the new address', async () => {
    upstream.setAddresses('lb.cdn.test', 'A', ['192.0.2.20', '192.0.2.21'], 120);
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).summary).toMatchObject({ changed: 1, writes: 1 });
    expect(r.stderr).not.toContain('does not hold what was just written');
    await signedServes(ZONE, 'A', ['192.0.2.20', '192.0.2.21']);
    const v = await validate(ZONE, 'A');
    expect(v.fullyValidated, v.output).toBe(true);
    expect(v.records.map((l) => l.split(/\s+/).slice(4).join(' ')).sort()).toEqual([
      '192.0.2.20',
      '192.0.2.21',
    ]);
    expect((await validate(ZONE, 'AAAA')).fullyValidated).toBe(true);
  });

  it('a removed family validates as an authenticated denial (NSEC), the rest still validates', async () => {
    await writeManifest(['IPv4']);
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).summary).toMatchObject({ changed: 1, writes: 1 });
    await signedServes(ZONE, 'AAAA', []);
    const denial = await validate(ZONE, 'AAAA');
    expect(denial.fullyValidated, denial.output).toBe(true);
    expect(denial.validatedDenial).toBe(true);
    expect(denial.stdout).toMatch(/NXRRSET/);
    expect((await validate(ZONE, 'A')).fullyValidated).toBe(true);
    expect((await validate(MARKER, 'TXT')).fullyValidated).toBe(true);
  });
});
