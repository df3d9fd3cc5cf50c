import { randomInt } from 'node:crypto';
import { decodeMessage, encodeQuery, recordsOf } from '../src/dns/query.ts';
import { NetTransport } from '../src/dns/transport.ts';
import type { Endpoint } from '../src/dns/transport.ts';

const transport = new NetTransport();

/** The A records a server answers for `name` (empty on NXDOMAIN, NODATA or a failure). */
export async function queryServer(server: Endpoint, name: string): Promise<string[]> {
  try {
    const reply = await transport.exchange(
      server,
      encodeQuery(randomInt(0, 65536), name, 'A', { recursionDesired: false }),
      {
        timeoutMs: 1000,
      },
    );
    return recordsOf(decodeMessage(reply).answers)
      .filter((a) => a.type === 'A')
      .map((a) => String(a.data));
  } catch {
    return [];
  }
}
