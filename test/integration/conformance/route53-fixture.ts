import type { Change, ResourceRecordSet, RRType } from '@aws-sdk/client-route-53';
import { Route53Backend } from '../../../src/backends/route53/backend.ts';
import type { ThrottleRetry } from '../../../src/backends/route53/backend.ts';
import { createRoute53Client } from '../../../src/backends/route53/client.ts';
import { normalizeAddresses } from '../../../src/plan/addresses.ts';
import { MOTO_CREDENTIALS } from '../../harness/moto.ts';
import type { MotoServer } from '../../harness/moto.ts';
import type { ConformanceFixture } from './suite.ts';

/** Throttling backoff short enough for tests; the count of tries is what tests look at. */
export const TEST_RETRY: ThrottleRetry = { attempts: 4, baseMs: 5, capMs: 20 };

/** A Route 53 backend that talks to moto through the harness's recording proxy. */
export function route53Backend(
  moto: MotoServer,
  zones: string[],
  extra: { hostedZoneIds?: Record<string, string>; privateZone?: boolean; retry?: ThrottleRetry } = {},
): Route53Backend {
  return new Route53Backend({
    name: 'aws',
    zones,
    client: createRoute53Client({
      region: 'us-east-1',
      endpoint: moto.endpoint,
      timeoutMs: 10_000,
      credentials: MOTO_CREDENTIALS,
    }),
    retry: extra.retry ?? TEST_RETRY,
    ...extra,
  });
}

function absolute(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

/** The record sets at one name (of one type), straight from moto. */
export async function setsAt(
  moto: MotoServer,
  zoneId: string,
  name: string,
  type?: string,
): Promise<ResourceRecordSet[]> {
  const all = await moto.recordSets(zoneId);
  return all.filter(
    (s) => s.Name?.toLowerCase() === absolute(name).toLowerCase() && (!type || s.Type === type),
  );
}

/**
 * Hand edits in zone-file form ("name. ttl IN TYPE rdata"), sent straight to moto. Like
 * `nsupdate add`, a record joins the record set of its name and type: the set is deleted and
 * created again with the new value added.
 */
export async function handAdd(moto: MotoServer, zoneId: string, lines: string[]): Promise<void> {
  const groups = new Map<string, { name: string; type: string; ttl: number; values: string[] }>();
  for (const line of lines) {
    const m = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.+)$/.exec(line.trim());
    if (!m) throw new Error(`handAdd: cannot parse ${JSON.stringify(line)}`);
    const [, name, ttl, type, rdata] = m;
    const key = `${name!.toLowerCase()} ${type}`;
    const group = groups.get(key) ?? { name: name!.toLowerCase(), type: type!, ttl: Number(ttl), values: [] };
    group.values.push(rdata!);
    groups.set(key, group);
  }
  const changes: Change[] = [];
  for (const g of groups.values()) {
    const existing = (await setsAt(moto, zoneId, g.name, g.type))[0];
    const before = existing?.ResourceRecords?.map((r) => r.Value!) ?? [];
    if (existing) changes.push({ Action: 'DELETE', ResourceRecordSet: existing });
    changes.push({
      Action: 'CREATE',
      ResourceRecordSet: {
        Name: g.name,
        Type: g.type as RRType,
        TTL: existing?.TTL ?? g.ttl,
        ResourceRecords: [...before, ...g.values].map((Value) => ({ Value })),
      },
    });
  }
  await moto.change(zoneId, changes);
}

/** What moto holds at a name, in presentation form and sorted (addresses canonical). */
export async function lookup(
  moto: MotoServer,
  zoneId: string,
  name: string,
  type: string,
): Promise<string[]> {
  const values = (await setsAt(moto, zoneId, name, type)).flatMap(
    (s) => s.ResourceRecords?.map((r) => r.Value!) ?? [],
  );
  return type === 'A' || type === 'AAAA' ? normalizeAddresses(values) : values.sort();
}

/** The conformance fixture for Route 53 against moto: hand edits and look-ups go to moto directly. */
export async function route53Fixture(moto: MotoServer, zone: string): Promise<ConformanceFixture> {
  const zoneId = await moto.createZone(zone);
  await handAdd(moto, zoneId, [`${zone}. 300 IN MX 10 mail.example.net.`]);
  return {
    backend: route53Backend(moto, [zone]),
    zone,
    handAdd: (lines) => handAdd(moto, zoneId, lines),
    lookup: (name, type) => lookup(moto, zoneId, name, type),
    writeCount: async () => moto.requests().filter((r) => r.operation === 'ChangeResourceRecordSets').length,
    stop: () => moto.stop(),
  };
}
