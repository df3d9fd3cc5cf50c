import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/*
 * Ports come from 10000–32767: below Linux's ephemeral range (32768–60999), so an outgoing
 * connection of some other process cannot take a port between our probe and the server's bind.
 *
 * Parallel vitest workers are separate processes, so an in-process set is not enough. Each handed
 * out port also gets a reservation file (created with O_EXCL) in a shared temp folder; a port
 * whose reservation is younger than RESERVATION_MS is skipped by every worker. Reservations
 * expire on their own, so a crashed worker cannot exhaust the range.
 */
const LOW = 10_000;
const HIGH = 32_767;
const RESERVATION_MS = 120_000;
const RESERVATION_DIR = path.join(os.tmpdir(), 'apexalias-test-ports');
const handedOut = new Set<number>();

function reserve(port: number): boolean {
  fs.mkdirSync(RESERVATION_DIR, { recursive: true });
  const file = path.join(RESERVATION_DIR, String(port));
  try {
    fs.closeSync(fs.openSync(file, 'wx'));
    return true;
  } catch {
    try {
      if (Date.now() - fs.statSync(file).mtimeMs < RESERVATION_MS) return false;
      // Stale: take it over. utimes keeps the race window tiny; a loser only loses a port.
      fs.utimesSync(file, new Date(), new Date());
      return true;
    } catch {
      return false;
    }
  }
}

function probeTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function probeUdp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ address: '127.0.0.1', port, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

/**
 * A port on 127.0.0.1 that is free for both UDP and TCP right now, and that no other test
 * process on this machine was handed in the last two minutes. The probe sockets are closed before
 * this resolves, so there is a short window in which something else could bind it; the server
 * starters retry with a new port when that happens.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
    if (handedOut.has(port)) continue;
    if (!reserve(port)) continue;
    if ((await probeTcp(port)) && (await probeUdp(port))) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`freePort: no port free for both UDP and TCP in ${LOW}-${HIGH} after 500 attempts`);
}
