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

/** How a server answers an update whose TSIG does not verify (wrong secret, unknown key). */
export type TsigFailureReply =
  /**
   * RFC 8945 section 5.2: NOTAUTH with TSIG error BADSIG / BADKEY in an unsigned TSIG RR
   * (BIND 9, Knot). apexalias reports AUTH with the TSIG error as `detail`.
   */
  | 'tsig-error'
  /**
   * A plain REFUSED without any TSIG RR, so the client cannot tell a wrong secret from an unknown
   * key or a policy refusal. PowerDNS Authoritative 4.7 does this: its packet handler logs
   * "Received a TSIG signed message with a non-validating key" and sets RCODE REFUSED (real
   * `nsupdate` reports "expected a TSIG or SIG(0)" and "update failed: REFUSED"). apexalias
   * reports REFUSED naming the key; the assertion that nothing is written stays the same.
   */
  | 'refused';

/**
 * TSIG and failure behaviour of the RFC 2136 backend against one real server. Servers differ in
 * how they refuse an unsigned update (BIND: REFUSED, Knot: NOTAUTH) and in how they answer a TSIG
 * that does not verify (`tsigFailure`, default `'tsig-error'`), so the caller says which.
 */
export function describeRfc2136Server(
  label: string,
  start: (opts: { zones: TestZone[]; keys: HarnessKey[] }) => Promise<TestDnsServer>,
  expected: { unsignedRcode: 'REFUSED' | 'NOTAUTH'; tsigFailure?: TsigFailureReply },
): void {
  const tsigFailure = expected.tsigFailure ?? 'tsig-error';
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

    const badSigTitle =
      tsigFailure === 'tsig-error'
        ? 'a wrong secret is refused as AUTH/BADSIG and nothing is written'
        : 'a wrong secret is refused (plain REFUSED, no TSIG error) and nothing is written';
    it(badSigTitle, async () => {
      const wrong = { ...tsigKeyOf(keys[0]!), secret: Buffer.from(generateTsigSecret(), 'base64') };
      const backend = rfc2136Backend(server, ZONE, wrong);
      const result = await backend.apply(ZONE, [claim(`badsig.${ZONE}`, ['192.0.2.45'])]);
      const error = result.chunks[0]!.error;
      if (tsigFailure === 'tsig-error') {
        expect(error?.code).toBe('ERR_BACKEND_AUTH');
        expect(error?.detail).toBe('BADSIG');
        expect(error?.message).toContain('secret');
      } else {
        expect(error?.code).toBe('ERR_BACKEND_REFUSED');
        expect(error?.detail).toBe('REFUSED');
        expect(error?.message).toContain(keys[0]!.name);
      }
      expect((await server.dig(`badsig.${ZONE}`, 'A')).answers).toEqual([]);
    });

    const badKeyTitle =
      tsigFailure === 'tsig-error'
        ? 'an unknown key is refused as AUTH/BADKEY'
        : 'an unknown key is refused (plain REFUSED, no TSIG error) and nothing is written';
    it(badKeyTitle, async () => {
      const unknown = tsigKeyOf(createTsigKey('nobody-knows-me', 'hmac-sha256'));
      const result = await rfc2136Backend(server, ZONE, unknown).apply(ZONE, [
        claim(`badkey.${ZONE}`, ['192.0.2.46']),
      ]);
      if (tsigFailure === 'tsig-error') {
        expect(result.chunks[0]!.error?.code).toBe('ERR_BACKEND_AUTH');
        expect(result.chunks[0]!.error?.detail).toBe('BADKEY');
      } else {
        expect(result.chunks[0]!.error?.code).toBe('ERR_BACKEND_REFUSED');
        expect(result.chunks[0]!.error?.detail).toBe('REFUSED');
        expect(result.chunks[0]!.error?.message).toContain('nobody-knows-me');
      }
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
