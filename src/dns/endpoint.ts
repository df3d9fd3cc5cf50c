import { isIP, isIPv6 } from 'node:net';
import { DnsError } from './errors.ts';

/** Where a DNS server listens. `host` is an IP literal (IPv6 without brackets) or a hostname. */
export interface Endpoint {
  host: string;
  port: number;
}

/** RFC 1123 host names: letters, digits, hyphens (and underscores, seen in internal names). */
const HOSTNAME =
  /^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

function endpointError(text: string, why: string): DnsError {
  return new DnsError(
    'ERR_DNS_ENDPOINT',
    `invalid DNS server address ${JSON.stringify(text)}: ${why}; ` +
      'expected "host", "host:port", "IPv6" or "[IPv6]:port"',
  );
}

function parsePort(text: string, portText: string): number {
  if (!/^\d{1,5}$/.test(portText)) throw endpointError(text, `port "${portText}" is not a number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw endpointError(text, `port ${port} is outside 1-65535`);
  return port;
}

/**
 * Parse a server address as operators write it: `192.0.2.1`, `192.0.2.1:5353`, `::1`,
 * `[::1]:53`, `[::1]`, `ns1.example.net`, `localhost:53`.
 * @throws DnsError `ERR_DNS_ENDPOINT` on anything else.
 */
export function parseEndpoint(text: string, defaultPort = 53): Endpoint {
  if (!Number.isInteger(defaultPort) || defaultPort < 1 || defaultPort > 65535) {
    throw endpointError(text, `default port ${defaultPort} is outside 1-65535`);
  }
  const input = text.trim();
  if (input === '') throw endpointError(text, 'empty');
  if (input.startsWith('[')) {
    const close = input.indexOf(']');
    if (close < 0) throw endpointError(text, 'missing "]"');
    const host = input.slice(1, close);
    if (!isIPv6(host)) throw endpointError(text, `"${host}" is not an IPv6 address`);
    const rest = input.slice(close + 1);
    if (rest === '') return { host, port: defaultPort };
    if (!rest.startsWith(':')) throw endpointError(text, `unexpected "${rest}" after "]"`);
    return { host, port: parsePort(text, rest.slice(1)) };
  }
  // More than one colon without brackets can only be a bare IPv6 address.
  if (isIPv6(input)) return { host: input, port: defaultPort };
  const colon = input.lastIndexOf(':');
  const host = colon < 0 ? input : input.slice(0, colon);
  const port = colon < 0 ? defaultPort : parsePort(text, input.slice(colon + 1));
  if (host.includes(':')) throw endpointError(text, 'write IPv6 addresses with a port as "[address]:port"');
  if (isIP(host) === 0 && (/^[\d.]+$/.test(host) || !HOSTNAME.test(host))) {
    throw endpointError(text, `"${host}" is neither an IP address nor a host name`);
  }
  return { host, port };
}

/** `host:port` for messages, with IPv6 literals in brackets so the port stays readable. */
export function formatEndpoint(endpoint: Endpoint): string {
  return isIPv6(endpoint.host) ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}
