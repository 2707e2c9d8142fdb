import { clientOf } from '../../shared/client.ts';
import type { FastifyInstance } from 'fastify';
import type { FlowDeps } from '../../../flows/deps.ts';
import { requestPasswordReset } from '../../../flows/request-password-reset.ts';
import { resetPassword } from '../../../flows/reset-password.ts';
import { updatePassword } from '../../../flows/update-password.ts';
import { endpointLimits } from '../../shared/rate-limits.ts';
import { requireSession } from '../session.ts';
import { routeSchemas, type Body, type ResetPasswordBody, type ResetRequestBody, type UpdatePasswordBody } from '../schemas.ts';

// The same body whether or not an account has the address.
const resetRequested = { message: 'If an account uses this address, a link to reset its password is on its way.' };

export async function passwordRoutes(app: FastifyInstance, deps: FlowDeps): Promise<void> {
  app.post<{ Body: Body<typeof ResetRequestBody> }>('/api/reset-password-request', { schema: routeSchemas.resetRequest, config: { limits: endpointLimits.resetRequest } }, async function requestReset(request, reply) {
    await requestPasswordReset(deps, request.body);
    return reply.code(202).send(resetRequested);
  });

  app.post<{ Body: Body<typeof ResetPasswordBody> }>('/api/reset-password', { schema: routeSchemas.resetPassword, config: { limits: endpointLimits.resetPassword } }, async function reset(request) {
    await resetPassword(deps, request.body, clientOf(request));
    return { message: 'Your password has been changed. You can now log in with it.' };
  });

  app.post<{ Body: Body<typeof UpdatePasswordBody> }>('/api/update-password', { schema: routeSchemas.updatePassword, config: { limits: endpointLimits.updatePassword } }, async function changePassword(request) {
    await updatePassword(deps, await requireSession(deps, request), request.body, clientOf(request));
    return { message: 'Your password has been changed. Your other sessions were signed out.' };
  });
}
