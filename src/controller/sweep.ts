import type { ApexAlias } from '../api/schema.ts';
import { ownerName, splitKey } from '../api/names.ts';
import type { DnsBackend } from '../backends/types.ts';
import { normalizeName } from '../dns/names.ts';
import type { Logger } from '../observe/logger.ts';
import { planDeletion } from '../plan/delete.ts';
import { parseMarker } from '../plan/ownership.ts';
import type { NameChange } from '../plan/types.ts';

export interface SweepOptions {
  /** This controller's ownerId: only its markers are ever swept. */
  ownerId: string;
  /** Every backend with the zones it serves by name (a backend serving "*" has none to list). */
  backends: () => Array<{ backend: DnsBackend; zones: string[] }>;
  /** The informer cache. */
  source: { get(key: string): ApexAlias | undefined };
  /** The API server, asked before anything is removed (the cache may lag behind). */
  client: { get(namespace: string, name: string): Promise<ApexAlias | undefined> };
  logger: Logger;
  /** Called with the number of names cleaned up, for metrics. */
  onSwept?: (removed: number) => void;
}

/**
 * The ownership sweep: finds records this controller owns whose ApexAlias no longer exists (its
 * finalizer was removed by force, the object was deleted before its finalizer landed, or it now
 * points at another name) and removes them, so that nothing is orphaned for good. A marker
 * counts as orphaned only when neither the cache nor the API server has an alias of that key
 * claiming that name; its removal is conditional on the marker still being exactly the one read.
 */
export class OwnershipSweep {
  readonly #opts: SweepOptions;

  constructor(opts: SweepOptions) {
    this.#opts = opts;
  }

  /** One sweep over every zone; returns the names cleaned up. */
  async sweep(signal?: AbortSignal): Promise<number> {
    let removed = 0;
    for (const { backend, zones } of this.#opts.backends()) {
      if (!backend.markers) continue;
      for (const zone of zones) {
        signal?.throwIfAborted();
        try {
          removed += await this.#sweepZone(backend, normalizeName(zone), signal);
        } catch (err) {
          signal?.throwIfAborted();
          this.#opts.logger.warn('ownership sweep of a zone failed; trying again at the next sweep', {
            zone,
            backend: backend.name,
            error: (err as Error).message,
          });
        }
      }
    }
    if (removed > 0) this.#opts.onSwept?.(removed);
    return removed;
  }

  async #sweepZone(backend: DnsBackend, zone: string, signal: AbortSignal | undefined): Promise<number> {
    const orphans: Array<{ name: string; resource: string }> = [];
    for (const [name, texts] of await backend.markers!(zone, { signal })) {
      const marker = texts.length === 1 ? parseMarker(texts[0]!) : undefined;
      // Retained records (deletionPolicy: Retain) are nobody's any more, and stay.
      if (!marker || marker.owner !== this.#opts.ownerId || marker.retained) continue;
      if (this.#claims(this.#opts.source.get(marker.resource), name)) continue;
      const { namespace, name: aliasName } = splitKey(marker.resource);
      if (this.#claims(await this.#opts.client.get(namespace, aliasName), name)) continue;
      orphans.push({ name, resource: marker.resource });
    }
    if (orphans.length === 0) return 0;
    const current = await backend.read(
      zone,
      orphans.map((o) => o.name),
      { signal },
    );
    const changes: NameChange[] = [];
    for (const o of orphans) {
      const verdict = planDeletion(o.name, current.get(o.name) ?? { name: o.name }, {
        ownerId: this.#opts.ownerId,
        resource: o.resource,
        adopt: false,
      });
      if (verdict.kind === 'change') changes.push(verdict.change);
    }
    if (changes.length === 0) return 0;
    const result = await backend.apply(zone, changes, { signal });
    let removed = 0;
    for (const chunk of result.chunks) {
      if (chunk.error) {
        this.#opts.logger.warn('ownership sweep could not remove orphaned records', {
          zone,
          names: chunk.names.length,
          error: chunk.error.message,
        });
        continue;
      }
      removed += chunk.names.length;
      for (const name of chunk.names)
        this.#opts.logger.info('removed records whose ApexAlias no longer exists', {
          zone,
          name,
          resource: orphans.find((o) => o.name === name)?.resource,
        });
    }
    return removed;
  }

  /** Whether `alias` exists, is not being deleted, and claims `name`. */
  #claims(alias: ApexAlias | undefined, name: string): boolean {
    if (!alias || alias.metadata.deletionTimestamp) return false;
    try {
      return ownerName(alias.spec) === name;
    } catch {
      return false;
    }
  }
}
