import { createResolver, loadRuntimeConfig } from '../engine/runtime.ts';
import type { RuntimeOptions } from '../engine/runtime.ts';
import { NetTransport } from '../dns/transport.ts';
import type { AddressType } from '../plan/types.ts';
import { EXIT } from './sync.ts';
import { formatData } from './report.ts';
import type { OutputFormat } from './report.ts';

export interface ResolveOptions extends RuntimeOptions {
  type: 'A' | 'AAAA' | 'both';
  output: OutputFormat;
}

/** `apexalias resolve <host>`: what the controller would publish for a target, and why. */
export async function runResolve(host: string, opts: ResolveOptions): Promise<number> {
  const config = await loadRuntimeConfig(opts);
  const resolver = await createResolver(opts, config, {
    transport: new NetTransport(),
    now: () => Date.now(),
    cacheMaxEntries: 16,
  });
  const types: AddressType[] = opts.type === 'both' ? ['A', 'AAAA'] : [opts.type];
  const results = await Promise.all(
    types.map(async (type) => ({ type, ...(await resolver.resolve(host, type)) })),
  );
  if (opts.output !== 'text') {
    process.stdout.write(
      formatData(
        opts.output,
        results.map(({ type, result }) => ({ type, ...result })),
      ),
    );
  } else {
    for (const { type, result } of results) {
      const chain = result.chain.join(' → ');
      const dnssec =
        result.kind === 'failed' || result.validated === undefined
          ? ''
          : `\tdnssec ${result.validated ? 'validated' : 'not validated'}`;
      if (result.kind === 'addresses') {
        process.stdout.write(
          `${type}\t${result.addresses.join(' ')}\tttl ${result.ttl}\tchain ${chain}${dnssec}\n`,
        );
      } else if (result.kind === 'missing') {
        process.stdout.write(
          `${type}\t${result.reason.toUpperCase()}\tttl ${result.ttl}\tchain ${chain}${dnssec}\n`,
        );
      } else {
        process.stdout.write(`${type}\tfailed (${result.reason}): ${result.message}\tchain ${chain}\n`);
      }
    }
  }
  return results.some((r) => r.result.kind === 'failed') ? EXIT.notInSync : EXIT.ok;
}
