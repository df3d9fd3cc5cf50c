import { rcodeName, TsigError } from '../../dns/errors.ts';
import { BackendError } from '../errors.ts';

/**
 * Maps an UPDATE response code to the backend error it means, or undefined for NOERROR.
 * `where` names the zone and server; every message says what to check next.
 */
export function errorForRcode(rcode: number, where: string, keyName?: string): BackendError | undefined {
  const name = rcodeName(rcode);
  switch (name) {
    case 'NOERROR':
      return undefined;
    case 'YXDOMAIN':
    case 'YXRRSET':
    case 'NXRRSET':
    case 'NXDOMAIN':
      return new BackendError(
        'PRECONDITION',
        name,
        `${where}: prerequisite failed (${name}); the records changed since they were read, re-reading`,
      );
    case 'NOTAUTH':
      return new BackendError(
        'AUTH',
        name,
        keyName
          ? `${where}: NOTAUTH; the server does not accept TSIG key ${keyName} for this zone, or is not authoritative for it`
          : `${where}: NOTAUTH; the server refuses unsigned updates (configure backends[].tsig) or is not authoritative for the zone`,
      );
    case 'NOTZONE':
      return new BackendError('NOTZONE', name, `${where}: a name is outside the zone (NOTZONE)`);
    case 'REFUSED':
      return new BackendError(
        'REFUSED',
        name,
        keyName
          ? `${where}: REFUSED. Either the server refused the change itself (its policy does not let key ${keyName} change this name or type, such as a BIND update-policy that grants other names only, or BIND's check-integrity refusing to remove the address of an in-zone nameserver or mail server), or it does not let the key update the zone at all: allow key ${keyName} to update it (BIND allow-update/update-policy, Knot acl, PowerDNS TSIG-ALLOW-DNSUPDATE). PowerDNS also answers REFUSED for a wrong secret or an unknown key, so check keyName, algorithm and the secret file too`
          : `${where}: REFUSED; the server requires a TSIG key for updates (configure backends[].tsig), or its policy refuses this change`,
      );
    case 'SERVFAIL':
      return new BackendError(
        'SERVER',
        name,
        `${where}: SERVFAIL; check the server's log (zone journal, disk)`,
      );
    case 'FORMERR':
    case 'NOTIMP':
      return new BackendError('INVALID', name, `${where}: ${name}; the server rejected the UPDATE message`);
    default:
      return new BackendError('SERVER', name, `${where}: unexpected response code ${name}`);
  }
}

/** Maps a transport or TSIG failure to the backend error it means. */
export function errorForTransport(err: unknown, where: string, keyName?: string): BackendError {
  const code = (err as { code?: string }).code ?? '';
  const detail = err instanceof Error ? err.message : String(err);
  if (err instanceof TsigError) {
    const tsigError = err.tsigError;
    return new BackendError(
      'AUTH',
      tsigError,
      `${where}: TSIG ${tsigError} for key ${keyName ?? '?'}; ${TSIG_HINTS[tsigError] ?? detail}`,
      { cause: err },
    );
  }
  if (code === 'ERR_DNS_MALFORMED') {
    return new BackendError('SERVER', 'MALFORMED', `${where}: malformed response: ${detail}`, { cause: err });
  }
  return new BackendError(
    'UNREACHABLE',
    code || 'NETWORK',
    `${where}: ${detail}; is the server running and reachable?`,
    {
      cause: err,
    },
  );
}

const TSIG_HINTS: Record<string, string> = {
  BADSIG: "the secret does not match the server's; check the secret file",
  BADKEY:
    'the server does not accept this key: unknown name or algorithm, or not allowed for this zone by its ACL; check keyName, algorithm and the server configuration',
  BADTIME: 'the clocks differ by more than the fudge (300 s); fix time synchronisation',
  UNSIGNED: 'the server answered without a TSIG signature; is the key configured on the server?',
};
