// The management listener (API.md "Operations"): GET /metrics and the detailed
// GET /health on MANAGEMENT_HOST:MANAGEMENT_PORT, loopback by default. Apart
// from the public listener, the way Keycloak, Kratos and Authelia keep their
// admin ports: the counters that move with each mail stay with operators.
// `serve` and `worker` each start one, for the counts of their own process.
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { Metrics } from '../../metrics.ts';
import type { Store } from '../../store/store.ts';
import { answerProblems } from '../shared/problem-errors.ts';
import { managementHealthRoutes } from './health.ts';
import { metricsRoutes } from './metrics.ts';

export type ManagementDeps = {
  listen: { host: string; port: number };
  store: Store;
  metrics: Metrics;
  redisUrl: string | undefined;
  log: FastifyBaseLogger;
};

export type Management = {
  /** e.g. http://127.0.0.1:9464 */
  address: string;
  close(): Promise<void>;
};

/** Listens, or fails with one line naming MANAGEMENT_PORT (two processes on one host need a port each). */
export async function startManagement(deps: ManagementDeps): Promise<Management> {
  // A scrape every few seconds is not worth an access-log line each.
  const app = Fastify({ loggerInstance: deps.log.child({ listener: 'management' }), logController: new LogController({ disableRequestLogging: true }) });
  answerProblems(app);
  const redis = deps.redisUrl === undefined ? undefined : await redisProbe(deps.redisUrl);
  if (redis !== undefined) app.addHook('onClose', async () => redis.close());
  await metricsRoutes(app, deps.metrics);
  await managementHealthRoutes(app, { store: deps.store, redisReachable: redis?.reachable });
  const { host, port } = deps.listen;
  try {
    const address = await app.listen({ host, port });
    return { address, close: () => app.close() };
  } catch (error) {
    await app.close();
    const reason = (error as { code?: string }).code ?? (error as Error).message;
    throw new Error(`MANAGEMENT_PORT: cannot listen on ${host}:${port} (${reason}); give each process on this host its own MANAGEMENT_PORT, or set it to off`);
  }
}

/**
 * A connection of its own for the health check: the rate limits keep theirs
 * to themselves, and `latchkey worker` has none. A PING never waits for a
 * Redis that is down: it fails at once and the answer says unreachable.
 */
async function redisProbe(url: string) {
  // Loaded only with REDIS_URL (as in security/rate-limits.ts).
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, connectTimeout: 2000, commandTimeout: 1000, maxRetriesPerRequest: 0 });
  // The health answer reports an outage; ioredis would otherwise print every failed reconnection.
  client.on('error', () => {});
  return {
    async reachable(): Promise<boolean> {
      try {
        if (client.status === 'wait' || client.status === 'end') await client.connect();
        return (await client.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    close: () => client.disconnect(),
  };
}
