import { ApexAliasError } from '../errors.ts';

/**
 * Stable codes for backend failures. Every one of them means "nothing was written", except
 * UNREACHABLE after the request left (a timeout): the write may have landed, which is harmless
 * because every write is checked against the zone and the next pass re-reads before it plans.
 * - PRECONDITION: the zone no longer matches the expectation (re-read and plan again). With a
 *   backend that cannot write conditionally (powerdns), detail OVERWRITTEN: the write landed and
 *   another writer changed the names right after it; the zone holds the other writer's records.
 * - AUTH: the credentials were rejected (TSIG BADSIG/BADKEY/BADTIME, NOTAUTH, HTTP 401/403).
 * - REFUSED: the server refuses updates for this zone or from this client (policy).
 * - NOTZONE: the backend is not authoritative for the zone, or a name lies outside it.
 * - UNREACHABLE: timeout, connection refused, network error.
 * - SERVER: the backend failed (SERVFAIL, HTTP 5xx, I/O error).
 * - INVALID: the backend rejected the request as malformed (FORMERR, HTTP 400/422).
 * - UNVERIFIED: a reply came, but its signature did not verify: whether the write landed is
 *   unknown, and the engine reads the names back to find out.
 */
export type BackendErrorKind =
  'PRECONDITION' | 'AUTH' | 'REFUSED' | 'NOTZONE' | 'UNREACHABLE' | 'SERVER' | 'INVALID' | 'UNVERIFIED';

/** `ERR_BACKEND_<KIND>`, for example `ERR_BACKEND_PRECONDITION`. */
export type BackendErrorCode = `ERR_BACKEND_${BackendErrorKind}`;

export class BackendError extends ApexAliasError<BackendErrorCode> {
  readonly kind: BackendErrorKind;
  /** The backend's own result code: an RCODE name ("YXRRSET"), a TSIG error, or an HTTP status. */
  readonly detail: string;
  constructor(kind: BackendErrorKind, detail: string, message: string, options?: { cause?: unknown }) {
    super(`ERR_BACKEND_${kind}`, message, options);
    this.kind = kind;
    this.detail = detail;
  }

  /** Worth retrying with backoff: the same request may succeed later. */
  get retryable(): boolean {
    return (
      this.kind === 'UNREACHABLE' ||
      this.kind === 'SERVER' ||
      this.kind === 'PRECONDITION' ||
      this.kind === 'UNVERIFIED'
    );
  }
}
