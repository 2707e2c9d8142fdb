import { clientOf } from '../../shared/client.ts';
import type { FastifyInstance } from 'fastify';
import { confirm } from '../../../flows/confirm.ts';
import type { FlowDeps } from '../../../flows/deps.ts';
import { negotiateLocale } from '../../../locale.ts';
import { resendConfirmation } from '../../../flows/resend-confirmation.ts';
import { signUp } from '../../../flows/sign-up.ts';
import { endpointLimits } from '../../shared/rate-limits.ts';
import { routeSchemas, type Body, type ConfirmBody, type ResendConfirmBody, type SignUpBody } from '../schemas.ts';

// One body for both paths: nothing in the answer says whether the address had an account.
const signedUp = { message: 'Check your inbox: we sent a message to this address to finish signing up.' };
const resent = { message: 'If an unconfirmed account uses this address, a new confirmation link is on its way.' };

export async function userRoutes(app: FastifyInstance, deps: FlowDeps): Promise<void> {
  app.post<{ Body: Body<typeof SignUpBody> }>('/api/users', { schema: routeSchemas.signUp, config: { limits: endpointLimits.signUp } }, async function createUser(request, reply) {
    // The account's mail is written in the language the client's browser asks for.
    await signUp(deps, { ...request.body, locale: negotiateLocale(request.headers['accept-language']) }, clientOf(request));
    return reply.code(202).send(signedUp);
  });

  app.post<{ Body: Body<typeof ConfirmBody> }>('/api/confirm', { schema: routeSchemas.confirm, config: { limits: endpointLimits.confirm } }, async function confirmToken(request) {
    const user = await confirm(deps, request.body, clientOf(request));
    return { message: 'Your email address is confirmed.', user };
  });

  app.post<{ Body: Body<typeof ResendConfirmBody> }>('/api/resend-confirm', { schema: routeSchemas.resendConfirm, config: { limits: endpointLimits.resendConfirm } }, async function resendConfirm(request, reply) {
    await resendConfirmation(deps, request.body);
    return reply.code(202).send(resent);
  });
}
