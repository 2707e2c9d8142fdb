// The HTML pages as one encapsulated scope: its own cookie plugin and form
// parser, the CSRF check on every POST (before the form's per-client count),
// the security headers on every answer, and HTML error pages in place of
// problem+json. Its routes are registered inside it, after the plumbing.
import cookie from '@fastify/cookie';
import type { FastifyError, FastifyInstance } from 'fastify';
import { problems, type ProblemCode } from '../../errors.ts';
import type { FlowDeps } from '../../flows/deps.ts';
import type { DevMailbox } from '../../mail/dev-mailbox.ts';
import { problemOf } from '../error-codes.ts';
import { Pages } from './context.ts';
import { csrfField, csrfTokenMatches } from './csrf.ts';
import { formField } from './forms.ts';
import { PageRenderer } from './render.ts';
import { accountActivityRoutes } from './routes/account-activity.ts';
import { accountRoutes } from './routes/account.ts';
import { accountSessionRoutes } from './routes/account-sessions.ts';
import { assetRoutes } from './routes/assets.ts';
import { devMailboxRoutes } from './routes/dev-mailbox.ts';
import { loginLinkRoutes } from './routes/login-links.ts';
import { publicRoutes } from './routes/public.ts';

export type PageScopeOptions = { deps: FlowDeps; devMailbox?: DevMailbox | undefined };

export async function pageScope(app: FastifyInstance, options: PageScopeOptions): Promise<void> {
  const pages = new Pages(options.deps, new PageRenderer(options.deps.config));
  await setUpPages(app, pages);
  assetRoutes(app, pages);
  publicRoutes(app, pages);
  loginLinkRoutes(app, pages);
  accountRoutes(app, pages);
  accountSessionRoutes(app, pages);
  accountActivityRoutes(app, pages);
  if (options.devMailbox !== undefined) devMailboxRoutes(app, pages, options.devMailbox);
}

async function setUpPages(app: FastifyInstance, pages: Pages): Promise<void> {
  await app.register(cookie);

  // Form bodies become plain objects of strings: a repeated field keeps its
  // last value, so no field can arrive as an array (one email, one mail).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, function parseForm(_request, body, done) {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  // The form routes' per-client counts wait for the CSRF check below (shared/rate-limits.ts skips them on arrival).
  app.addHook('onRoute', function markForm(route) {
    if ([route.method].flat().includes('POST')) route.config = { ...route.config, form: true };
  });

  // Before validation, so a forged POST has no effect, counts against nothing
  // (API.md: not even its client's per-minute count) and spends no token.
  app.addHook('preValidation', async function checkCsrf(request, reply) {
    if (request.method !== 'POST') return;
    const { cookies } = pages;
    if (!csrfTokenMatches(request.cookies[cookies.csrf], request.cookies[cookies.session] ?? '', formField(request, csrfField))) {
      reply.send(await pages.errorHtml(request, reply, 'csrf_failed'));
      return reply;
    }
    await app.limitFormClient(request);
  });

  // onSend reaches every answer in the scope, those of the global hooks (a 429) included.
  app.addHook('onSend', async function finishPage(request, reply, payload) {
    pages.secure(reply);
    if (typeof payload === 'string' && String(reply.getHeader('content-type')).startsWith('application/problem+json')) {
      const code = (JSON.parse(payload) as { code?: string }).code;
      return pages.errorHtml(request, reply, code !== undefined && code in problems ? (code as ProblemCode) : 'internal');
    }
    return payload;
  });

  app.setErrorHandler(async function pageError(error: FastifyError, request, reply) {
    const problem = problemOf(error);
    if (problem.code === 'internal') request.log.error({ err: error }, 'unhandled error');
    if (problem.retryAfter !== undefined) reply.header('retry-after', String(problem.retryAfter));
    return pages.errorHtml(request, reply, problem.code);
  });
}
