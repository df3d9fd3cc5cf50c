import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import type { Change, ResourceRecordSet } from '@aws-sdk/client-route-53';

import { freePort } from './ports.ts';
import { startProcess } from './process.ts';
import type { ManagedProcess } from './process.ts';
import { ADDRESS_IN_USE, withPortRetry } from './server-common.ts';

/**
 * Which change-batch semantics the server has:
 * - `route53` (default): moto with its ChangeResourceRecordSets replaced by Route 53's documented
 *   semantics (test/harness/moto-route53.py explains why and what exactly);
 * - `moto`: moto 5.2.5 as it is, to show its departures.
 */
export type MotoContract = 'route53' | 'moto';

/** A request that reached the server through the recording proxy. */
export interface RecordedRequest {
  operation: 'ChangeResourceRecordSets' | 'ListResourceRecordSets' | 'ListHostedZonesByName' | 'Other';
  method: string;
  /** Path and query string. */
  url: string;
  body: string;
  /** The changes of a ChangeResourceRecordSets request, parsed from its XML body. */
  changes: Array<{ action: string; name: string; type: string; ttl?: number; values: string[] }>;
  /** The Authorization header was present (its value is never kept). */
  signed: boolean;
  /** Answered by an injected fault instead of the server. */
  faulted: boolean;
}

/** An error answer the proxy gives instead of forwarding, as Route 53 would send it. */
export interface Fault {
  status: number;
  code: string;
  message: string;
  /** Only requests of this operation (default: any). */
  operation?: RecordedRequest['operation'];
  /** How many matching requests get it (default 1). */
  times?: number;
}

/** A running moto server behind a recording, fault-injecting proxy, both on 127.0.0.1. */
export interface MotoServer {
  /** The proxy's URL: give this to the backend under test. */
  readonly endpoint: string;
  /** moto itself, for fixtures that must not show up in the request log. */
  readonly motoEndpoint: string;
  readonly contract: MotoContract;
  /** An SDK client that talks to moto directly (hand edits and look-ups behind the backend's back). */
  readonly client: Route53Client;
  /** Every request the proxy has seen since start (or since `clearRequests`). */
  requests(): RecordedRequest[];
  clearRequests(): void;
  /** Queues a fault for the next matching request(s). */
  inject(fault: Fault): void;
  /** Drops the faults still queued. */
  clearFaults(): void;
  /** Creates a hosted zone and returns its id (without `/hostedzone/`). */
  createZone(name: string, opts?: { private?: boolean }): Promise<string>;
  /** Every record set of a zone, as moto lists it. */
  recordSets(zoneId: string): Promise<ResourceRecordSet[]>;
  /** Sends a change batch straight to moto (a hand edit). */
  change(zoneId: string, changes: Change[]): Promise<void>;
  stop(): Promise<void>;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The venv that scripts/install-test-deps.sh fills: `APEXALIAS_MOTO_VENV` or ~/.cache/apexalias/venv. */
export function motoVenv(): string {
  return process.env.APEXALIAS_MOTO_VENV || path.join(os.homedir(), '.cache', 'apexalias', 'venv');
}

function requireMotoPython(): string {
  const python = path.join(motoVenv(), 'bin', 'python');
  const server = path.join(motoVenv(), 'bin', 'moto_server');
  if (!fs.existsSync(python) || !fs.existsSync(server)) {
    throw new Error(
      `moto is not installed (looked for ${server}). Run scripts/install-test-deps.sh (npm test does), ` +
        'which installs PyPI moto[server]==5.2.5 into that venv. Tests never skip a missing component.',
    );
  }
  return python;
}

/** Credentials moto accepts (it checks none); never real ones. */
export const MOTO_CREDENTIALS = {
  accessKeyId: 'AKIDMOTOTESTING00000',
  secretAccessKey: 'moto-test-secret-not-real',
};

function operationOf(method: string, url: string): RecordedRequest['operation'] {
  const p = url.split('?')[0]!;
  if (/\/hostedzone\/[^/]+\/rrset\/?$/.test(p)) {
    return method === 'POST' ? 'ChangeResourceRecordSets' : 'ListResourceRecordSets';
  }
  if (/\/hostedzonesbyname\/?$/.test(p)) return 'ListHostedZonesByName';
  return 'Other';
}

function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m ? unescapeXml(m[1]!) : undefined;
}

