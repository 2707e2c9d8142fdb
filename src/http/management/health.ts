// GET /health on the management listener: database, Redis (with REDIS_URL),
// the outbox's mail queue and its webhook deliveries, for operators
// only; the public listener's /api/health says no more than "ok".
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { webhookKind } from '../../mail/outbox.ts';
import { OutboxQueue, type KindFilter } from '../../store/outbox-queue.ts';
import type { Store } from '../../store/store.ts';

// The management listener's GET /health (not in /openapi.json: operators only, on another port).
const Queue = Type.Object({ pending: Type.Integer(), due: Type.Integer(), failed: Type.Integer(), oldest_due_seconds: Type.Integer() });
const Reachable = Type.Object({ status: Type.Union([Type.Literal('ok'), Type.Literal('unreachable')]) });
const ManagementHealth = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  database: Reachable,
  // Only with REDIS_URL.
  redis: Type.Optional(Reachable),
  // null while the database cannot be reached.
  outbox: Type.Union([Queue, Type.Null()]),
  // Always the queue (API.md lists it without a condition; all zero until WEBHOOK_URL is set); null while the database cannot be reached.
  webhooks: Type.Union([Queue, Type.Null()]),
});
const managementHealthSchema = { response: { 200: ManagementHealth, 503: ManagementHealth } };

export type HealthChecks = {
  store: Store;
  /** Present with REDIS_URL: resolves true when Redis answers. */
  redisReachable?: () => Promise<boolean>;
};

/** GET /health on the management listener: 503 when a configured dependency cannot be reached. */
export async function managementHealthRoutes(app: FastifyInstance, checks: HealthChecks): Promise<void> {
  app.get('/health', { schema: managementHealthSchema }, async function detailedHealth(request, reply) {
    const [outbox, redis, webhooks] = await Promise.all([
      outboxQueue(checks.store, { except: [webhookKind] }),
      checks.redisReachable?.(),
      outboxQueue(checks.store, { only: [webhookKind] }),
    ]);
    if (outbox === undefined) request.log.warn('management health: database unreachable');
    const healthy = outbox !== undefined && redis !== false;
    return reply.code(healthy ? 200 : 503).send({
      status: healthy ? 'ok' : 'unavailable',
      database: { status: outbox === undefined ? 'unreachable' : 'ok' },
      ...(redis === undefined ? {} : { redis: { status: redis ? 'ok' : 'unreachable' } }),
      outbox: outbox ?? null,
      webhooks: webhooks ?? null,
    });
  });
}

/** The outbox's counts, or undefined when the database cannot be reached (the query is the database check). */
async function outboxQueue(store: Store, kinds: KindFilter) {
  try {
    const stats = await new OutboxQueue(store, kinds).stats(Date.now());
    return { pending: stats.pending, due: stats.due, failed: stats.failed, oldest_due_seconds: stats.oldestDueSeconds };
  } catch {
    return undefined;
  }
}
