/**
 * Cross-checks our TSIG against BIND's own implementation without running a DNS server: the
 * test plays the server for `nsupdate`. It verifies nsupdate's request MAC with a digest built
 * by hand, answers with a response signed by `signMessage`, and nsupdate exits 0 only if BIND's
 * code accepts our response MAC (which chains to its request MAC).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTsig, signMessage } from '../../src/dns/tsig.ts';
import type { TsigAlgorithm, TsigKey } from '../../src/dns/tsig.ts';

function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const toolsPresent = hasTool('nsupdate') && hasTool('tsig-keygen');

const KEY_NAME_WIRE = Buffer.from('0b' + '696e7465726f702d6b6579' + '00', 'hex'); // interop-key
const HASHES: Record<TsigAlgorithm, string> = {
  'hmac-sha1': 'sha1',
  'hmac-sha224': 'sha224',
  'hmac-sha256': 'sha256',
  'hmac-sha384': 'sha384',
  'hmac-sha512': 'sha512',
};

/** Our own hand-built RFC 8945 4.3.3 digest over nsupdate's request. */
function handMac(request: Buffer, key: TsigKey): Buffer {
  const found = readTsig(request);
  if (!found) throw new Error('nsupdate sent no TSIG');
  const { tsig, offset } = found;
  const unsigned = Buffer.from(request.subarray(0, offset));
  unsigned.writeUInt16BE(tsig.originalId, 0);
  unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10);
  const alg = Buffer.from(key.algorithm, 'ascii');
  const fixed = Buffer.alloc(12);
  fixed.writeUIntBE(tsig.timeSigned, 0, 6);
  fixed.writeUInt16BE(tsig.fudge, 6);
  fixed.writeUInt16BE(tsig.error, 8);
  fixed.writeUInt16BE(tsig.otherData.length, 10);
  const variables = Buffer.concat([
    KEY_NAME_WIRE,
    Buffer.from('00ff00000000', 'hex'),
    Buffer.from([alg.length]),
    alg,
    Buffer.from([0]),
    fixed,
    tsig.otherData,
  ]);
  return createHmac(HASHES[key.algorithm], key.secret).update(unsigned).update(variables).digest();
}

/** The NOERROR reply to an UPDATE: QR, opcode 5, and the zone section (uncompressed at 12) echoed. */
function noerrorReply(request: Buffer): Buffer {
  let end = 12;
  while (request[end] !== 0) end += (request[end] as number) + 1;
  end += 1 + 4;
  const reply = Buffer.concat([request.subarray(0, 12), request.subarray(12, end)]);
  reply.writeUInt16BE(0xa800, 2);
  reply.writeUInt16BE(1, 4);
  reply.fill(0, 6, 12);
  return reply;
}

describe('TSIG interoperability with BIND nsupdate', () => {
  it('has the real BIND tools (a missing tool fails, never skips; npm test installs them)', () => {
    expect(toolsPresent, 'nsupdate and tsig-keygen come from Debian bind9-dnsutils and bind9').toBe(true);
  });
  let dir: string;
  let server: Socket;
  let port: number;
  let onRequest: (request: Buffer) => Buffer | undefined = () => undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'apexalias-nsupdate-'));
    server = createSocket('udp4');
    server.on('message', (msg, rinfo) => {
      const reply = onRequest(msg);
      if (reply) server.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    port = server.address().port;
  });

  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function makeKey(algorithm: TsigAlgorithm): { key: TsigKey; file: string } {
    const text = execFileSync('tsig-keygen', ['-a', algorithm, 'interop-key'], { encoding: 'utf8' });
    const secret = /secret "([^"]+)"/.exec(text)?.[1];
    if (!secret) throw new Error(`unexpected tsig-keygen output: ${text}`);
    const file = join(dir, `${algorithm}.key`);
    writeFileSync(file, text);
    return { key: { name: 'interop-key', algorithm, secret: Buffer.from(secret, 'base64') }, file };
  }

  function runNsupdate(keyFile: string): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve) => {
      const child = spawn('nsupdate', ['-k', keyFile, '-t', '3', '-u', '1', '-r', '0'], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('close', (code) => resolve({ code, output }));
      child.stdin.end(
        `server 127.0.0.1 ${port}\nzone example.com\n` +
          'update delete www.example.com A\nupdate add www.example.com 300 A 192.0.2.1\nsend\n',
      );
    });
  }

  it.each(Object.keys(HASHES) as TsigAlgorithm[])('%s: both sides accept each other’s MACs', async (alg) => {
    const { key, file } = makeKey(alg);
    const requests: Buffer[] = [];
    onRequest = (request) => {
      requests.push(request);
      const tsig = readTsig(request)?.tsig;
      if (!tsig) return undefined;
      const now = Math.floor(Date.now() / 1000);
      return signMessage(noerrorReply(request), key, { timeSigned: now, requestMac: tsig.mac }).message;
    };
    const { code, output } = await runNsupdate(file);
    expect(requests).toHaveLength(1);
    const request = requests[0] as Buffer;
    const tsig = readTsig(request)?.tsig;
    expect(tsig?.keyName).toBe('interop-key');
    expect(tsig?.algorithm).toBe(alg);
    expect(tsig?.mac.toString('hex')).toBe(handMac(request, key).toString('hex'));
    expect({ code, output }).toEqual({ code: 0, output: '' });
  });

  it('nsupdate rejects our response when its MAC is altered (so the check above means something)', async () => {
    const { key, file } = makeKey('hmac-sha256');
    onRequest = (request) => {
      const tsig = readTsig(request)?.tsig;
      if (!tsig) return undefined;
      const now = Math.floor(Date.now() / 1000);
      const signed = signMessage(noerrorReply(request), key, {
        timeSigned: now,
        requestMac: tsig.mac,
      }).message;
      const macAt = signed.length - 6 - 32;
      signed[macAt] = (signed[macAt] as number) ^ 0x01;
      return signed;
    };
    const { code, output } = await runNsupdate(file);
    expect(code).not.toBe(0);
    expect(output).toMatch(/tsig verify failure|BADSIG/i);
  });
});
