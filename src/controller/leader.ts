/**
 * Leader election on a `coordination.k8s.io/v1` Lease, with the semantics of client-go's
 * `leaderelection` package, so that apexalias replicas and client-go based tools agree on who
 * leads:
 *
 * - A replica takes the Lease when it does not exist, when it names nobody (released), when it
 *   already names this replica, or when it has expired. Expiry is judged on this replica's own
 *   clock: the Lease is valid until `leaseDurationSeconds` after this replica last saw the record
 *   change (client-go's `observedTime`), never by comparing `renewTime` with the local clock, so
 *   clock skew between hosts cannot hand the Lease to two replicas.
 * - Every write is a create or a PUT carrying the resourceVersion last read: a 409 Conflict means
 *   another replica won the race, and this one simply tries again one retry period later.
 * - The leader renews every `retryPeriodSeconds`. When no renewal has succeeded for
 *   `renewDeadlineSeconds` (counted from when the last successful one was sent) it stops leading,
 *   before any other replica can consider the Lease expired, since
 *   renewDeadline < leaseDuration and the others' clocks start no earlier than that write.
 * - `stop()` releases the Lease as client-go's `ReleaseOnCancel` does (holder '', duration 1 s), so
 *   a standby takes over at its next retry instead of after the lease duration.
 *
 * Unlike client-go, whose elector ends when leadership is lost, this one goes back to standby and
 * may lead again later: `onStartedLeading` and `onStoppedLeading` alternate, starting with
 * `onStartedLeading`, and never overlap.
 */
import { CoordinationV1Api, Observable, V1MicroTime } from '@kubernetes/client-node';
import { apiErrorMessage, httpStatus } from '../sources/kube-client.ts';
import type { ConfigurationOptions, KubeConfig, V1Lease, V1LeaseSpec } from '@kubernetes/client-node';

import { ValidationError } from '../errors.ts';
import type { Logger } from '../observe/logger.ts';

/** Configuration of a {@link LeaderElector}. */
export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  /** Namespace and name of the Lease. */
  namespace: string;
  name: string;
  /** This replica's identity, unique among replicas (e.g. the pod name). */
  identity: string;
  /** How long a Lease stays valid without renewal; a whole number of seconds. Usually 15. */
  leaseDurationSeconds: number;
  /** How long the leader keeps trying to renew before it stops leading. Usually 10. */
  renewDeadlineSeconds: number;
  /** Time between attempts (standbys add up to 120% jitter). Usually 2. */
  retryPeriodSeconds: number;
  /** Milliseconds since the epoch; for tests. Default `Date.now`. */
  now?: () => number;
  logger?: Logger;
  /** Called when this replica becomes the leader. */
  onStartedLeading(): void;
  /**
   * Called when this replica stops leading: no renewal succeeded within the renew deadline, the
   * Lease was seen to name another holder, or `stop()`. Stop all leader-only work here: for a
   * leader, it runs before the Lease is released.
   */
  onStoppedLeading(): void;
  /** Called whenever the Lease is seen to name a new holder (this replica included). */
  onNewLeader?(identity: string): void;
}

/** client-go's recommended timings (`leaseDuration`, `renewDeadline`, `retryPeriod`). */
export const LEADER_ELECTION_DEFAULTS = {
  leaseDurationSeconds: 15,
  renewDeadlineSeconds: 10,
  retryPeriodSeconds: 2,
} as const;

/** client-go's `JitterFactor`: standby attempts are spread over [retry, 2.2 × retry]. */
const JITTER_FACTOR = 1.2;

/** The fields of a Lease's spec that leader election reads (client-go's LeaderElectionRecord). */
interface LeaderRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** RFC 3339 with microseconds, exactly as the apiserver returned it. */
  acquireTime: string | undefined;
  renewTime: string | undefined;
  leaseTransitions: number;
}

/**
 * client-node declares MicroTime fields as `V1MicroTime` (a Date that serialises with six
 * fractional digits), but hands back the server's string when it reads a Lease.
 */
function microTimeText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Date) return new V1MicroTime(value.getTime()).toISOString();
  return undefined;
}

function recordOf(lease: V1Lease): LeaderRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: microTimeText(spec.acquireTime),
    renewTime: microTimeText(spec.renewTime),
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
}

function rawOf(record: LeaderRecord): string {
  return JSON.stringify(record);
}

/** A MicroTime to send: a kept server string goes back byte for byte (no loss of microseconds). */
function microTime(value: string | number): V1MicroTime {
  return typeof value === 'string' ? (value as unknown as V1MicroTime) : new V1MicroTime(value);
}

