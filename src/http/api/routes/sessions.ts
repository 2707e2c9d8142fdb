import { clientOf } from '../../shared/client.ts';
import type { FastifyInstance } from 'fastify';
import type { FlowDeps } from '../../../flows/deps.ts';
import { signOut } from '../../../flows/session.ts';
import { publicUser } from '../../../flows/public-user.ts';
import { signIn } from '../../../flows/sign-in.ts';
import { endpointLimits } from '../../shared/rate-limits.ts';
import { requireSession } from '../session.ts';
import { routeSchemas, type Body, type SignInBody } from '../schemas.ts';

export async function sessionRoutes(app: FastifyInstance, deps: FlowDeps): Promise<void> {
  app.post<{ Body: Body<typeof SignInBody> }>('/api/sessions', { schema: routeSchemas.signIn, config: { limits: endpointLimits.logIn } }, async function logIn(request, reply) {
    return reply.code(201).send(await signIn(deps, request.body, clientOf(request)));
  });

  app.delete('/api/sessions/current', { schema: routeSchemas.signOut }, async function logOut(request, reply) {
    await signOut(deps, await requireSession(deps, request), clientOf(request));
    return reply.code(204).send();
  });

  app.get('/api/me', { schema: routeSchemas.me }, async function me(request) {
    const { user } = await requireSession(deps, request);
    return { user: publicUser(user) };
  });
}
