import type { FastifyInstance } from 'fastify';
import type { FlowDeps } from '../../../flows/deps.ts';
import { updateEmail } from '../../../flows/update-email.ts';
import { endpointLimits } from '../../shared/rate-limits.ts';
import { requireSession } from '../session.ts';
import { routeSchemas, type Body, type UpdateEmailBody } from '../schemas.ts';

export async function emailRoutes(app: FastifyInstance, deps: FlowDeps): Promise<void> {
  app.post<{ Body: Body<typeof UpdateEmailBody> }>('/api/update-email', { schema: routeSchemas.updateEmail, config: { limits: endpointLimits.updateEmail } }, async function changeEmail(request, reply) {
    await updateEmail(deps, await requireSession(deps, request), request.body);
    return reply.code(202).send({ message: 'Check the new address for a link to confirm the change. Your address stays as it is until then.' });
  });
}
