// Small waits and ports for tests that run servers and children: one of each,
// instead of a copy per file. Prefer a child that listens on port 0 and
// reports its port (test/support/serve-process.ts, smtp-sink-process.ts), and
// an SMTP server that is "down" on a port the test holds (smtp-sink.ts):
// freePort() closes its listener and hands the number on, and another
// process may take it in between. It is left for a server that must know its
// own address before it listens, and for tests of which port a child takes.
import { createServer, type AddressInfo } from 'node:net';

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

/** A port that was free a moment ago (for a server that must know its own address before it listens). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
