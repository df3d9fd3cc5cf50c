import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Route53Backend } from '../../src/backends/route53/backend.ts';
import { createRoute53Client } from '../../src/backends/route53/client.ts';
import { markerValue } from '../../src/plan/ownership.ts';
import { freePort } from '../harness/ports.ts';
import { MOTO_CREDENTIALS, startMoto } from '../harness/moto.ts';
import type { MotoServer, RecordedRequest } from '../harness/moto.ts';
import { claim, update } from './conformance/suite.ts';
import { TEST_RETRY, handAdd, lookup, route53Backend, setsAt } from './conformance/route53-fixture.ts';

/**
 * What the conformance suite cannot show about the Route 53 backend: that Route 53 itself
 * enforces each expectation (the backend's last read is made stale first, so only the change
 * batch can catch the change), how reads walk the zone, quotas, throttling, errors and zone
 * look-up. Runs against moto with Route 53's change-batch semantics (test/harness/moto-route53.py).
 */
describe('route53 backend against moto', () => {
  let moto: MotoServer;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  const count = (op: RecordedRequest['operation'], since = 0): number =>
    moto
      .requests()
      .slice(since)
      .filter((r) => r.operation === op).length;

  describe('conditions are carried by the change batch itself', () => {
    const zone = 'cond.test';
    let id: string;
    let backend: Route53Backend;
    beforeAll(async () => {
      id = await moto.createZone(zone);
      backend = route53Backend(moto, [zone]);
    });

    it('a first claim CREATEs the quoted marker, so a marker that appeared after the read fails the batch', async () => {
      const name = `raced.${zone}`;
      expect((await backend.read(zone, [name])).get(name)).toEqual({ name });
      await handAdd(moto, id, [
        `_apexalias.${name}. 300 IN TXT "heritage=apexalias,owner=other,resource=x/y"`,
      ]);
      const before = moto.requests().length;
      const result = await backend.apply(zone, [claim(name, ['192.0.2.7'])]);
      expect(result.chunks.map((c) => [c.error?.kind, c.error?.detail])).toEqual([
        ['PRECONDITION', 'InvalidChangeBatch'],
      ]);
      const sent = moto.requests().slice(before);
      expect(sent.map((r) => r.operation)).toEqual(['ChangeResourceRecordSets']);
      expect(sent[0]!.changes).toContainEqual({
        action: 'CREATE',
        name: `_apexalias.${name}.`,
        type: 'TXT',
        ttl: 60,
        values: [`"${markerValue('conformance', 'ns/raced')}"`],
      });
      expect(await lookup(moto, id, name, 'A')).toEqual([]);
    });

    it('an owned change DELETEs the A set as last read: a hand edit since then fails the batch', async () => {
      const name = `edited.${zone}`;
      await backend.apply(zone, [claim(name, ['192.0.2.1'])]);
      await backend.read(zone, [name]);
      const [a] = await setsAt(moto, id, name, 'A');
      await moto.change(id, [
        { Action: 'DELETE', ResourceRecordSet: a! },
        { Action: 'CREATE', ResourceRecordSet: { ...a!, ResourceRecords: [{ Value: '203.0.113.1' }] } },
      ]);
      const before = moto.requests().length;
      const result = await backend.apply(zone, [update(name, ['192.0.2.2'])]);
      expect(result.chunks[0]!.error?.kind).toBe('PRECONDITION');
      expect(
        moto
          .requests()
          .slice(before)[0]!
          .changes.map((c) => `${c.action} ${c.type} ${c.values.join(',')}`),
      ).toEqual([
        'DELETE A 192.0.2.1',
        'CREATE A 192.0.2.2',
        `DELETE TXT "${markerValue('conformance', 'ns/edited')}"`,
        `CREATE TXT "${markerValue('conformance', 'ns/edited')}"`,
      ]);
      expect(await lookup(moto, id, name, 'A')).toEqual(['203.0.113.1']);
      // The failed batch made the backend forget the name: the next apply reads it first, and lands.
      const reads = count('ListResourceRecordSets');
      const again = await backend.apply(zone, [update(name, ['192.0.2.2'])]);
      expect(again.chunks[0]!.error).toBeUndefined();
      expect(count('ListResourceRecordSets')).toBe(reads + 1);
      expect(await lookup(moto, id, name, 'A')).toEqual(['192.0.2.2']);
    });

    it('an owned change DELETEs and recreates the marker: a marker replaced since the read fails the batch', async () => {
      const name = `stolen.${zone}`;
      await backend.apply(zone, [claim(name, ['192.0.2.1'])]);
      await backend.read(zone, [name]);
      const [marker] = await setsAt(moto, id, `_apexalias.${name}`, 'TXT');
      await moto.change(id, [
        { Action: 'DELETE', ResourceRecordSet: marker! },
        {
          Action: 'CREATE',
          ResourceRecordSet: {
            ...marker!,
            ResourceRecords: [{ Value: '"heritage=apexalias,owner=other,resource=a/b"' }],
          },
        },
      ]);
      const result = await backend.apply(zone, [update(name, ['192.0.2.3'])]);
      expect(result.chunks[0]!.error?.kind).toBe('PRECONDITION');
      expect(await lookup(moto, id, name, 'A')).toEqual(['192.0.2.1']);
    });

    it('a batch of several names is one request, refused whole when one of its DELETEs is stale', async () => {
      const good = `good.${zone}`;
      const bad = `bad.${zone}`;
      await backend.apply(zone, [claim(good, ['192.0.2.1']), claim(bad, ['192.0.2.1'])]);
      await backend.read(zone, [good, bad]);
      const [a] = await setsAt(moto, id, bad, 'A');
      await moto.change(id, [
        { Action: 'DELETE', ResourceRecordSet: a! },
        { Action: 'CREATE', ResourceRecordSet: { ...a!, TTL: 999 } },
      ]);
      const before = count('ChangeResourceRecordSets');
      const result = await backend.apply(zone, [
        update(good, ['198.51.100.1']),
        update(bad, ['198.51.100.2']),
      ]);
      expect(result.chunks.map((c) => [c.names, c.error?.kind])).toEqual([[[good, bad], 'PRECONDITION']]);
      expect(count('ChangeResourceRecordSets')).toBe(before + 1);
      expect(await lookup(moto, id, good, 'A')).toEqual(['192.0.2.1']);
      expect(await lookup(moto, id, bad, 'A')).toEqual(['192.0.2.1']);
    });

    it('what Route 53 cannot check is checked on the last read: an AAAA the claim does not write, unsent', async () => {
      const name = `v6.${zone}`;
      await handAdd(moto, id, [`${name}. 300 IN AAAA 2001:db8::99`]);
      const before = count('ChangeResourceRecordSets');
      const result = await backend.apply(zone, [claim(name, ['192.0.2.1'])]);
      expect(result.chunks[0]!.error).toMatchObject({ kind: 'PRECONDITION', detail: 'LASTREAD' });
      expect(result.chunks[0]!.error!.message).toContain(`${name} already holds AAAA records`);
      expect(count('ChangeResourceRecordSets')).toBe(before);
      expect(await lookup(moto, id, name, 'A')).toEqual([]);
    });
  });

  describe('reads walk the zone in the API order', () => {
    const zone = 'walk.test';
    let backend: Route53Backend;
    let id: string;
    beforeAll(async () => {
      id = await moto.createZone(zone);
      backend = route53Backend(moto, [zone]);
    });

    it('1,000 claimed names (3,000 record sets) are read in 10 pages of 300', async () => {
      const names = Array.from({ length: 1000 }, (_, i) => `r${i}.${zone}`);
      const claims = await backend.apply(
        zone,
        names.map((n) => claim(n, ['192.0.2.1'], ['2001:db8::1'])),
      );
      expect(claims.chunks.every((c) => !c.error)).toBe(true);
      const fresh = route53Backend(moto, [zone]);
      const before = moto.requests().length;
      const current = await fresh.read(zone, names);
      expect(count('ListResourceRecordSets', before)).toBe(10);
      expect(count('ListHostedZonesByName', before)).toBe(1);
      for (const n of names) expect(current.get(n)?.marker).toHaveLength(1);
      expect(current.get(`r999.${zone}`)?.AAAA).toEqual({ ttl: 60, addresses: ['2001:db8::1'] });
    });

    it('names far apart cost a page each, not a walk through everything between them', async () => {
      const before = moto.requests().length;
      const current = await route53Backend(moto, [zone]).read(zone, [
        `r0.${zone}`,
        `r999.${zone}`,
        `zzz.${zone}`,
      ]);
      // r0 and r999 lie 3,000 record sets apart: one page at each, not ten; the page at r999
      // reaches the end of the zone, which shows that zzz holds nothing.
      expect(count('ListResourceRecordSets', before)).toBe(2);
      expect(current.get(`r0.${zone}`)?.A?.addresses).toEqual(['192.0.2.1']);
      expect(current.get(`r999.${zone}`)?.A?.addresses).toEqual(['192.0.2.1']);
      expect(current.get(`zzz.${zone}`)).toEqual({ name: `zzz.${zone}` });
    });

    it('reads a wildcard neighbour without mistaking it for a name, and a CNAME as a CNAME', async () => {
      await handAdd(moto, id, [
        `*.w.${zone}. 300 IN A 203.0.113.9`,
        `c.w.${zone}. 300 IN CNAME elsewhere.example.net.`,
      ]);
      const current = await route53Backend(moto, [zone]).read(zone, [`w.${zone}`, `c.w.${zone}`]);
      expect(current.get(`w.${zone}`)).toEqual({ name: `w.${zone}` });
      expect(current.get(`c.w.${zone}`)).toEqual({ name: `c.w.${zone}`, cname: 'elsewhere.example.net' });
    });

    it('fails with SERVER rather than loop when a listing does not advance', async () => {
      // moto has no NextRecordIdentifier (departure 7 in docs/backends.md): it cannot page through
      // more than 300 weighted record sets of one name and type, and repeats the same page. Route
      // 53 names the next identifier, and the backend passes it on.
      const name = `weighted.${zone}`;
      const sets = Array.from({ length: 301 }, (_, i) => ({
        Action: 'CREATE' as const,
        ResourceRecordSet: {
          Name: `${name}.`,
          Type: 'A' as const,
          TTL: 60,
          SetIdentifier: `w${i}`,
          Weight: 1,
          ResourceRecords: [{ Value: '192.0.2.1' }],
        },
      }));
      await moto.change(id, sets);
      const before = count('ListResourceRecordSets');
      const err = await route53Backend(moto, [zone])
        .read(zone, [name])
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'SERVER', detail: 'LISTING' });
      expect(count('ListResourceRecordSets')).toBe(before + 2);
      await moto.change(
        id,
        sets.map((c) => ({ ...c, Action: 'DELETE' as const })),
      );
    });

    it('400 first claims go in 2 change batches within the quotas, each name whole', async () => {
      const names = Array.from({ length: 400 }, (_, i) => `q${i}.${zone}`);
      const before = moto.requests().length;
      const result = await backend.apply(
        zone,
        names.map((n) => claim(n, ['192.0.2.1'], ['2001:db8::1'])),
      );
      const sent = moto
        .requests()
        .slice(before)
        .filter((r) => r.operation === 'ChangeResourceRecordSets');
      expect(sent.map((r) => r.changes.length)).toEqual([999, 201]);
      expect(result.chunks.map((c) => [c.names.length, c.error])).toEqual([
        [333, undefined],
        [67, undefined],
      ]);
      expect(sent[0]!.changes.slice(-3).map((c) => c.name)).toEqual([
        `${names[332]}.`,
        `${names[332]}.`,
        `_apexalias.${names[332]}.`,
      ]);
    });
  });

  describe('throttling, errors and hosted zones', () => {
    const zone = 'err.test';
    let id: string;
    beforeAll(async () => {
      id = await moto.createZone(zone);
    });

    it('retries Throttling and PriorRequestNotComplete with backoff, then lands', async () => {
      const backend = route53Backend(moto, [zone]);
      await backend.read(zone, [`t.${zone}`]);
      moto.inject({
        status: 400,
        code: 'Throttling',
        message: 'Rate exceeded',
        operation: 'ChangeResourceRecordSets',
      });
      moto.inject({
        status: 400,
        code: 'PriorRequestNotComplete',
        message: 'The request was rejected because Route 53 was still processing a prior request.',
        operation: 'ChangeResourceRecordSets',
      });
      const before = count('ChangeResourceRecordSets');
      const result = await backend.apply(zone, [claim(`t.${zone}`, ['192.0.2.1'])]);
      expect(result.chunks[0]!.error).toBeUndefined();
      expect(count('ChangeResourceRecordSets')).toBe(before + 3);
      expect(await lookup(moto, id, `t.${zone}`, 'A')).toEqual(['192.0.2.1']);
    });

    it('gives up after its bounded tries with SERVER, and says why', async () => {
      const backend = route53Backend(moto, [zone]);
      moto.inject({ status: 400, code: 'Throttling', message: 'Rate exceeded', times: TEST_RETRY.attempts });
      const before = count('ListHostedZonesByName');
      const err = await backend.read(zone, [`t.${zone}`]).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'SERVER', detail: 'Throttling' });
      expect((err as Error).message).toContain('five requests per second');
      expect(count('ListHostedZonesByName')).toBe(before + TEST_RETRY.attempts);
    });

    it('maps rejected credentials to AUTH and a denied policy to REFUSED, and sends no second batch', async () => {
      const backend = route53Backend(moto, [zone]);
      moto.inject({
        status: 403,
        code: 'InvalidClientTokenId',
        message: 'The security token included in the request is invalid.',
      });
      expect(await backend.read(zone, [`t.${zone}`]).catch((e: unknown) => e)).toMatchObject({
        kind: 'AUTH',
        detail: 'InvalidClientTokenId',
      });
      const names = Array.from({ length: 600 }, (_, i) => `d${i}.${zone}`);
      await backend.read(zone, names);
      moto.inject({
        status: 403,
        code: 'AccessDenied',
        message: 'User is not authorized to perform: route53:ChangeResourceRecordSets',
        operation: 'ChangeResourceRecordSets',
      });
      const before = count('ChangeResourceRecordSets');
      const result = await backend.apply(
        zone,
        names.map((n) => claim(n, ['192.0.2.1'])),
      );
      expect(result.chunks.map((c) => c.error?.kind)).toEqual(['REFUSED', 'REFUSED']);
      expect(result.chunks[0]!.error!.message).toContain('route53:ChangeResourceRecordSets');
      expect(count('ChangeResourceRecordSets')).toBe(before + 1);
    });

    it('a failed read inside apply is reported on every name, not thrown, and nothing is sent', async () => {
      const backend = route53Backend(moto, [zone]);
      moto.inject({
        status: 403,
        code: 'ExpiredToken',
        message: 'The security token included in the request is expired',
      });
      const before = count('ChangeResourceRecordSets');
      const result = await backend.apply(zone, [
        claim(`e1.${zone}`, ['192.0.2.1']),
        claim(`e2.${zone}`, ['192.0.2.1']),
      ]);
      expect(result.chunks.map((c) => [c.names, c.error?.kind, c.error?.detail])).toEqual([
        [[`e1.${zone}`, `e2.${zone}`], 'AUTH', 'ExpiredToken'],
      ]);
      expect(count('ChangeResourceRecordSets')).toBe(before);
    });

    it('an unreachable endpoint is UNREACHABLE', async () => {
      const port = await freePort();
      const backend = new Route53Backend({
        name: 'aws',
        zones: [zone],
        client: createRoute53Client({
          region: 'us-east-1',
          endpoint: `http://127.0.0.1:${port}`,
          timeoutMs: 2000,
          credentials: MOTO_CREDENTIALS,
        }),
      });
      expect(await backend.read(zone, [`t.${zone}`]).catch((e: unknown) => e)).toMatchObject({
        kind: 'UNREACHABLE',
        detail: 'ECONNREFUSED',
      });
    });

    it('tells a private and a public zone of one name apart by privateZone or hostedZoneIds, and refuses to guess', async () => {
      const split = 'split.test';
      const publicId = await moto.createZone(split);
      const privateId = await moto.createZone(split, { private: true });
      const name = `www.${split}`;
      expect(
        await route53Backend(moto, [split])
          .read(split, [name])
          .catch((e: unknown) => e),
      ).toMatchObject({
        kind: 'NOTZONE',
        detail: 'AMBIGUOUS',
      });
      const inPrivate = route53Backend(moto, [split], { privateZone: true });
      expect((await inPrivate.apply(split, [claim(name, ['10.0.0.1'])])).chunks[0]!.error).toBeUndefined();
      const byId = route53Backend(moto, [split], { hostedZoneIds: { [split]: publicId } });
      expect((await byId.apply(split, [claim(name, ['192.0.2.1'])])).chunks[0]!.error).toBeUndefined();
      expect(await lookup(moto, privateId, name, 'A')).toEqual(['10.0.0.1']);
      expect(await lookup(moto, publicId, name, 'A')).toEqual(['192.0.2.1']);
      const before = count('ListHostedZonesByName');
      await byId.read(split, [name]);
      expect(count('ListHostedZonesByName')).toBe(before);
    });

    it('a zone that does not exist is NOTZONE, with what was found', async () => {
      const err = await route53Backend(moto, ['missing.test'])
        .read('missing.test', ['www.missing.test'])
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'NOTZONE', detail: 'NoSuchHostedZone' });
      expect((err as Error).message).toContain('no hosted zone named missing.test (found: none)');
    });

    it('stops waiting for a throttled request when the call is cancelled', async () => {
      const backend = route53Backend(moto, [zone], { retry: { attempts: 5, baseMs: 60_000, capMs: 60_000 } });
      moto.inject({ status: 400, code: 'Throttling', message: 'Rate exceeded', times: 5 });
      const controller = new AbortController();
      const before = moto.requests().length;
      const pending = backend
        .read(zone, [`t.${zone}`], { signal: controller.signal })
        .catch((e: unknown) => e);
      while (moto.requests().length === before) await new Promise((r) => setTimeout(r, 5));
      controller.abort(new Error('lease lost'));
      expect(await pending).toMatchObject({ message: 'lease lost' });
      expect(moto.requests().length).toBe(before + 1);
      moto.clearFaults();
    });
  });
});
