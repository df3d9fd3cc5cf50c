/**
 * Route 53 API errors as `BackendError` kinds, each with what to check next. Pure.
 */
import { BackendError } from '../errors.ts';

/** Error codes Route 53 answers when a request came too fast; the same request may succeed later. */
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'PriorRequestNotComplete',
  'RequestLimitExceeded',
  'TooManyRequestsException',
]);

const CREDENTIALS = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidSignatureException',
  'MissingAuthenticationToken',
  'ExpiredToken',
  'ExpiredTokenException',
  'CredentialsProviderError',
  'InvalidAccessKeyId',
]);

const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'NotAuthorizedException']);

const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: 'client' | 'server';
}

/** The error's code: the API's error code, or Node's code for a network failure. */
export function errorCode(err: unknown): string {
  const e = (err ?? {}) as SdkErrorShape;
  return e.code && NETWORK.has(e.code) ? e.code : (e.name ?? e.code ?? 'Error');
}

/** True for the answers that mean "slow down": retried with backoff inside the backend. */
export function isThrottling(err: unknown): boolean {
  const e = (err ?? {}) as SdkErrorShape;
  return THROTTLING.has(errorCode(err)) || e.$metadata?.httpStatusCode === 429;
}

/**
 * The `BackendError` for a failed API call. `where` names the call ("change batch for zone
 * example.com at route53 backend aws"); the API's own message is kept, since it names the record
 * set that failed. No part of a request (and so no credential) is ever part of the message.
 */
export function backendErrorOf(err: unknown, where: string): BackendError {
  const e = (err ?? {}) as SdkErrorShape;
  const code = errorCode(err);
  const status = e.$metadata?.httpStatusCode;
  const said = e.message ? `: ${e.message}` : '';
  if (code === 'InvalidChangeBatch') {
    return new BackendError(
      'PRECONDITION',
      code,
      `${where} was refused${said}. A record set changed after apexalias read it; it reads again and replans.`,
      { cause: err },
    );
  }
  if (code === 'NoSuchHostedZone' || code === 'HostedZoneNotFound') {
    return new BackendError(
      'NOTZONE',
      code,
      `${where}: the hosted zone does not exist${said}. Check the zone name and hostedZoneIds in the backend's configuration.`,
      { cause: err },
    );
  }
  if (CREDENTIALS.has(code) || status === 401) {
    return new BackendError(
      'AUTH',
      code,
      `${where}: the AWS credentials were not accepted (${code}). Check the credentials the SDK found ` +
        '(AWS_* environment variables, credentialsFile/profile, or the web identity token of the ServiceAccount) ' +
        'and the clock of this machine.',
      { cause: err },
    );
  }
  if (DENIED.has(code) || status === 403) {
    return new BackendError(
      'REFUSED',
      code,
      `${where}: access denied${said}. Allow route53:ListHostedZonesByName, route53:ListResourceRecordSets ` +
        'and route53:ChangeResourceRecordSets on the hosted zone to the IAM identity apexalias runs as.',
      { cause: err },
    );
  }
  if (THROTTLING.has(code) || status === 429) {
    return new BackendError(
      'SERVER',
      code,
      `${where}: Route 53 kept throttling the request (${code}) after retries with backoff. ` +
        'Other clients of the same AWS account share its rate limit (five requests per second); it is tried again later.',
      { cause: err },
    );
  }
  if (NETWORK.has(code) || (status === undefined && e.$fault === undefined)) {
    return new BackendError(
      'UNREACHABLE',
      code,
      `${where}: the Route 53 API could not be reached (${code}${said}). Check the network, proxies and ` +
        "the backend's endpoint and timeoutMs. A request that timed out may still have been applied; the next pass reads again.",
      { cause: err },
    );
  }
  if (code === 'InvalidInput' || code === 'InvalidDomainName' || status === 400) {
    return new BackendError(
      'INVALID',
      code,
      `${where} was rejected as malformed${said}. This is a bug in apexalias or a departure of the server from Route 53; please report it.`,
      { cause: err },
    );
  }
  return new BackendError(
    'SERVER',
    code,
    `${where} failed (${code}${status ? `, HTTP ${status}` : ''}${said}). It is tried again later.`,
    { cause: err },
  );
}
