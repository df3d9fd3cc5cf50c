import type { ApexAlias } from '../api/schema.ts';
import { keyOf } from '../api/names.ts';
import type { Logger } from '../observe/logger.ts';
import type { ApexAliasWriter } from '../sources/kube-client.ts';
import { apiErrorMessage } from '../sources/kube-client.ts';

/** The same event for the same object is not sent again within this window. */
const REPEAT_WINDOW_MS = 10 * 60_000;
/** All Events together: a burst, then a steady rate, so a mass sync cannot flood the API server. */
const BURST = 50;
const PER_SECOND = 5;

/**
 * Records Kubernetes Events without flooding the API server: an identical event (object,
 * reason, note) is sent once per ten minutes, all Events share a token bucket (burst 50, then 5
 * per second; the rest are dropped, as client-go's spam filter does), and a failure to record is logged, never thrown,
 * because an Event is a courtesy and must not fail a reconcile.
 */
export class EventRecorder {
  readonly #client: ApexAliasWriter;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #sent = new Map<string, Map<string, number>>();
  #tokens = BURST;
  #refilledAt = 0;
  /** Events dropped by the rate limit, for the log. */
  dropped = 0;

  constructor(client: ApexAliasWriter, logger: Logger, now: () => number) {
    this.#client = client;
    this.#logger = logger;
    this.#now = now;
  }

  record(alias: ApexAlias, type: 'Normal' | 'Warning', reason: string, action: string, note: string): void {
    const key = keyOf(alias);
    const fingerprint = `${type}\u0000${reason}\u0000${note}`;
    const sent = this.#sent.get(key) ?? new Map<string, number>();
    const last = sent.get(fingerprint);
    const now = this.#now();
    if (last !== undefined && now - last < REPEAT_WINDOW_MS) return;
    for (const [f, at] of sent) if (now - at >= REPEAT_WINDOW_MS) sent.delete(f);
    this.#tokens = Math.min(BURST, this.#tokens + ((now - this.#refilledAt) / 1000) * PER_SECOND);
    this.#refilledAt = now;
    if (this.#tokens < 1) {
      if (this.dropped++ % 100 === 0) this.#logger.debug('Events rate-limited', { dropped: this.dropped });
      return;
    }
    this.#tokens -= 1;
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
