// Two health answers. The public GET /api/health says only "ok" (or 503):
// anything that moves with mail, such as outbox depth, would tell a stranger
// whether a sign-up hit a known address. The management listener's GET
// /health gives operators the details: database, Redis, outbox, webhooks.
import type { FastifyInstance } from 'fastify';
import { OutboxQueue } from '../../store/outbox-queue.ts';
import type { Store } from '../../store/store.ts';
import { sendProblem } from '../problem.ts';
import { managementHealthSchema, routeSchemas } from '../schemas.ts';

/** Seconds a client should wait before asking again after a 503. */
const retryAfterSeconds = '5';

export async function healthRoutes(app: FastifyInstance, store: Store): Promise<void> {
  app.get('/api/health', { schema: routeSchemas.health }, async function health(request, reply) {
    try {
      await store.ping();
      return { status: 'ok' };
    } catch (error) {
      request.log.warn({ err: error }, 'health check: database unreachable');
      return sendProblem(reply.header('retry-after', retryAfterSeconds), 'unavailable');
    }
  });
}

export type HealthChecks = {
  store: Store;
  /** Present with REDIS_URL: resolves true when Redis answers. */
  redisReachable?: () => Promise<boolean>;
};

/** GET /health on the management listener: 503 when a configured dependency cannot be reached. */
export async function managementHealthRoutes(app: FastifyInstance, checks: HealthChecks): Promise<void> {
  app.get('/health', { schema: managementHealthSchema }, async function detailedHealth(request, reply) {
    const [outbox, redis] = await Promise.all([outboxQueue(checks.store), checks.redisReachable?.()]);
    if (outbox === undefined) request.log.warn('management health: database unreachable');
    const healthy = outbox !== undefined && redis !== false;
    return reply.code(healthy ? 200 : 503).send({
      status: healthy ? 'ok' : 'unavailable',
      database: { status: outbox === undefined ? 'unreachable' : 'ok' },
      ...(redis === undefined ? {} : { redis: { status: redis ? 'ok' : 'unreachable' } }),
      outbox: outbox ?? null,
      // Webhooks are not built yet; once WEBHOOK_URL exists this is its deliveries' queue, in the outbox's shape.
      webhooks: null,
    });
  });
}

/** The outbox's counts, or undefined when the database cannot be reached (the query is the database check). */
async function outboxQueue(store: Store) {
  try {
    const stats = await new OutboxQueue(store).stats(Date.now());
    return { pending: stats.pending, due: stats.due, failed: stats.failed, oldest_due_seconds: stats.oldestDueSeconds };
  } catch {
    return undefined;
  }
}
