/**
 * A loopback TCP proxy that can be cut like a network partition: bytes stop flowing in both
 * directions on existing connections and new connections are accepted but never answered, so a
 * client sees timeouts, not resets. TLS passes through untouched; point a kubeconfig's server at
 * `https://127.0.0.1:<port>` (the test apiserver certificate covers 127.0.0.1).
 */
import net from 'node:net';

/** A running {@link startTcpProxy}. */
export interface TcpProxy {
  readonly port: number;
  /** Stalls every connection, current and new, without closing any. */
  cut(): void;
  /** Drops the stalled connections (clients reconnect) and forwards again. */
  restore(): void;
  stop(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket | undefined;
}

/** Proxies 127.0.0.1:<free port> to `target`. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let cut = false;

  const stall = (pair: Pair): void => {
    pair.client.unpipe();
    pair.upstream?.unpipe();
    pair.client.pause();
    pair.upstream?.pause();
  };
  const drop = (pair: Pair): void => {
    pair.client.destroy();
    pair.upstream?.destroy();
    pairs.delete(pair);
  };

  const server = net.createServer((client) => {
    const pair: Pair = { client, upstream: undefined };
    pairs.add(pair);
    client.on('error', () => drop(pair));
    client.on('close', () => drop(pair));
    if (cut) {
      client.pause();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.on('error', () => drop(pair));
    upstream.on('close', () => drop(pair));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    cut: () => {
      cut = true;
      for (const pair of pairs) stall(pair);
    },
    restore: () => {
      cut = false;
      for (const pair of [...pairs]) drop(pair);
    },
    stop: async () => {
      for (const pair of [...pairs]) drop(pair);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
