// Small waits and ports for tests that run servers and children: one of each,
// instead of a copy per file. Prefer a child that listens on port 0 and
// reports its port (test/support/serve-process.ts, smtp-sink-process.ts), and
// an SMTP server that is "down" on a port the test holds (smtp-sink.ts):
// freePort() hands on a number it could listen on a moment ago, and a port
// handed on is not held. It is left for a server that must know its own
// address before it listens, and for tests of which port a child takes.
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` every `everyMs` until it answers something other than
 * undefined or false, and returns that; throws naming `what` after `timeoutMs`.
 */
export async function until<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 20): Promise<Exclude<T, undefined | false>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as Exclude<T, undefined | false>;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

const portRangeFile = '/proc/sys/net/ipv4/ip_local_port_range';
// The kernel's ephemeral range: where it picks the port of every listen on
// port 0 (the SMTP sinks, Latchkey under test, Chromium) and of every outgoing
// connection. freePort() picks below it, so none of those can take a port it
// handed on before the server meant for it listens (a CI run once had an SMTP
// sink answer on the port given to nginx).
// Without /proc (not Linux), 32768: Linux's default start, below macOS's 49152.
const ephemeralStart = existsSync(portRangeFile) ? Number(readFileSync(portRangeFile, 'utf8').split(/\s+/)[0]) : 32_768;
const lowestPort = 10_000;
/** Ports this process handed on: two servers of one test never get the same one. */
const handedOn = new Set<number>();

/** A port that was free a moment ago (for a server that must know its own address before it listens). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = randomInt(lowestPort, ephemeralStart);
    if (!handedOn.has(port) && (await canListen(port))) {
      handedOn.add(port);
      return port;
    }
  }
}

function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
