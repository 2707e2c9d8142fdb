import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/store.ts';
import { sendProblem } from '../problem.ts';
import { routeSchemas } from '../schemas.ts';

export async function healthRoutes(app: FastifyInstance, store: Store): Promise<void> {
  app.get('/api/health', { schema: routeSchemas.health }, async function health(request, reply) {
    try {
      const outbox = await store.outboxStats(Date.now());
      return {
        status: 'ok',
        // Mail waiting to go out: a growing depth or age means delivery is stuck.
        outbox: { pending: outbox.pending, due: outbox.due, failed: outbox.failed, oldest_due_seconds: outbox.oldestDueSeconds },
      };
    } catch (error) {
      request.log.warn({ err: error }, 'health check: database unreachable');
      return sendProblem(reply, 'unavailable');
    }
  });
}