/** Request options that abort the request when `signal` fires. */
function abortOn(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: (context) => new Observable(Promise.resolve(context)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

function validate(o: LeaderElectionOptions): void {
  const problems: string[] = [];
  if (!o.identity) problems.push('identity must not be empty');
  if (!o.namespace || !o.name) problems.push('namespace and name of the Lease must not be empty');
  if (!Number.isInteger(o.leaseDurationSeconds) || o.leaseDurationSeconds < 1) {
    problems.push(
      `leaseDurationSeconds must be a whole number of seconds >= 1 (got ${o.leaseDurationSeconds})`,
    );
  }
  if (!(o.retryPeriodSeconds > 0))
    problems.push(`retryPeriodSeconds must be > 0 (got ${o.retryPeriodSeconds})`);
  if (!(o.renewDeadlineSeconds < o.leaseDurationSeconds)) {
    problems.push(
      `renewDeadlineSeconds (${o.renewDeadlineSeconds}) must be less than leaseDurationSeconds ` +
        `(${o.leaseDurationSeconds}), or a new leader could start before the old one stops`,
    );
  }
  if (!(o.renewDeadlineSeconds > JITTER_FACTOR * o.retryPeriodSeconds)) {
    problems.push(
      `renewDeadlineSeconds (${o.renewDeadlineSeconds}) must be greater than ${JITTER_FACTOR} × ` +
        `retryPeriodSeconds (${o.retryPeriodSeconds})`,
    );
  }
  if (problems.length > 0) throw new ValidationError('invalid leader election settings', problems);
}

/**
 * Campaigns for one Lease and reports leadership through callbacks. `start()` begins; `stop()`
 * ends, releasing the Lease if this replica holds it. Callbacks run synchronously on the event
 * loop; one that throws is logged and does not break the election.
 */
export class LeaderElector {
  readonly #o: LeaderElectionOptions;
  readonly #api: CoordinationV1Api;
  readonly #now: () => number;
  readonly #log: Logger | undefined;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;

  #state: 'new' | 'running' | 'stopped' = 'new';
  #leading = false;
  #stopping: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  /** The attempt in flight, awaited by stop(). */
  #attempt: Promise<void> | undefined;
  /** Aborts the requests of the attempt in flight (renew deadline, crash). */
  #abort: AbortController | undefined;

  /** The Lease as last read or written: its resourceVersion guards the next write. */
  #lease: V1Lease | undefined;
  #observed: LeaderRecord | undefined;
  #observedRaw = '';
  /** When (this replica's clock) the record was last seen to change. */
  #observedTime = 0;
  /** When the last successful acquire or renew was sent. */
  #renewedAt = 0;
  #reportedLeader: string | undefined;

  constructor(options: LeaderElectionOptions) {
    validate(options);
    this.#o = options;
    this.#api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.#now = options.now ?? Date.now;
    this.#log = options.logger?.child({
      lease: `${options.namespace}/${options.name}`,
      identity: options.identity,
    });
    this.#renewDeadlineMs = options.renewDeadlineSeconds * 1000;
    this.#retryPeriodMs = options.retryPeriodSeconds * 1000;
  }

  /** True between `onStartedLeading` and `onStoppedLeading`. */
  get isLeader(): boolean {
    return this.#leading;
  }

  /** The holder named by the Lease as last seen ('' when released), if it was seen at all. */
  get observedLeader(): string | undefined {
    return this.#observed?.holderIdentity;
  }

  /** Starts campaigning; the first attempt is made at once. An elector runs once: it cannot be restarted. */
  start(): void {
    if (this.#state === 'running') return;
    if (this.#state === 'stopped')
      throw new Error('LeaderElector: a stopped elector cannot be started again');
    this.#state = 'running';
    this.#schedule(0);
  }

  /**
   * Stops campaigning. A leader calls `onStoppedLeading` first and then releases the Lease (holder
   * '', duration 1 s) so that a standby takes over at once. With `release: false` the Lease is left
   * as it is, as after a crash: the others wait for it to expire (tests use this). Resolves when
   * nothing of this elector is in flight any more. Safe to call twice.
   */
  stop(options: { release?: boolean } = {}): Promise<void> {
    this.#stopping ??= this.#shutdown(options.release ?? true);
    return this.#stopping;
  }

  async #shutdown(release: boolean): Promise<void> {
    this.#state = 'stopped';
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!release) this.#abort?.abort(new Error('leader elector stopped without release'));
    await this.#attempt;
    this.#stopLeading(release ? 'stopped' : 'stopped without releasing the lease');
    if (release) await this.#release();
  }

  #schedule(delayMs: number): void {
    // A callback may have called stop().
    if (this.#state !== 'running') return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#attempt = this.#tick().finally(() => {
        this.#attempt = undefined;
      });
    }, delayMs);
  }

  async #tick(): Promise<void> {
    const startedAt = this.#now();
    const abort = new AbortController();
    this.#abort = abort;
    // A leader's requests may run until its renew deadline, a standby's for as long.
    const budgetMs = this.#leading
      ? this.#renewedAt + this.#renewDeadlineMs - startedAt
      : this.#renewDeadlineMs;
    const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(Math.max(1, budgetMs))]);
    const wasLeading = this.#leading;
    let ok = await this.#tryAcquireOrRenew(signal);
    this.#abort = undefined;
    if (this.#state !== 'running') return;

    // A success that came back after the renew deadline (or after leadership was given up while it
    // was in flight) is too late to lead on; the next attempt starts over.
    if (ok && (this.#now() - startedAt >= this.#renewDeadlineMs || (wasLeading && !this.#leading)))
      ok = false;
    if (ok) {
      this.#renewedAt = startedAt;
      this.#armDeadline();
      if (!this.#leading) {
        this.#leading = true;
        this.#log?.info('leader election: started leading');
        this.#call('onStartedLeading', () => this.#o.onStartedLeading());
      }
    } else if (this.#leading) {
      // client-go keeps trying until the deadline even when another holder is already seen;
      // stepping down at once is never less safe.
      const holder = this.#observed?.holderIdentity;
      if (holder && holder !== this.#o.identity) this.#stopLeading(`the lease is now held by ${holder}`);
      else if (this.#now() - this.#renewedAt >= this.#renewDeadlineMs) {
        this.#stopLeading('the lease was not renewed within the renew deadline');
      }
    }
    this.#reportLeader();
    const jitter = this.#leading ? 0 : Math.random() * JITTER_FACTOR * this.#retryPeriodMs;
    this.#schedule(this.#retryPeriodMs + jitter);
  }

  /** Stops leading exactly at the renew deadline, even while a request hangs. */
  #armDeadline(): void {
    clearTimeout(this.#deadlineTimer);
    const delay = this.#renewedAt + this.#renewDeadlineMs - this.#now();
    this.#deadlineTimer = setTimeout(
      () => {
        this.#deadlineTimer = undefined;
        this.#abort?.abort(new Error('renew deadline passed'));
        this.#stopLeading('the lease was not renewed within the renew deadline');
      },
      Math.max(0, delay),
    );
  }

  #stopLeading(reason: string): void {
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    if (!this.#leading) return;
    this.#leading = false;
    if (reason === 'stopped') this.#log?.info('leader election: stopped leading', { reason });
    else this.#log?.warn('leader election: stopped leading', { reason });
    this.#call('onStoppedLeading', () => this.#o.onStoppedLeading());
  }

  #reportLeader(): void {
    const holder = this.#observed?.holderIdentity;
    if (!holder || holder === this.#reportedLeader) return;
    this.#reportedLeader = holder;
    this.#log?.info('leader election: new leader', { leader: holder });
    const onNewLeader = this.#o.onNewLeader;
    if (onNewLeader) this.#call('onNewLeader', () => onNewLeader.call(this.#o, holder));
  }

  #call(name: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log?.error(`leader election: ${name} threw`, { error: apiErrorMessage(err) });
    }
  }

  #observe(lease: V1Lease): void {
    this.#lease = lease;
    const record = recordOf(lease);
    const raw = rawOf(record);
    if (raw !== this.#observedRaw) {
      this.#observed = record;
      this.#observedRaw = raw;
      this.#observedTime = this.#now();
    }
  }

  /** client-go's isLeaseValid: the record seen last is younger than its own lease duration. */
  #leaseValid(now: number): boolean {
    const duration = this.#observed?.leaseDurationSeconds ?? 0;
    return this.#observedTime + duration * 1000 > now;
  }

  #spec(
    base: V1LeaseSpec | undefined,
    record: Partial<LeaderRecord> & { holderIdentity: string },
  ): V1LeaseSpec {
    const now = this.#now();
    return {
      ...base,
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds ?? this.#o.leaseDurationSeconds,
      acquireTime: microTime(record.acquireTime ?? now),
      renewTime: microTime(now),
      leaseTransitions: record.leaseTransitions ?? 0,
    };
  }

  async #replace(current: V1Lease, spec: V1LeaseSpec, signal: AbortSignal): Promise<V1Lease> {
    const { managedFields: _managedFields, ...metadata } = current.metadata ?? {};
    return this.#api.replaceNamespacedLease(
      {
        name: this.#o.name,
        namespace: this.#o.namespace,
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec },
      },
      abortOn(signal),
    );
  }

  #logFailure(action: string, err: unknown): void {
    const code = httpStatus(err);
    const fields =
      code === undefined ? { error: apiErrorMessage(err) } : { code, error: apiErrorMessage(err) };
    if (code === 409) this.#log?.debug(`leader election: lease ${action} conflict`, fields);
    else this.#log?.warn(`leader election: lease ${action} failed`, fields);
  }

  /** client-go's tryAcquireOrRenew: one attempt, true when this replica holds the Lease after it. */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const id = this.#o.identity;

    // Fast path: the leader renews with what it wrote last, without reading first.
    if (this.#leading && this.#lease && this.#observed && this.#leaseValid(this.#now())) {
      const observed = this.#observed;
      try {
        const spec = this.#spec(this.#lease.spec, {
          holderIdentity: id,
          acquireTime: observed.acquireTime,
          leaseTransitions: observed.leaseTransitions,
        });
        this.#observe(await this.#replace(this.#lease, spec, signal));
        return true;
      } catch (err) {
        this.#logFailure('renew', err);
        if (signal.aborted) return false;
        // Fall through: read the Lease and decide again.
      }
    }

    let current: V1Lease;
    try {
      current = await this.#api.readNamespacedLease(
        { name: this.#o.name, namespace: this.#o.namespace },
        abortOn(signal),
      );
    } catch (err) {
      if (httpStatus(err) !== 404) {
        this.#logFailure('read', err);
        return false;
      }
      try {
        const created = await this.#api.createNamespacedLease(
          {
            namespace: this.#o.namespace,
            body: {
              apiVersion: 'coordination.k8s.io/v1',
              kind: 'Lease',
              metadata: { name: this.#o.name, namespace: this.#o.namespace },
              spec: this.#spec(undefined, { holderIdentity: id }),
            },
          },
          abortOn(signal),
        );
        this.#observe(created);
        return true;
      } catch (createErr) {
        this.#logFailure('create', createErr);
        return false;
      }
    }

    this.#observe(current);
    const old = recordOf(current);
    if (old.holderIdentity !== '' && old.holderIdentity !== id && this.#leaseValid(this.#now())) {
      return false;
    }
    // Taking over (from nobody, or from an expired holder) counts a transition; renewing does not.
    const mine = old.holderIdentity === id;
    const spec = this.#spec(current.spec, {
      holderIdentity: id,
      acquireTime: mine ? old.acquireTime : undefined,
      leaseTransitions: mine ? old.leaseTransitions : old.leaseTransitions + 1,
    });
    try {
      this.#observe(await this.#replace(current, spec, signal));
      if (!mine) this.#log?.debug('leader election: took over the lease', { from: old.holderIdentity });
      return true;
    } catch (err) {
      this.#logFailure(mine ? 'renew' : 'acquire', err);
      return false;
    }
  }

  /** client-go's release: holder '' and a 1 s duration, if the Lease still names this replica. */
  async #release(): Promise<void> {
    const signal = AbortSignal.timeout(this.#renewDeadlineMs);
    for (let attempt = 0; attempt < 2; attempt++) {
      const lease = this.#lease;
      const observed = this.#observed;
      if (!lease || observed?.holderIdentity !== this.#o.identity) return;
      try {
        const spec = this.#spec(lease.spec, {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          leaseTransitions: observed.leaseTransitions,
        });
        this.#observe(await this.#replace(lease, spec, signal));
        this.#log?.info('leader election: released the lease');
        return;
      } catch (err) {
        this.#logFailure('release', err);
        if (httpStatus(err) !== 409) return;
      }
      // The Lease changed since it was last seen: read it, and release it if it still names us.
      try {
        this.#observe(
          await this.#api.readNamespacedLease(
            { name: this.#o.name, namespace: this.#o.namespace },
            abortOn(signal),
          ),
        );
      } catch (err) {
        this.#logFailure('read', err);
        return;
      }
    }
  }
}
