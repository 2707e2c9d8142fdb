// Builds the HTTP server without listening: tests and `serve` both call it.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { FlowDeps } from '../flows/deps.ts';
import { WriteTime } from '../flows/same-time.ts';
import type { DevMailbox } from '../mail/dev-mailbox.ts';
import { apiScope } from './api/plugin.ts';
import { pageScope } from './pages/plugin.ts';
import { registerApiGuard } from './shared/api-guard.ts';
import { answerProblems } from './shared/problem-errors.ts';
import { registerRateLimits } from './shared/rate-limits.ts';

/** The flows' limits are not given: the server builds them from the configuration. */
export type ServerDeps = Omit<FlowDeps, 'limits' | 'linkWrites'> & {
  /** Present when no MAIL_SERVER is configured. */
  devMailbox?: DevMailbox;
};

export const bodyLimit = 65_536;

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    logger: loggerOptions(config.logLevel),
    bodyLimit,
    trustProxy: typeof config.trustProxy === 'number' ? hops(config.trustProxy) : config.trustProxy,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // Strip prototype keys instead of refusing the body: `__proto__` in JSON changes nothing.
    onProtoPoisoning: 'remove',
    onConstructorPoisoning: 'remove',
    // Types are strict: a number, array or null where a string belongs is a 422, never coerced.
    ajv: { customOptions: { coerceTypes: false, allErrors: true, removeAdditional: false, useDefaults: false } },
  });

  // Shared by both scopes: problem+json for whatever no scope answers, the
  // /api/ rules (unknown /api/ paths included), and the per-client rate limits.
  answerProblems(app);
  await registerApiGuard(app, config);
  // Rate limits (API.md "Rate limits") register here, before the routes they guard.
  if (!config.rateLimits.enabled) app.log.warn('RATE_LIMITS=off: every rate limit is disabled; use this for tests and benchmarks only');
  const flowDeps: FlowDeps = { ...deps, limits: await registerRateLimits(app, config), linkWrites: new WriteTime() };

  await app.register(apiScope, { deps: flowDeps });
  await app.register(pageScope, { deps: flowDeps, devMailbox: deps.devMailbox });
  return app;
}

/** TRUST_PROXY=N: believe the N nearest hops of X-Forwarded-For. */
function hops(count: number) {
  return (_address: string, hop: number) => hop < count;
}

function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.token', '*.current_password', '*.new_password'],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: redactUrl(req.url) }),
    },
  };
}

/**
 * Token links (/confirm?token=…) must not leave their token in the access log,
 * however the parameter's name is spelled: the query parser decodes
 * `?%74oken=…` to `token` too.
 */
export function redactUrl(url: string): string {
  return url.replace(/([?&;])([^=&#;]*)=([^&#;]*)/g, (parameter, separator: string, name: string) =>
    decodedName(name).toLowerCase() === 'token' ? `${separator}${name}=[redacted]` : parameter);
}

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '));
  } catch {
    return name;
  }
}
