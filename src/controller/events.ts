import type { ApexAlias } from '../api/schema.ts';
import { keyOf } from '../api/names.ts';
import type { Logger } from '../observe/logger.ts';
import type { ApexAliasWriter } from '../sources/kube-client.ts';
import { apiErrorMessage } from '../sources/kube-client.ts';
import { realClock } from './workqueue.ts';
import type { Clock } from './workqueue.ts';

/** The same event for the same object is not sent again within this window. */
const REPEAT_WINDOW_MS = 10 * 60_000;
/** All Events together: a burst, then a steady rate, so a mass sync cannot flood the API server. */
const BURST = 50;
const PER_SECOND = 5;

/** Why an Event was not recorded. */
export type EventDropReason = 'rate_limited' | 'api_error';

/** Tries of an Event that the API server refused or did not answer, and the pauses between. */
const RETRY_DELAYS_MS = [1_000, 5_000, 20_000];

/**
 * Records Kubernetes Events without flooding the API server: an identical event (object,
 * reason, note) is sent once per ten minutes, and all Events share a token bucket (burst 50, then
 * 5 per second; the rest are dropped, as client-go's spam filter does). An Event the API server
 * fails (it is restarting, say) is tried again three times over half a minute, then dropped.
 * Every drop is counted (`onDrop`, for the metric) and a failure is logged, never thrown: an
 * Event is a courtesy and must not fail a reconcile.
 */
export class EventRecorder {
  readonly #client: ApexAliasWriter;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #onDrop: (reason: EventDropReason) => void;
  readonly #timers: Pick<Clock, 'setTimeout'>;
  readonly #sent = new Map<string, Map<string, number>>();
  #tokens = BURST;
  #refilledAt = 0;
  /** Events dropped by the rate limit, for the log. */
  dropped = 0;

  constructor(
    client: ApexAliasWriter,
    logger: Logger,
    now: () => number,
    opts: { onDrop?: (reason: EventDropReason) => void; timers?: Pick<Clock, 'setTimeout'> } = {},
  ) {
    this.#client = client;
    this.#logger = logger;
    this.#now = now;
    this.#onDrop = opts.onDrop ?? (() => {});
    this.#timers = opts.timers ?? realClock;
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
      this.#onDrop('rate_limited');
      return;
    }
    this.#tokens -= 1;
    sent.set(fingerprint, now);
    this.#sent.set(key, sent);
    this.#send(alias, type, reason, action, note, 0);
  }

  #send(
    alias: ApexAlias,
    type: 'Normal' | 'Warning',
    reason: string,
    action: string,
    note: string,
    tries: number,
  ): void {
    this.#client.event(alias, type, reason, action, note).catch((err: unknown) => {
      const delay = RETRY_DELAYS_MS[tries];
      this.#logger.warn(
        delay === undefined
          ? 'could not record an Event; dropped'
          : 'could not record an Event; trying again',
        {
          alias: keyOf(alias),
          reason,
          error: apiErrorMessage(err),
        },
      );
      if (delay === undefined) return this.#onDrop('api_error');
      this.#timers.setTimeout(() => this.#send(alias, type, reason, action, note, tries + 1), delay);
    });
  }

  forget(key: string): void {
    this.#sent.delete(key);
  }
}
