// The public GET /api/health says only "ok" (or 503): anything that moves
// with mail, such as outbox depth, would tell a stranger whether a sign-up hit
// a known address. Operators get the details on the management listener
// (management/health.ts).
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../../store/store.ts';
import { sendProblem } from '../../problem.ts';
import { routeSchemas } from '../schemas.ts';

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
