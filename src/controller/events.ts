import type { ApexAlias } from '../api/schema.ts';
import type { Logger } from '../observe/logger.ts';
import type { ApexAliasClient } from './kube-client.ts';
import { apiErrorMessage } from './kube-client.ts';

/** The same event for the same object is not sent again within this window. */
const REPEAT_WINDOW_MS = 10 * 60_000;

/**
 * Records Kubernetes Events without flooding the API server: an identical event (object,
 * reason, note) is sent once per ten minutes, and a failure to record is logged, never thrown,
 * because an Event is a courtesy and must not fail a reconcile.
 */
export class EventRecorder {
  readonly #client: ApexAliasClient;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #sent = new Map<string, Map<string, number>>();

  constructor(client: ApexAliasClient, logger: Logger, now: () => number) {
    this.#client = client;
    this.#logger = logger;
    this.#now = now;
  }

  record(alias: ApexAlias, type: 'Normal' | 'Warning', reason: string, action: string, note: string): void {
    const key = `${alias.metadata.namespace ?? 'default'}/${alias.metadata.name}`;
    const fingerprint = `${type}\u0000${reason}\u0000${note}`;
    const sent = this.#sent.get(key) ?? new Map<string, number>();
    const last = sent.get(fingerprint);
    const now = this.#now();
    if (last !== undefined && now - last < REPEAT_WINDOW_MS) return;
    for (const [f, at] of sent) if (now - at >= REPEAT_WINDOW_MS) sent.delete(f);
    sent.set(fingerprint, now);
    this.#sent.set(key, sent);
    this.#client.event(alias, type, reason, action, note).catch((err: unknown) => {
      this.#logger.warn('could not record an Event', {
        alias: key,
        reason,
        error: apiErrorMessage(err),
      });
    });
  }

  forget(key: string): void {
    this.#sent.delete(key);
  }
}
