// Builds the HTTP server without listening: tests and `serve` both call it.
// Its parts come made (main.ts): the logger, the rate limits, the store.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { FlowDeps } from '../flows/deps.ts';
import { WriteTime } from '../flows/same-time.ts';
import type { DevMailbox } from '../mail/dev-mailbox.ts';
import { CodeKey } from '../security/link-codes.ts';
import type { RateLimits } from '../security/rate-limits.ts';
import { resolveSecretKey } from '../security/secret-key.ts';
import { apiScope } from './api/plugin.ts';
import { pageScope } from './pages/plugin.ts';
import { AccessLog } from './shared/access-log.ts';
import { registerApiGuard } from './shared/api-guard.ts';
import { sendProblem } from './problem.ts';
import { answerProblems } from './shared/problem-errors.ts';
import { guardRateLimits } from './shared/rate-limits.ts';

export type ServerDeps = Omit<FlowDeps, 'limits' | 'linkWrites' | 'codeKey'> & {
  /** Every counter: the flows count per address, the HTTP layer per client. */
  limits: RateLimits;
  logger: FastifyBaseLogger;
  /** Present when no MAIL_SERVER is configured. */
  devMailbox?: DevMailbox | undefined;
};

export const bodyLimit = 65_536;

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config, logger, devMailbox, ...rest } = deps;
  const app = Fastify({
    loggerInstance: logger,
    logController: new AccessLog(),
    bodyLimit,
    trustProxy: typeof config.trustProxy === 'number' ? hops(config.trustProxy) : config.trustProxy,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // A path parameter (DELETE /api/sessions/{id}) over the default 100 characters would be a bare 414, not a problem+json 404.
    routerOptions: { maxParamLength: 16_384 },
    // Strip prototype keys instead of refusing the body: `__proto__` in JSON changes nothing.
    onProtoPoisoning: 'remove',
    onConstructorPoisoning: 'remove',
    // Types are strict: a number, array or null where a string belongs is a 422, never coerced.
    ajv: { customOptions: { coerceTypes: false, allErrors: true, removeAdditional: false, useDefaults: false } },
    // A path that does not percent-decode (/api/me/%ZZ) names no route: the problem+json 404 of any unknown path,
    // not Fastify's bare 400; no-store, as it may be under /api/ (API.md, Conventions).
    frameworkErrors: (error, _request, reply) => {
      const answer = reply as FastifyReply;
      if (error.code !== 'FST_ERR_BAD_URL') return answer.send(error);
      return sendProblem(answer.header('cache-control', 'no-store'), 'not_found');
    },
  });

  // Shared by both scopes: problem+json for whatever no scope answers, the
  // /api/ rules (unknown /api/ paths included), and the per-client rate limits.
  answerProblems(app);
  await registerApiGuard(app, config);
  // Rate limits (API.md "Rate limits") register here, before the routes they guard.
  guardRateLimits(app, deps.limits, config);
  const flowDeps: FlowDeps = { ...rest, config, linkWrites: new WriteTime(), codeKey: CodeKey.derive(resolveSecretKey(config)) };

  await app.register(apiScope, { deps: flowDeps });
  await app.register(pageScope, { deps: flowDeps, devMailbox });
  return app;
}

/** TRUST_PROXY=N: believe the N nearest hops of X-Forwarded-For. */
function hops(count: number) {
  return (_address: string, hop: number) => hop < count;
}
