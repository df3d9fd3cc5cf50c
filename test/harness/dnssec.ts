import fs from 'node:fs/promises';
import path from 'node:path';

import { requireBinary, runCommand } from './process.ts';
import type { CommandResult } from './process.ts';
import { makeServerDir, zoneFileText } from './server-common.ts';
import type { TestZone } from './server-common.ts';

/** A zone signed once with `dnssec-signzone`, for a primary to serve as a plain zone file. */
export interface OfflineSignedZone {
  /** The signed zone file. */
  text: string;
  /** Its key-signing DNSKEY, `<zone>. IN DNSKEY 257 3 13 <key>`: the trust anchor. */
  anchor: string;
}

/**
 * Signs the standard test zone of `zone` offline with a fresh ECDSA P-256 key (one key, `-z`)
 * and signatures valid from `inception` to `expiration` (`YYYYMMDDHHMMSS`, UTC). Signatures in
 * the past make a zone whose every RRSIG has expired; `edit` changes the signed text afterwards,
 * e.g. to break one signature by changing the data it covers.
 */
export async function signZoneOffline(
  zone: TestZone,
  validity: { inception: string; expiration: string },
  edit: (signed: string) => string = (t) => t,
): Promise<OfflineSignedZone> {
  const keygen = requireBinary('dnssec-keygen', 'bind9-utils');
  const signzone = requireBinary('dnssec-signzone', 'bind9-utils');
  const dir = await makeServerDir('signzone');
  try {
    const made = await runCommand(keygen, ['-q', '-K', dir, '-a', 'ECDSAP256SHA256', '-f', 'KSK', zone.name]);
    if (made.code !== 0) throw new Error(`dnssec-keygen failed: ${made.stderr}`);
    const keyFile = path.join(dir, `${made.stdout.trim()}.key`);
    const source = path.join(dir, 'zone.src');
    await fs.writeFile(source, `${zoneFileText(zone)}$INCLUDE ${keyFile}\n`);
    const signed = path.join(dir, 'zone.signed');
    // -P: its own verification would refuse signatures that are already expired. -d: the
    // dsset file goes here, not into the working directory.
    const args = [
      '-q',
      '-z',
      '-P',
      '-K',
      dir,
      '-d',
      dir,
      '-o',
      zone.name,
      '-s',
      validity.inception,
      '-e',
      validity.expiration,
    ];
    const result = await runCommand(signzone, [...args, '-f', signed, source]);
    if (result.code !== 0) throw new Error(`dnssec-signzone failed: ${result.stdout}${result.stderr}`);
    const key = (await fs.readFile(keyFile, 'utf8'))
      .split('\n')
      .find((l) => l.includes('DNSKEY') && !l.startsWith(';'));
    if (!key) throw new Error(`no DNSKEY in ${keyFile}`);
    return { text: edit(await fs.readFile(signed, 'utf8')), anchor: key.trim().replace(/\s+/g, ' ') };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** The owner name and key of a DNSKEY record line. */
function parseDnskey(line: string): {
  zone: string;
  flags: string;
  protocol: string;
  algorithm: string;
  key: string;
} {
  const m = /^(\S+)\s+(?:\d+\s+)?(?:IN\s+)?DNSKEY\s+(\d+)\s+(\d+)\s+(\d+)\s+(.+)$/.exec(line.trim());
  if (!m) throw new Error(`not a DNSKEY record: ${line}`);
  return { zone: m[1]!, flags: m[2]!, protocol: m[3]!, algorithm: m[4]!, key: m[5]!.replace(/\s+/g, '') };
}

/** The `trust-anchors { … };` statement `delv -a` reads, for DNSKEY record lines. */
export function delvAnchors(dnskeys: string[]): string {
  const lines = dnskeys.map((line) => {
    const k = parseDnskey(line);
    return `  "${k.zone}" static-key ${k.flags} ${k.protocol} ${k.algorithm} "${k.key}";`;
  });
  return `trust-anchors {\n${lines.join('\n')}\n};\n`;
}

/** What `delv` printed and whether it says the answer (or the denial) was fully validated. */
export interface DelvResult extends CommandResult {
  output: string;
  /** `; fully validated` or `; negative response, fully validated`. */
  fullyValidated: boolean;
  /** `; negative response, fully validated`: an authenticated denial (NSEC/NSEC3). */
  validatedDenial: boolean;
  /** The data lines of the answer (RRSIGs left out). */
  records: string[];
}

/**
 * Runs real `delv` (bind9-dnsutils) against `server`, validating from the `anchor` DNSKEY of the
 * zone (`+root=<zone>`), not from the DNS root: delv fetches every DNSKEY and RRSIG itself and
 * checks the signatures on its own.
 */
export async function delv(
  server: { host: string; port: number },
  anchor: string,
  name: string,
  type: string,
): Promise<DelvResult> {
  const bin = requireBinary('delv', 'bind9-dnsutils');
  const dir = await makeServerDir('delv');
  try {
    const anchors = path.join(dir, 'anchors.conf');
    await fs.writeFile(anchors, delvAnchors([anchor]));
    const zone = parseDnskey(anchor).zone;
    const args = [`@${server.host}`, '-p', String(server.port), '-a', anchors, `+root=${zone}`, name, type];
    const res = await runCommand(bin, args, { timeoutMs: 60_000 });
    const output = `${res.stdout}${res.stderr}`;
    return {
      ...res,
      output,
      fullyValidated: /^; (negative response, )?fully validated$/m.test(res.stdout),
      validatedDenial: /^; negative response, fully validated$/m.test(res.stdout),
      records: res.stdout
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.startsWith(';'))
        .filter((l) => l.split(/\s+/)[3] !== 'RRSIG'),
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
