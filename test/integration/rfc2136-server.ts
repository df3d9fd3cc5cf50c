import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TsigAlgorithm } from '../../src/dns/tsig.ts';
import type { TestDnsServer, TestZone } from '../harness/server-common.ts';
import type { TsigKey as HarnessKey } from '../harness/tsig.ts';
import { createTsigKey, generateTsigSecret } from '../harness/tsig.ts';
import { freePort } from '../harness/ports.ts';
import { claim } from './conformance/suite.ts';
import { rfc2136Backend, tsigKeyOf } from './conformance/rfc2136-fixture.ts';

const ZONE = 'example.test';
const ALGORITHMS: TsigAlgorithm[] = ['hmac-sha256', 'hmac-sha1', 'hmac-sha224', 'hmac-sha384', 'hmac-sha512'];

/**
 * TSIG and failure behaviour of the RFC 2136 backend against one real server. Servers differ in
 * how they refuse an unsigned update (BIND: REFUSED, Knot: NOTAUTH), so the caller says which.
 */
export function describeRfc2136Server(
  label: string,
  start: (opts: { zones: TestZone[]; keys: HarnessKey[] }) => Promise<TestDnsServer>,
  expected: { unsignedRcode: 'REFUSED' | 'NOTAUTH' },
): void {
  describe(`rfc2136 backend and TSIG against ${label}`, () => {
    let server: TestDnsServer;
    const keys = ALGORITHMS.map((alg) => createTsigKey(`key-${alg}`, alg));
    beforeAll(async () => {
      server = await start({ zones: [{ name: ZONE }], keys });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it.each(ALGORITHMS)('a good %s key is accepted and the records are served', async (alg) => {
      const key = keys.find((k) => k.algorithm === alg)!;
      const backend = rfc2136Backend(server, ZONE, tsigKeyOf(key));
      const name = `${alg}.${ZONE}`;
      const result = await backend.apply(ZONE, [claim(name, ['192.0.2.44'])]);
      expect(result.chunks[0]!.error).toBeUndefined();
      expect((await server.dig(name, 'A')).answers).toEqual(['192.0.2.44']);
    });

    it('a wrong secret is refused as AUTH/BADSIG and nothing is written', async () => {
      const wrong = { ...tsigKeyOf(keys[0]!), secret: Buffer.from(generateTsigSecret(), 'base64') };
      const backend = rfc2136Backend(server, ZONE, wrong);
      const result = await backend.apply(ZONE, [claim(`badsig.${ZONE}`, ['192.0.2.45'])]);
      const error = result.chunks[0]!.error;
      expect(error?.code).toBe('ERR_BACKEND_AUTH');
      expect(error?.detail).toBe('BADSIG');
      expect(error?.message).toContain('secret');
      expect((await server.dig(`badsig.${ZONE}`, 'A')).answers).toEqual([]);
    });

    it('an unknown key is refused as AUTH/BADKEY', async () => {
      const unknown = tsigKeyOf(createTsigKey('nobody-knows-me', 'hmac-sha256'));
      const result = await rfc2136Backend(server, ZONE, unknown).apply(ZONE, [
        claim(`badkey.${ZONE}`, ['192.0.2.46']),
      ]);
      expect(result.chunks[0]!.error?.code).toBe('ERR_BACKEND_AUTH');
      expect(result.chunks[0]!.error?.detail).toBe('BADKEY');
      expect((await server.dig(`badkey.${ZONE}`, 'A')).answers).toEqual([]);
    });

    it(`an unsigned update is refused (${expected.unsignedRcode}) with advice to configure TSIG`, async () => {
      const result = await rfc2136Backend(server, ZONE, undefined).apply(ZONE, [
        claim(`unsigned.${ZONE}`, ['192.0.2.47']),
      ]);
      const error = result.chunks[0]!.error;
      expect(error?.detail).toBe(expected.unsignedRcode);
      expect(error?.kind).toMatch(/REFUSED|AUTH/);
      expect((await server.dig(`unsigned.${ZONE}`, 'A')).answers).toEqual([]);
    });

    it('a zone the server does not serve is reported precisely', async () => {
      const backend = rfc2136Backend(server, 'other.test', tsigKeyOf(keys[0]!));
      const result = await backend.apply('other.test', [claim('www.other.test', ['192.0.2.48'])]);
      expect(result.chunks[0]!.error?.kind).toMatch(/NOTZONE|AUTH|REFUSED/);
    });

    it('an unreachable server is UNREACHABLE, and every chunk carries the error', async () => {
      const port = await freePort();
      const backend = rfc2136Backend(
        { ...server, host: '127.0.0.1', port } as TestDnsServer,
        ZONE,
        tsigKeyOf(keys[0]!),
      );
      const result = await backend.apply(ZONE, [claim(`down.${ZONE}`, ['192.0.2.49'])]);
      expect(result.chunks[0]!.error?.code).toBe('ERR_BACKEND_UNREACHABLE');
      await expect(backend.read(ZONE, [`down.${ZONE}`])).rejects.toMatchObject({
        code: 'ERR_BACKEND_UNREACHABLE',
      });
    });
  });
}
