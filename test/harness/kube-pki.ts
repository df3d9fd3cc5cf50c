/**
 * The certificates a test kube-apiserver needs, made with real openssl once per test process and
 * shared by every cluster the process starts. They live in a private temp dir that is removed when
 * the process exits, so no key ever lands in the repository.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { requireBinary, runCommand } from './process.ts';

/** Paths of the PEM files of {@link kubePki}. */
export interface KubePki {
  readonly dir: string;
  /** The CA that signs every certificate below; also the apiserver's `--client-ca-file`. */
  readonly caCert: string;
  readonly caKey: string;
  /** Serving certificate: SAN IP:127.0.0.1, DNS:localhost, DNS:kubernetes.default.svc. */
  readonly serverCert: string;
  readonly serverKey: string;
  /** Client certificate `/CN=kube-admin/O=system:masters`. */
  readonly adminCert: string;
  readonly adminKey: string;
  /** The key pair that signs and verifies service-account tokens. */
  readonly saKey: string;
  readonly saPub: string;
}

let pending: Promise<KubePki> | undefined;

// P-256 keys: generating one takes microseconds, an RSA key hundreds of milliseconds; kube-apiserver
// accepts ECDSA for serving, client and service-account keys alike.
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const DAYS = ['-days', '3650'];

async function openssl(args: string[], cwd: string): Promise<void> {
  const bin = requireBinary('openssl', 'openssl');
  const result = await runCommand(bin, args, { cwd, timeoutMs: 30_000 });
  if (result.code !== 0) {
    throw new Error(`openssl ${args.join(' ')} failed (exit ${result.code}):\n${result.stderr}`);
  }
}

/** A leaf certificate signed by the CA in `dir`. */
async function leaf(dir: string, name: string, subject: string, extensions: string[]): Promise<void> {
  const ext = extensions.flatMap((e) => ['-addext', e]);
  await openssl(
    ['req', '-x509', '-CA', 'ca.crt', '-CAkey', 'ca.key', ...EC_KEY, '-keyout', `${name}.key`]
      .concat(['-out', `${name}.crt`, ...DAYS, '-subj', subject, ...ext])
      .concat(['-addext', 'basicConstraints=critical,CA:FALSE']),
    dir,
  );
}

const PREFIX = 'apexalias-kube-pki-';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the PKI dirs of test processes that are gone. The 'exit' hook below misses a process
 * killed by a signal (vitest stops its workers that way when a run is interrupted).
 */
function sweepStale(): void {
  for (const entry of fs.readdirSync(os.tmpdir())) {
    const pid = Number(/^apexalias-kube-pki-(\d+)-/.exec(entry)?.[1]);
    if (pid && pid !== process.pid && !isAlive(pid)) {
      fs.rmSync(path.join(os.tmpdir(), entry), { recursive: true, force: true });
    }
  }
}

async function generate(): Promise<KubePki> {
  sweepStale();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

  await openssl(
    ['req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.crt', ...DAYS]
      .concat(['-subj', '/CN=apexalias-test-ca'])
      .concat(['-addext', 'basicConstraints=critical,CA:TRUE'])
      .concat(['-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']),
    dir,
  );
  await Promise.all([
    leaf(dir, 'apiserver', '/CN=kube-apiserver', [
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc',
      'extendedKeyUsage=serverAuth',
      'keyUsage=critical,digitalSignature,keyEncipherment',
    ]),
    leaf(dir, 'admin', '/CN=kube-admin/O=system:masters', [
      'extendedKeyUsage=clientAuth',
      'keyUsage=critical,digitalSignature,keyEncipherment',
    ]),
  ]);

  const sa = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.writeFileSync(path.join(dir, 'sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  fs.writeFileSync(path.join(dir, 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));

  const file = (name: string): string => path.join(dir, name);
  return {
    dir,
    caCert: file('ca.crt'),
    caKey: file('ca.key'),
    serverCert: file('apiserver.crt'),
    serverKey: file('apiserver.key'),
    adminCert: file('admin.crt'),
    adminKey: file('admin.key'),
    saKey: file('sa.key'),
    saPub: file('sa.pub'),
  };
}

/**
 * The test PKI of this process, generated on first use (tens of milliseconds) and reused by every
 * later cluster. A failed generation is not cached, so the next caller tries again.
 */
export function kubePki(): Promise<KubePki> {
  pending ??= generate().catch((err: unknown) => {
    pending = undefined;
    throw err;
  });
  return pending;
}