function unescapeXml(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function parseChanges(xml: string): RecordedRequest['changes'] {
  return [...xml.matchAll(/<Change>([\s\S]*?)<\/Change>/g)].map(([, body]) => {
    const ttl = xmlText(body!, 'TTL');
    return {
      action: xmlText(body!, 'Action') ?? '',
      name: xmlText(body!, 'Name') ?? '',
      type: xmlText(body!, 'Type') ?? '',
      ...(ttl === undefined ? {} : { ttl: Number(ttl) }),
      values: [...body!.matchAll(/<Value>([\s\S]*?)<\/Value>/g)].map(([, v]) => unescapeXml(v!)),
    };
  });
}

function errorXml(code: string, message: string): string {
  return (
    '<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">' +
    `<Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error>` +
    '<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>'
  );
}

async function startProxy(
  target: number,
  log: RecordedRequest[],
  faults: Fault[],
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      const operation = operationOf(method, url);
      const text = body.toString('utf8');
      const i = faults.findIndex((f) => !f.operation || f.operation === operation);
      const fault = i >= 0 ? faults[i] : undefined;
      log.push({
        operation,
        method,
        url,
        body: text,
        changes: operation === 'ChangeResourceRecordSets' ? parseChanges(text) : [],
        signed: typeof req.headers.authorization === 'string',
        faulted: fault !== undefined,
      });
      if (fault) {
        fault.times = (fault.times ?? 1) - 1;
        if (fault.times <= 0) faults.splice(i, 1);
        res.writeHead(fault.status, { 'content-type': 'text/xml' });
        res.end(errorXml(fault.code, fault.message));
        return;
      }
      const upstream = http.request(
        { host: '127.0.0.1', port: target, method, path: url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', (err) => {
        res.writeHead(502);
        res.end(String(err));
      });
      upstream.end(body);
    });
  });
  const port = await withPortRetry(async () => {
    const p = await freePort();
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`proxy: ${String(err)}`)));
      server.listen({ host: '127.0.0.1', port: p }, () => resolve());
    });
    return p;
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Starts moto's server (PyPI `moto[server]` 5.2.5 from {@link motoVenv}) on a free loopback port,
 * with a proxy in front of it that records every request and can answer with injected faults
 * (throttling, auth errors). Throws with install advice when moto is missing.
 */
export async function startMoto(opts: { contract?: MotoContract } = {}): Promise<MotoServer> {
  const contract = opts.contract ?? 'route53';
  const python = requireMotoPython();
  const script =
    contract === 'route53'
      ? [path.join(HERE, 'moto-route53.py')]
      : [path.join(motoVenv(), 'bin', 'moto_server')];
  let port = 0;
  const proc: ManagedProcess = await withPortRetry(async () => {
    port = await freePort();
    return startProcess(python, [...script, '-H', '127.0.0.1', '-p', String(port)], {
      name: 'moto_server',
      env: { PYTHONDONTWRITEBYTECODE: '1' },
      timeoutMs: 60_000,
      // The failure text names ADDRESS_IN_USE's words, so withPortRetry tries another port.
      failOn: ADDRESS_IN_USE,
      ready: async (output) => output.includes('Running on') && (await ping(port)),
    });
  });
  const log: RecordedRequest[] = [];
  const faults: Fault[] = [];
  let proxy: { port: number; close(): Promise<void> };
  try {
    proxy = await startProxy(port, log, faults);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const motoEndpoint = `http://127.0.0.1:${port}`;
  const client = new Route53Client({
    endpoint: motoEndpoint,
    region: 'us-east-1',
    credentials: MOTO_CREDENTIALS,
    maxAttempts: 1,
  });
  return {
    endpoint: `http://127.0.0.1:${proxy.port}`,
    motoEndpoint,
    contract,
    client,
    requests: () => [...log],
    clearRequests: () => {
      log.length = 0;
    },
    inject: (fault) => faults.push({ ...fault }),
    clearFaults: () => {
      faults.length = 0;
    },
    async createZone(name, zoneOpts = {}) {
      const out = await client.send(
        new CreateHostedZoneCommand({
          Name: name,
          CallerReference: `${name}-${Date.now()}-${Math.random()}`,
          ...(zoneOpts.private
            ? {
                VPC: { VPCRegion: 'us-east-1', VPCId: 'vpc-0123456789abcdef0' },
                HostedZoneConfig: { PrivateZone: true },
              }
            : {}),
        }),
      );
      return out.HostedZone!.Id!.replace(/^\/hostedzone\//, '');
    },
    async recordSets(zoneId) {
      const all: ResourceRecordSet[] = [];
      let start: { StartRecordName?: string; StartRecordType?: ResourceRecordSet['Type'] } = {};
      for (;;) {
        const page = await client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, ...start }));
        all.push(...(page.ResourceRecordSets ?? []));
        if (!page.IsTruncated) return all;
        start = { StartRecordName: page.NextRecordName, StartRecordType: page.NextRecordType };
      }
    },
    async change(zoneId, changes) {
      await client.send(
        new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: changes } }),
      );
    },
    async stop() {
      client.destroy();
      await proxy.close();
      await proc.stop();
    },
  };
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/moto-api/data.json', timeout: 1000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 500);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}
