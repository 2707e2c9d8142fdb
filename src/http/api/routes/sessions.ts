import type { FastifyInstance } from 'fastify';
import type { FlowDeps } from '../../../flows/deps.ts';
import { signOut } from '../../../flows/session.ts';
import { requestLoginLink, signInWithLink } from '../../../flows/login-link.ts';
import { listSessions, revokeOtherSessions, revokeSession } from '../../../flows/sessions.ts';
import { isoSeconds, publicUser } from '../../../flows/public-user.ts';
import { signIn } from '../../../flows/sign-in.ts';
import { clientOf } from '../../shared/client.ts';
import { endpointLimits } from '../../shared/rate-limits.ts';
import { requireSession } from '../session.ts';
import { routeSchemas, type Body, type LoginLinkBody, type SignInBody } from '../schemas.ts';

// The same body whether or not an account has the address.
const loginLinkRequested = { message: 'If an account uses this address, a link to log in is on its way.' };

export async function sessionRoutes(app: FastifyInstance, deps: FlowDeps): Promise<void> {
  // PASSWORDLESS=off: only the password shape validates (the others are 422), and there are no log-in links.
  const passwordless = deps.config.passwordless;
  app.post<{ Body: Body<typeof SignInBody> }>('/api/sessions', { schema: passwordless ? routeSchemas.signIn : routeSchemas.signInWithPassword, config: { limits: endpointLimits.logIn } }, async function logIn(request, reply) {
    const { email, password, token, code } = request.body;
    if (password !== undefined) return reply.code(201).send(await signIn(deps, { email: email!, password }, clientOf(request)));
    return reply.code(201).send(await signInWithLink(deps, token !== undefined ? { token } : { email: email!, code: code! }, clientOf(request)));
  });

  app.get('/api/sessions', { schema: routeSchemas.listSessions }, async function sessions(request) {
    return { sessions: await listSessions(deps, await requireSession(deps, request)) };
  });

  if (passwordless) {
    app.post<{ Body: Body<typeof LoginLinkBody> }>('/api/login-links', { schema: routeSchemas.loginLink, config: { limits: endpointLimits.loginLink } }, async function askLoginLink(request, reply) {
      await requestLoginLink(deps, request.body);
      return reply.code(202).send(loginLinkRequested);
    });
  }

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
