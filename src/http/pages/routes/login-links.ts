// The pages of signing in by email (API.md "HTML pages"): /login's "email me a
// log-in link" form, /login/code (the address and the mail's code) and
// /login/link?token= (a button: opening the link spends nothing, since mail
// scanners open links too; its POST signs in). They share the counters of
// POST /api/login-links and POST /api/sessions.
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../../errors.ts';
import { checkLinkToken } from '../../../flows/check-link-token.ts';
import { requestLoginLink, signInWithLink } from '../../../flows/login-link.ts';
import type { Redemption } from '../../../flows/link-code.ts';
import { signOut } from '../../../flows/session.ts';
import { clientOf } from '../../shared/client.ts';
import { endpointLimits } from '../../shared/rate-limits.ts';
import type { AskAgain, Page, Pages } from '../context.ts';
import { formField, queryValue } from '../forms.ts';
import { safeNext } from '../safe-next.ts';

const newLoginLink: AskAgain = { newLink: { href: '/login', label: 'codes.new_login_link' } };

export function loginLinkRoutes(app: FastifyInstance, pages: Pages): void {
  const { deps } = pages;
  if (!deps.config.passwordless) return;

  // The same answer whether or not the address has an account: on to the code form.
  app.post('/login/email-link', { config: { limits: endpointLimits.loginLink, askAgain: { form: '/login' } } }, async function emailLoginLink(request, reply) {
    const page = await pages.open(request, reply);
    // /login's one form sends the password field too (empty or not): it is never read here.
    const values = { email: formField(request, 'email') };
    const next = safeNext(formField(request, 'next'), deps.config);
    try {
      await requestLoginLink(deps, values);
    } catch (error) {
      return page.formError(error, 'login', { values, next });
    }
    return page.redirect(next === undefined ? '/login/code' : `/login/code?next=${encodeURIComponent(next)}`, 'login_link_sent');
  });

  app.get('/login/code', async function codeForm(request, reply) {
    const page = await pages.open(request, reply);
    const next = safeNext(queryValue(request, 'next'), deps.config);
    if (page.session !== undefined) return page.redirect(next ?? '/account');
    return page.render('login-code', { next });
  });

  app.post('/login/code', { config: { limits: endpointLimits.logIn, askAgain: newLoginLink } }, async function logInWithCode(request, reply) {
    const page = await pages.open(request, reply);
    const next = safeNext(formField(request, 'next'), deps.config);
    // The address is kept for another try; the code never is.
    const values = { email: formField(request, 'email') };
    return signInAndGo(page, { email: values.email, code: formField(request, 'code') }, next, { template: 'login-code', values: { values, next } });
  });

  app.get('/login/link', { config: { askAgain: newLoginLink } }, async function linkPage(request, reply) {
    const page = await pages.open(request, reply);
    return page.render('login-link', { token: await checkLinkToken(deps, queryValue(request, 'token'), ['login']) });
  });

  app.post('/login/link', { config: { limits: endpointLimits.logIn, askAgain: newLoginLink } }, async function logInWithLink(request, reply) {
    const page = await pages.open(request, reply);
    return signInAndGo(page, { token: formField(request, 'token') }, undefined);
  });

  async function signInAndGo(page: Page, redemption: Redemption, next: string | undefined, form?: CodeForm): Promise<unknown> {
    let token: string;
    try {
      ({ token } = await signInWithLink(deps, redemption, clientOf(page.request)));
    } catch (error) {
      if (form === undefined) throw error;
      return codeFormError(page, error, form);
    }
    // The session this browser had before, if any, ends: a login never keeps an old session id.
    if (page.session !== undefined) await signOut(deps, page.session, clientOf(page.request));
    page.startSession(token);
    return page.redirect(next ?? '/account', 'logged_in');
  }
}

export type CodeForm = { template: string; values: Record<string, unknown> };

/** A code form refused: a wrong code is said above the form (400, counted as an invalid token), other refusals as any form's. */
export function codeFormError(page: Page, error: unknown, form: CodeForm): Promise<unknown> {
  if (error instanceof AppError && error.code === 'invalid_token') {
    return page.render(form.template, { ...form.values, alert: page.text('codes.invalid_code'), problem: error.code }, 400);
  }
  return page.formError(error, form.template, form.values);
}
