// API.md "Rate limits": fixed-window counters from rate-limiter-flexible, in
// this process's memory, or in Redis when REDIS_URL is set so that every
// instance shares them. Nothing here knows HTTP; callers name the keys.
// Not @fastify/rate-limit: it counts every request of a route, while failed
// log-ins and invalid tokens must count only failures, be cleared by a
// completed reset, and be usable by flows that never see Fastify.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config.ts';

export type Verdict = { allowed: true } | { allowed: false; retryAfter: number };

/** One limit: at most N attempts per key in a fixed window. */
export type Counter = {
  /** Counts one attempt; refused (with the seconds left in the window) once the window already holds the limit. */
  take(key: string): Promise<Verdict>;
  /** Uncounts an attempt that turned out not to count: a right password, a valid token. */
  giveBack(key: string): Promise<void>;
  /** Starts the key afresh. */
  clear(key: string): Promise<void>;
};

export type RateLimits = {
  /** Requests per endpoint and canonical target address (RATE_LIMIT_MAIL_PER_ADDRESS in RATE_LIMIT_MAIL_WINDOW). */
  mailPerAddress: Counter;
  /** Requests per endpoint and client a minute (RATE_LIMIT_IP_PER_MINUTE). */
  ipPerMinute: Counter;
  /** The same per IPv6 /48, ten times as many: one subscriber's block holds 65,536 /64s. */
  ipPerMinutePerBlock: Counter;
  /** Failed log-ins per canonical address (RATE_LIMIT_LOGIN_FAILURES in RATE_LIMIT_LOGIN_WINDOW). */
  loginFailures: Counter;
  /** invalid_token answers per client a minute (RATE_LIMIT_INVALID_TOKENS). */
  invalidTokens: Counter;
  /** The same per IPv6 /48, ten times as many. */
  invalidTokensPerBlock: Counter;
  close(): Promise<void>;
};

// API.md: each IPv6 /48 may do ten times what one client may.
const blockCeiling = 10;

type LimitsConfig = Pick<Config, 'rateLimits' | 'redisUrl' | 'redisKeyPrefix'>;

/**
 * The counters of API.md. With REDIS_URL, start-up waits for Redis (and
 * fails when it cannot be reached) so that no instance starts counting alone.
 */
export async function createRateLimits(config: LimitsConfig, onRedisError: (error: Error) => void): Promise<RateLimits> {
  const { rateLimits: limits, redisKeyPrefix } = config;
  if (!limits.enabled) {
    return {
      mailPerAddress: unlimited,
      ipPerMinute: unlimited,
      ipPerMinutePerBlock: unlimited,
      loginFailures: unlimited,
      invalidTokens: unlimited,
      invalidTokensPerBlock: unlimited,
      close: async () => {},
    };
  }
  const redis = config.redisUrl === undefined ? undefined : await connectRedis(config.redisUrl, onRedisError);
  const counter = (name: string, points: number, duration: number): Counter => {
    const options = { keyPrefix: `${redisKeyPrefix}rate-limit:${name}`, points, duration };
    const memory = new RateLimiterMemory(options);
    if (redis === undefined) return counterOf(memory);
    // While Redis is unreachable each instance counts alone, rather than letting every request through.
    return counterOf(new RateLimiterRedis({ ...options, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter: memory }));
  };
  return {
    mailPerAddress: counter('mail-per-address', limits.mailPerAddress, limits.mailWindow),
    ipPerMinute: counter('ip-per-minute', limits.ipPerMinute, 60),
    ipPerMinutePerBlock: counter('ip-per-minute-block', limits.ipPerMinute * blockCeiling, 60),
    loginFailures: counter('login-failures', limits.loginFailures, limits.loginWindow),
    invalidTokens: counter('invalid-tokens', limits.invalidTokens, 60),
    invalidTokensPerBlock: counter('invalid-tokens-block', limits.invalidTokens * blockCeiling, 60),
    // disconnect, not quit: quit waits for a Redis that may be gone; no command is left once the server has closed.
    close: async () => {
      redis?.disconnect();
    },
  };
}

const unlimited: Counter = {
  take: async () => ({ allowed: true }),
  giveBack: async () => {},
  clear: async () => {},
};

function counterOf(limiter: RateLimiterAbstract): Counter {
  return {
    async take(key) {
      try {
        await limiter.consume(storedKey(key));
        return { allowed: true };
      } catch (rejection) {
        // The library rejects with a RateLimiterRes when over the limit, and with an Error when its store fails.
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        return { allowed: false, retryAfter: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) };
      }
    },
    async giveBack(key) {
      await limiter.reward(storedKey(key));
    },
    async clear(key) {
      await limiter.delete(storedKey(key));
    },
  };
}

// Keys hold addresses and client IPs: the counter store gets only their hash.
function storedKey(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}

async function connectRedis(url: string, onError: (error: Error) => void): Promise<Redis> {
  // Loaded only with REDIS_URL: ioredis is a few MB of heap a service without Redis never uses.
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    // A request never waits for a Redis that is down: the command fails at once and the memory fallback answers.
    enableOfflineQueue: false,
    connectTimeout: 5000,
    commandTimeout: 1000,
    maxRetriesPerRequest: 1,
  });
  let startError: Error | undefined;
  const noteStartError = (error: Error): void => {
    startError ??= error;
  };
  client.on('error', noteStartError);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new Error(`REDIS_URL: cannot connect to Redis (${(startError ?? (error as Error)).message})`);
  }
  client.off('error', noteStartError);
  // ioredis reports every failed reconnection: tell the log once per outage.
  let down = false;
  client.on('error', (error: Error) => {
    if (!down) onError(error);
    down = true;
  });
  client.on('ready', () => {
    down = false;
  });
  return client;
}
