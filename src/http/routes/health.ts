import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/store.ts';
import { sendProblem } from '../problem.ts';

export async function healthRoutes(app: FastifyInstance, store: Store): Promise<void> {
  app.get('/api/health', async function health(request, reply) {
    try {
      await store.ping();
      return { status: 'ok' };
    } catch (error) {
      request.log.warn({ err: error }, 'health check: database unreachable');
      return sendProblem(reply, 'unavailable');
    }
  });
}
