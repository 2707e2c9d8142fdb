// PATCH and DELETE /api/me: the signed-in user changes their name, or leaves.
import type { FastifyInstance } from 'fastify';
import { deleteOwnAccount } from '../../../flows/delete-account.ts';
import type { FlowDeps } from '../../../flows/deps.ts';
import { updateName } from '../../../flows/update-name.ts';
import { clientOf } from '../../shared/client.ts';
import { endpointLimits } from '../../shared/rate-limits.ts';
import { requireSession } from '../session.ts';
import { routeSchemas, type Body, type DeleteMeBody, type UpdateMeBody } from '../schemas.ts';

export async function meRoutes(app: FastifyInstance, deps: FlowDeps): Promise<void> {
  app.patch<{ Body: Body<typeof UpdateMeBody> }>('/api/me', { schema: routeSchemas.updateMe }, async function changeName(request) {
    return { user: await updateName(deps, await requireSession(deps, request), request.body) };
  });

  app.delete<{ Body: Body<typeof DeleteMeBody> }>('/api/me', { schema: routeSchemas.deleteMe, config: { limits: endpointLimits.deleteAccount } }, async function deleteMe(request, reply) {
    await deleteOwnAccount(deps, clientOf(request), await requireSession(deps, request), request.body);
    return reply.code(204).send();
  });
}
