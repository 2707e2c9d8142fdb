// Redis for the rate-limit suites: 127.0.0.1:6379 (or TEST_REDIS_URL). Like
// PostgreSQL, optional locally and mandatory with CI=true. Each test run writes
// under its own key prefix and deletes only those keys, never FLUSHALL.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { Redis } from 'ioredis';

export const testRedisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let redisReachable: Promise<string | undefined> | undefined;

/** undefined when reachable, else the reason it is not. */
export function redisUnavailable(): Promise<string | undefined> {
  redisReachable ??= (async () => {
    const client = new Redis(testRedisUrl, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      return undefined;
    } catch (error) {
      return `Redis at ${testRedisUrl} is not reachable (${(error as Error).message})`;
    } finally {
      client.disconnect();
    }
  })();
  return redisReachable;
}

/**
 * `skip` for node:test: false when Redis can be used, else the printed
 * reason. Throws when CI=true, where Redis tests are mandatory.
 */
export async function skipUnlessRedis(): Promise<false | string> {
  const reason = await redisUnavailable();
  if (reason === undefined) return false;
  if (process.env.CI === 'true') throw new Error(`CI=true requires Redis: ${reason}`);
  return `skipped: ${reason}`;
}

/** A REDIS_KEY_PREFIX no other run uses. */
export function uniqueRedisPrefix(): string {
  return `latchkey-test:${process.pid}:${Date.now().toString(36)}:${Math.random().toString(36).slice(2, 8)}:`;
}

/** Keys under `prefix`, for assertions. */
export async function redisKeys(prefix: string): Promise<string[]> {
  const client = new Redis(testRedisUrl);
  try {
    const keys: string[] = [];
    for await (const batch of client.scanStream({ match: `${prefix}*`, count: 500 })) keys.push(...(batch as string[]));
    return keys;
  } finally {
    client.disconnect();
  }
}

/** Deletes every key under `prefix`, and nothing else. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const keys = await redisKeys(prefix);
  if (keys.length === 0) return;
  const client = new Redis(testRedisUrl);
  try {
    await client.del(...keys);
  } finally {
    client.disconnect();
  }
}

export type RedisProxy = { url: string; cut(): Promise<void> };

/** A TCP relay to the test Redis that a test can cut, to play a Redis outage without touching the real one. */
export async function startRedisProxy(): Promise<RedisProxy> {
  const target = new URL(testRedisUrl);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    async cut() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
