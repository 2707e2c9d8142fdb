// GET /metrics, on the management listener only: the delivery counters by
// message kind would tell a stranger whether a sign-up hit a known address.
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics.ts';

export async function metricsRoutes(app: FastifyInstance, metrics: Metrics): Promise<void> {
  app.get('/metrics', async function prometheus(_request, reply) {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
