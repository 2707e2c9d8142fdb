// The JSON API as one encapsulated scope: its OpenAPI document (which so sees
// only these routes) and its endpoints, answering errors as problem+json.
// API.md's rules for every path under /api/ (Origin, Content-Type,
// Cache-Control) are the root's (shared/api-guard.ts): they hold for /api/
// paths no route matches as well.
import type { FastifyInstance } from 'fastify';
import type { FlowDeps } from '../../flows/deps.ts';
import { answerProblem } from '../shared/problem-errors.ts';
import { registerOpenApi } from './openapi.ts';
import { activityRoutes } from './routes/activity.ts';
import { authzRoutes } from './routes/authz.ts';
import { emailRoutes } from './routes/email.ts';
import { healthRoutes } from './routes/health.ts';
import { meRoutes } from './routes/me.ts';
import { passwordRoutes } from './routes/password.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { userRoutes } from './routes/users.ts';

export type ApiScopeOptions = { deps: FlowDeps };

export async function apiScope(app: FastifyInstance, options: ApiScopeOptions): Promise<void> {
  const { deps } = options;
  app.setErrorHandler(answerProblem);
  await registerOpenApi(app, deps.config);
  await userRoutes(app, deps);
  await sessionRoutes(app, deps);
  await passwordRoutes(app, deps);
  await emailRoutes(app, deps);
  await authzRoutes(app, deps);
  await meRoutes(app, deps);
  await activityRoutes(app, deps);
  await healthRoutes(app, deps.store);
}
