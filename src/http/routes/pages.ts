// The HTML pages of API.md ("HTML pages"): server-rendered forms that work
// without JavaScript and call the same flows as the JSON endpoints. Each form
// POST declares its JSON twin's rate-limit endpoint (endpointLimits in plugins/rate-limits.ts), so both share their counters.
import type { FastifyInstance } from 'fastify';
import { checkLinkToken } from '../../flows/check-link-token.ts';
import { confirm } from '../../flows/confirm.ts';
import type { FlowDeps } from '../../flows/deps.ts';
import { requestPasswordReset } from '../../flows/request-password-reset.ts';
import { resendConfirmation } from '../../flows/resend-confirmation.ts';
import { resetPassword } from '../../flows/reset-password.ts';
import { signOut } from '../../flows/session.ts';
import { signIn } from '../../flows/sign-in.ts';
import { signUp } from '../../flows/sign-up.ts';
import type { DevMailbox } from '../../mail/dev-mailbox.ts';
import { PageRenderer } from '../../pages/render.ts';
import { formField, Pages, queryValue, samePassword, setUpPages } from '../plugins/pages.ts';
import { safeNext } from '../safe-next.ts';
import { accountRoutes } from './account.ts';
import { devMailboxRoutes } from './dev-mailbox.ts';
import { endpointLimits } from '../plugins/rate-limits.ts';

export type PageRoutesOptions = { deps: FlowDeps; devMailbox?: DevMailbox | undefined };

/** Registered as its own encapsulated scope: the cookie plugin, form parser, CSRF check and HTML errors stay with the pages. */
export async function pageRoutes(app: FastifyInstance, options: PageRoutesOptions): Promise<void> {
  const pages = new Pages(options.deps, new PageRenderer(options.deps.config));
  await setUpPages(app, pages);
  assetRoutes(app, pages);
  publicRoutes(app, pages);
  accountRoutes(app, pages);
  if (options.devMailbox !== undefined) devMailboxRoutes(app, pages, options.devMailbox);
}

