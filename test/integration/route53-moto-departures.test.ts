import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import type { Change, ResourceRecordSet } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto } from '../harness/moto.ts';
import type { MotoServer } from '../harness/moto.ts';

/**
 * Where moto 5.2.5, as it is, departs from Route 53's documented contract (docs/backends.md,
 * "Route 53 and moto"). Each test asserts moto's own behaviour and names what Route 53 does
 * instead, so that a moto release that changes any of them shows up here. The backend is never
 * fitted to these: the first four are why the other tests run moto with Route 53's change-batch
 * semantics (test/harness/moto-route53.py); the rest do not affect the backend.
 */
describe('moto 5.2.5 departures from Route 53', () => {
  let moto: MotoServer;
  let zoneId: string;
  const zone = 'departures.test';
  const set = (
    name: string,
    type: 'A' | 'TXT' | 'CNAME',
    ttl: number,
    values: string[],
  ): ResourceRecordSet => ({
    Name: `${name}.${zone}.`,
    Type: type,
    TTL: ttl,
    ResourceRecords: values.map((Value) => ({ Value })),
  });
  const change = (changes: Change[]): Promise<unknown> =>
    moto.client
      .send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: changes } }))
      .then(
        (out) => out.ChangeInfo?.Status,
        (err: unknown) => err,
      );
  const at = async (name: string): Promise<string[]> =>
    (await moto.recordSets(zoneId))
      .filter((s) => s.Name === `${name}.${zone}.`)
      .map((s) => `${s.Type} ${s.TTL} ${(s.ResourceRecords ?? []).map((r) => r.Value).join(',')}`);

  beforeAll(async () => {
    moto = await startMoto({ contract: 'moto' });
    zoneId = await moto.createZone(zone);
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('refuses a DELETE followed by an identical CREATE (Route 53 applies a batch in order and accepts it)', async () => {
    await change([{ Action: 'CREATE', ResourceRecordSet: set('same', 'TXT', 300, ['"v"']) }]);
    const err = await change([
      { Action: 'DELETE', ResourceRecordSet: set('same', 'TXT', 300, ['"v"']) },
      { Action: 'CREATE', ResourceRecordSet: set('same', 'TXT', 300, ['"v"']) },
    ]);
    expect(err).toMatchObject({
      name: 'InvalidChangeBatch',
      message: expect.stringContaining('already exists'),
    });
  });

  it('accepts a CREATE of an existing name and type with other values, making a second record set (Route 53: InvalidChangeBatch)', async () => {
    await change([{ Action: 'CREATE', ResourceRecordSet: set('twice', 'A', 60, ['192.0.2.1']) }]);
    expect(
      await change([{ Action: 'CREATE', ResourceRecordSet: set('twice', 'A', 60, ['192.0.2.2']) }]),
    ).toBe('INSYNC');
    expect(await at('twice')).toEqual(['A 60 192.0.2.1', 'A 60 192.0.2.2']);
  });

  it('checks a DELETE against past changes, not the zone: a stale DELETE removes the current record set (Route 53: InvalidChangeBatch)', async () => {
    await change([{ Action: 'CREATE', ResourceRecordSet: set('stale', 'A', 60, ['192.0.2.1']) }]);
    await change([
      { Action: 'DELETE', ResourceRecordSet: set('stale', 'A', 60, ['192.0.2.1']) },
      { Action: 'CREATE', ResourceRecordSet: set('stale', 'A', 60, ['192.0.2.2']) },
    ]);
    expect(
      await change([{ Action: 'DELETE', ResourceRecordSet: set('stale', 'A', 60, ['192.0.2.1']) }]),
    ).toBe('INSYNC');
    expect(await at('stale')).toEqual([]);
  });

  it('answers a DELETE that matches nothing with InvalidInput and an unrelated message (Route 53: InvalidChangeBatch, "not found")', async () => {
    const err = await change([{ Action: 'DELETE', ResourceRecordSet: set('never', 'A', 60, ['192.0.2.1']) }]);
    expect(err).toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining('Expected exactly one of'),
    });
  });

  it('lets a CNAME share its name with other record sets (Route 53 refuses: InvalidChangeBatch)', async () => {
    await change([
      { Action: 'CREATE', ResourceRecordSet: set('both', 'CNAME', 60, ['elsewhere.example.net']) },
    ]);
    expect(await change([{ Action: 'CREATE', ResourceRecordSet: set('both', 'A', 60, ['192.0.2.1']) }])).toBe(
      'INSYNC',
    );
    expect((await at('both')).sort()).toEqual(['A 60 192.0.2.1', 'CNAME 60 elsewhere.example.net']);
  });

  it('keeps the changes applied before an error raised while applying (Route 53: none of the batch)', async () => {
    const err = await change([
      { Action: 'CREATE', ResourceRecordSet: set('kept', 'A', 60, ['192.0.2.1']) },
      {
        Action: 'CREATE',
        ResourceRecordSet: { ...set('x', 'A', 60, ['192.0.2.1']), Name: 'outside.example.org.' },
      },
    ]);
    expect(err).toMatchObject({ name: 'InvalidChangeBatch' });
    expect(await at('kept')).toEqual(['A 60 192.0.2.1']);
  });

  it('accepts an unquoted TXT value (Route 53 requires every TXT string in double quotes)', async () => {
    expect(
      await change([{ Action: 'CREATE', ResourceRecordSet: set('bare', 'TXT', 60, ['two words']) }]),
    ).toBe('INSYNC');
  });

  it('enforces only the 1,000-record quota, not 32,000 characters of values (Route 53 enforces both)', async () => {
    const big = Array.from({ length: 40 }, (_, i) => set(`big${i}`, 'TXT', 60, [`"${'x'.repeat(900)}"`]));
    expect(await change(big.map((s) => ({ Action: 'CREATE', ResourceRecordSet: s })))).toBe('INSYNC');
    const many = set(
      'many',
      'A',
      60,
      Array.from({ length: 1001 }, (_, i) => `10.0.${i >> 8}.${i & 255}`),
    );
    expect(await change([{ Action: 'CREATE', ResourceRecordSet: many }])).toMatchObject({
      name: 'InvalidChangeBatch',
    });
  });

  it('keeps the case of names and lists "*" unescaped (Route 53 stores lower case and lists \\052)', async () => {
    await change([
      {
        Action: 'CREATE',
        ResourceRecordSet: { ...set('x', 'A', 60, ['192.0.2.1']), Name: `Upper.${zone}.` },
      },
      {
        Action: 'CREATE',
        ResourceRecordSet: { ...set('x', 'A', 60, ['192.0.2.1']), Name: `*.wild.${zone}.` },
      },
    ]);
    const names = (await moto.recordSets(zoneId)).map((s) => s.Name);
    expect(names).toContain(`Upper.${zone}.`);
    expect(names).toContain(`*.wild.${zone}.`);
  });

  it('sorts by reversed labels without the trailing dot: a1 before a1-b (Route 53: a1-b first)', async () => {
    await change([
      { Action: 'CREATE', ResourceRecordSet: set('a1-b', 'A', 60, ['192.0.2.1']) },
      { Action: 'CREATE', ResourceRecordSet: set('a1', 'A', 60, ['192.0.2.1']) },
    ]);
    const page = await moto.client.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: `a1.${zone}`, MaxItems: 2 }),
    );
    expect(page.ResourceRecordSets!.map((s) => s.Name)).toEqual([`a1.${zone}.`, `a1-b.${zone}.`]);
  });

  it('lists ListHostedZonesByName as exact matches only (Route 53 lists from the name onwards)', async () => {
    await moto.createZone('zz-after.test');
    const out = await moto.client.send(new ListHostedZonesByNameCommand({ DNSName: zone }));
    expect(out.HostedZones!.map((z) => z.Name)).toEqual([`${zone}.`]);
  });

  it('writes the SOA value as a Python dict, and reports every change INSYNC at once (Route 53: PENDING first)', async () => {
    const soa = (await moto.recordSets(zoneId)).find((s) => s.Type === 'SOA');
    expect(soa?.ResourceRecords?.[0]?.Value).toMatch(/^\{'Value': '/);
    expect(
      await change([{ Action: 'CREATE', ResourceRecordSet: set('insync', 'A', 60, ['192.0.2.1']) }]),
    ).toBe('INSYNC');
  });

  it('checks no credentials at all (Route 53 verifies every SigV4 signature)', async () => {
    const stranger = new Route53Client({
      endpoint: moto.motoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDNOBODY0000000000', secretAccessKey: 'not-a-key' },
      maxAttempts: 1,
    });
    try {
      const out = await stranger.send(
        new CreateHostedZoneCommand({ Name: 'anyone.test', CallerReference: 'anyone' }),
      );
      expect(out.HostedZone?.Name).toBe('anyone.test.');
    } finally {
      stranger.destroy();
    }
  });
});
