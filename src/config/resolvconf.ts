/**
 * Server addresses as the configuration writes them, and the nameservers of /etc/resolv.conf. Pure.
 */
import { isIP, isZoneName, parseIp } from '../api/dnsname.ts';

export interface HostPort {
  /** An IP address (IPv6 without brackets) or, where allowed, a lower-case hostname. */
  host: string;
  port: number;
}

function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * Parses "host", "host:port", "[ipv6]", "[ipv6]:port" or a bare IPv6 address. `host` must be an
 * IP address, or also a hostname when `allowHostname` is set. Returns undefined when malformed.
 */
export function parseHostPort(
  text: string,
  options: { allowHostname?: boolean; defaultPort?: number } = {},
): HostPort | undefined {
  const defaultPort = options.defaultPort ?? 53;
  let host: string;
  let port = defaultPort;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracket) {
    host = bracket[1] ?? '';
    if (bracket[2] !== undefined) {
      const p = parsePort(bracket[2]);
      if (p === undefined) return undefined;
      port = p;
    }
    return parseIp(host)?.family === 6 && isIP(host) ? { host, port } : undefined;
  }
  const colons = text.split(':').length - 1;
  if (colons > 1) return isIP(text) ? { host: text, port } : undefined;
  if (colons === 1) {
    const at = text.lastIndexOf(':');
    const p = parsePort(text.slice(at + 1));
    if (p === undefined) return undefined;
    host = text.slice(0, at);
    port = p;
  } else {
    host = text;
  }
  if (isIP(host)) return { host, port };
  const lower = host.toLowerCase();
  if (options.allowHostname && isZoneName(lower) && !lower.endsWith('.')) return { host: lower, port };
  return undefined;
}

/**
 * The nameservers of a resolv.conf text, in order, as "ip" strings (port 53 implied). Comments
 * (# and ;) and every other option are ignored. A link-local IPv6 nameserver keeps its zone
 * ("fe80::1%eth0"), which the socket needs.
 */
export function readResolvConf(text: string): string[] {
  const servers: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [keyword, address] = line.split(/\s+/);
    if (keyword !== 'nameserver' || address === undefined) continue;
    if (parseIp(address)) servers.push(address);
  }
  return servers;
}
