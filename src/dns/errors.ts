import { ApexAliasError } from '../errors.ts';

/**
 * Base class for every failure of the DNS wire code and transport. Construct it directly only
 * for failures without a dedicated subclass (e.g. `ERR_DNS_NAME`, `ERR_DNS_ENDPOINT`,
 * `ERR_DNS_RDATA`, `ERR_DNS_PRESENTATION`, `ERR_DNS_ABORTED`, `ERR_RESOLVER_UNTRUSTED_VALIDATOR`).
 */
export class DnsError extends ApexAliasError {}

/**
 * RCODE mnemonics from the IANA "DNS RCODEs" registry (RFC 6895 section 2.3). 16 is listed twice
 * there (BADVERS for EDNS, BADSIG for TSIG); this project only meets it in a TSIG error field,
 * so it is named BADSIG.
 */
const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
  11: 'DSOTYPENI',
  16: 'BADSIG',
  17: 'BADKEY',
  18: 'BADTIME',
  19: 'BADMODE',
  20: 'BADNAME',
  21: 'BADALG',
  22: 'BADTRUNC',
  23: 'BADCOOKIE',
};

/**
 * The mnemonic of a DNS RCODE, including the extended (TSIG/EDNS) ones. Unassigned values come
 * back as `RCODE<n>` so that they still make a stable error code.
 */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

/**
 * The server answered with a non-zero RCODE. `code` is `ERR_DNS_RCODE_<NAME>`, for example
 * `ERR_DNS_RCODE_REFUSED` or `ERR_DNS_RCODE_YXRRSET`.
 */
export class DnsRcodeError extends DnsError {
  readonly rcode: number;
  readonly rcodeName: string;
  constructor(rcode: number, message?: string, options?: { cause?: unknown }) {
    const name = rcodeName(rcode);
    super(`ERR_DNS_RCODE_${name}`, message ?? `DNS server answered ${name} (rcode ${rcode})`, options);
    this.rcode = rcode;
    this.rcodeName = name;
  }
}

/**
 * A TSIG failure (RFC 8945). `tsigError` is `BADSIG`, `BADKEY`, `BADTIME`, `BADTRUNC`, `FORMERR`,
 * `UNSIGNED` (the response carried no TSIG at all) or another RCODE mnemonic the server put in
 * its TSIG error field. `code` is `ERR_TSIG_<tsigError>`.
 */
export class TsigError extends DnsError {
  readonly tsigError: string;
  constructor(tsigError: string, message: string, options?: { cause?: unknown }) {
    super(`ERR_TSIG_${tsigError}`, message, options);
    this.tsigError = tsigError;
  }
}

/** No acceptable reply arrived in time. `code` is `ERR_DNS_TIMEOUT`. */
export class DnsTimeoutError extends DnsError {
  /** Why replies that did arrive were dropped ('id', 'malformed', …): a hostile or broken peer. */
  readonly dropped: string[];
  constructor(message: string, options?: { cause?: unknown; dropped?: string[] }) {
    super('ERR_DNS_TIMEOUT', message, options);
    this.dropped = options?.dropped ?? [];
  }
}

/** A message could not be parsed. `code` is `ERR_DNS_MALFORMED`. */
export class DnsMalformedError extends DnsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DNS_MALFORMED', message, options);
  }
}

/**
 * The socket failed: connection refused or reset, host unreachable, closed before a reply.
 * `code` is `ERR_DNS_NETWORK`; the system error (if any) is the `cause`.
 */
export class DnsNetworkError extends DnsError {
  /** The system error code of the cause, such as `ECONNREFUSED` or `ECONNRESET`, when there is one. */
  readonly errno: string | undefined;
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DNS_NETWORK', message, options);
    const code = (options?.cause as { code?: unknown } | undefined)?.code;
    this.errno = typeof code === 'string' ? code : undefined;
  }
}

/**
 * Why an SVCB or HTTPS record (RFC 9460) was refused, in either direction:
 * - `ERR_SVCB_MALFORMED`: wire RDATA that breaks RFC 9460 section 2.2 (a SvcParam runs past the
 *   end, keys not in strictly increasing order, a compressed or overlong TargetName).
 * - `ERR_SVCB_SYNTAX`: presentation text that cannot be read (quotes, escapes, parentheses,
 *   SvcPriority, TargetName, a key name).
 * - `ERR_SVCB_VALUE`: a SvcParamValue of the wrong format, e.g. an empty `alpn`, a `port` that is
 *   not a 16-bit number, `no-default-alpn=abc`, or an escape sequence where none is allowed.
 * - `ERR_SVCB_DUPLICATE_KEY`: a key given twice, among the SvcParams or in the `mandatory` list.
 * - `ERR_SVCB_INCONSISTENT`: SvcParams that are not self-consistent (RFC 9460 section 8):
 *   `mandatory` lists itself or a key that is absent, or `no-default-alpn` comes without `alpn`.
 */
export type SvcbErrorCode =
  | 'ERR_SVCB_MALFORMED'
  | 'ERR_SVCB_SYNTAX'
  | 'ERR_SVCB_VALUE'
  | 'ERR_SVCB_DUPLICATE_KEY'
  | 'ERR_SVCB_INCONSISTENT';

/** An SVCB/HTTPS record that cannot be decoded, encoded or parsed; see {@link SvcbErrorCode}. */
export class SvcbError extends DnsError {
  declare readonly code: SvcbErrorCode;
  constructor(code: SvcbErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