function assetRoutes(app: FastifyInstance, pages: Pages): void {
  const { css, href } = pages.renderer.stylesheet;
  const version = new URL(href, 'http://x').searchParams.get('v');
  app.get('/assets/style.css', async function stylesheet(request, reply) {
    // The layout links it with its content hash, so that URL can be cached for good.
    const current = queryValue(request, 'v') === version;
    return reply.type('text/css; charset=utf-8').header('cache-control', current ? 'public, max-age=31536000, immutable' : 'no-cache').send(css);
  });

  // The brand mark as the tab icon; BRAND_COLOR is a checked hex colour, safe to write into the SVG.
  const icon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="4" fill="${pages.config.brandColor}"/></svg>`;
  app.get('/assets/icon.svg', async function favicon(_request, reply) {
    return reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(icon);
  });
}

function publicRoutes(app: FastifyInstance, pages: Pages): void {
  const { deps } = pages;

  app.get('/', async function home(request, reply) {
    return (await pages.open(request, reply)).render('home');
  });

  app.get('/register', async function registerForm(request, reply) {
    const page = await pages.open(request, reply);
    if (page.session !== undefined) return page.redirect('/account');
    return page.render('register');
  });

  app.post('/register', { config: { limits: endpointLimits.signUp } }, async function register(request, reply) {
    const page = await pages.open(request, reply);
    const values = { name: formField(request, 'name'), email: formField(request, 'email') };
    const password = formField(request, 'password');
    if (!samePassword(password, formField(request, 'password_confirmation'))) return page.passwordsDiffer('register', { values });
    try {
      await signUp(deps, { ...values, password, locale: page.locale });
    } catch (error) {
      return page.formError(error, 'register', { values });
    }
    return page.redirect('/login', 'signed_up');
  });

  app.get('/login', async function loginForm(request, reply) {
    const page = await pages.open(request, reply);
    const next = safeNext(queryValue(request, 'next'), deps.config);
    if (page.session !== undefined) return page.redirect(next ?? '/account');
    return page.render('login', { next });
  });

  app.post('/login', { config: { limits: endpointLimits.logIn } }, async function logIn(request, reply) {
    const page = await pages.open(request, reply);
    const next = safeNext(formField(request, 'next'), deps.config);
    const email = formField(request, 'email');
    let token: string;
    try {
      ({ token } = await signIn(deps, { email, password: formField(request, 'password') }));
    } catch (error) {
      return page.formError(error, 'login', { values: { email }, next });
    }
    // The session this browser had before, if any, ends: a login never keeps an old session id.
    if (page.session !== undefined) await signOut(deps, page.session);
    page.startSession(token);
    return page.redirect(next ?? '/account', 'logged_in');
  });

  app.post('/logout', async function logOut(request, reply) {
    const page = await pages.open(request, reply);
    if (page.session !== undefined) {
      await signOut(deps, page.session);
      page.endSession();
    }
    return page.redirect('/login', 'logged_out');
  });

  // A token page's GET shows its form only for a live token, and spends nothing: mail scanners open links too.
  app.get('/confirm', async function confirmForm(request, reply) {
    const page = await pages.open(request, reply);
    return page.render('confirm', { token: await checkLinkToken(deps, queryValue(request, 'token'), 'confirm') });
  });

  app.post('/confirm', { config: { limits: endpointLimits.confirm } }, async function confirmAccount(request, reply) {
    const page = await pages.open(request, reply);
    await confirm(deps, formField(request, 'token'));
    return page.redirect(page.session === undefined ? '/login' : '/account', 'confirmed');
  });

  app.get('/resend-confirmation', async function resendForm(request, reply) {
    return (await pages.open(request, reply)).render('resend-confirmation');
  });

  app.post('/resend-confirmation', { config: { limits: endpointLimits.resendConfirm } }, async function resend(request, reply) {
    const page = await pages.open(request, reply);
    const values = { email: formField(request, 'email') };
    try {
      await resendConfirmation(deps, values);
    } catch (error) {
      return page.formError(error, 'resend-confirmation', { values });
    }
    return page.redirect('/login', 'confirmation_sent');
  });

  app.get('/forgot-password', async function forgotForm(request, reply) {
    return (await pages.open(request, reply)).render('forgot-password');
  });

  app.post('/forgot-password', { config: { limits: endpointLimits.resetRequest } }, async function forgot(request, reply) {
    const page = await pages.open(request, reply);
    const values = { email: formField(request, 'email') };
    try {
      await requestPasswordReset(deps, values);
    } catch (error) {
      return page.formError(error, 'forgot-password', { values });
    }
    return page.redirect('/login', 'reset_requested');
  });

  app.get('/reset-password', async function resetForm(request, reply) {
    const page = await pages.open(request, reply);
    return page.render('reset-password', { token: await checkLinkToken(deps, queryValue(request, 'token'), 'reset') });
  });

  app.post('/reset-password', { config: { limits: endpointLimits.resetPassword } }, async function reset(request, reply) {
    const page = await pages.open(request, reply);
    const token = formField(request, 'token');
    const password = formField(request, 'password');
    if (!samePassword(password, formField(request, 'password_confirmation'))) return page.passwordsDiffer('reset-password', { token });
    let userId: string;
    try {
      ({ userId } = await resetPassword(deps, { token, password }));
    } catch (error) {
      return page.formError(error, 'reset-password', { token });
    }
    // The reset ended every session of that account; this browser's too, if it was one of them.
    if (page.session?.user.id === userId) page.endSession();
    return page.redirect('/login', 'password_reset');
  });

  app.get('/confirm-email', async function confirmEmailForm(request, reply) {
    const page = await pages.open(request, reply);
    return page.render('confirm-email', { token: await checkLinkToken(deps, queryValue(request, 'token'), 'email_change') });
  });

  // The same flow and the same counters as POST /api/confirm, which redeems email-change tokens too.
  app.post('/confirm-email', { config: { limits: endpointLimits.confirm } }, async function confirmEmail(request, reply) {
    const page = await pages.open(request, reply);
    await confirm(deps, formField(request, 'token'));
    return page.redirect(page.session === undefined ? '/login' : '/account', 'email_changed');
  });
}
