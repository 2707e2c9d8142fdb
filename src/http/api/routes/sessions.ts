import type { FastifyInstance } from 'fastify';
import type { FlowDeps } from '../../../flows/deps.ts';
import { signOut } from '../../../flows/session.ts';
import { listSessions, revokeOtherSessions, revokeSession } from '../../../flows/sessions.ts';
import { isoSeconds, publicUser } from '../../../flows/public-user.ts';
import { signIn } from '../../../flows/sign-in.ts';
import { clientOf } from '../../shared/client.ts';
import { endpointLimits } from '../../shared/rate-limits.ts';
import { requireSession } from '../session.ts';
import { routeSchemas, type Body, type SignInBody } from '../schemas.ts';

export async function sessionRoutes(app: FastifyInstance, deps: FlowDeps): Promise<void> {
  app.post<{ Body: Body<typeof SignInBody> }>('/api/sessions', { schema: routeSchemas.signIn, config: { limits: endpointLimits.logIn } }, async function logIn(request, reply) {
    return reply.code(201).send(await signIn(deps, request.body, clientOf(request)));
  });

  app.get('/api/sessions', { schema: routeSchemas.listSessions }, async function sessions(request) {
    return { sessions: await listSessions(deps, await requireSession(deps, request)) };
  });

  app.delete('/api/sessions/current', { schema: routeSchemas.signOut }, async function logOut(request, reply) {
    await signOut(deps, await requireSession(deps, request), clientOf(request));
    return reply.code(204).send();
  });

  app.delete<{ Params: { id: string } }>('/api/sessions/:id', { schema: routeSchemas.revokeSession }, async function endSession(request, reply) {
    await revokeSession(deps, await requireSession(deps, request), request.params.id, clientOf(request));
    return reply.code(204).send();
  });

  app.delete('/api/sessions', { schema: routeSchemas.revokeOtherSessions }, async function endOtherSessions(request, reply) {
    await revokeOtherSessions(deps, await requireSession(deps, request), clientOf(request));
    return reply.code(204).send();
  });

  app.get('/api/me', { schema: routeSchemas.me }, async function me(request) {
    const { user, session } = await requireSession(deps, request);
    return { user: publicUser(user), session: { id: session.id, expires_at: isoSeconds(session.expires_at) } };
  });
}
