// The HTML pages of API.md ("HTML pages") that need no session: server-rendered
// forms that work without JavaScript and call the same flows as the JSON
// endpoints. Each form POST declares its JSON twin's rate-limit endpoint
// (endpointLimits in shared/rate-limits.ts), so both share their counters.
import type { FastifyInstance } from 'fastify';
import { checkLinkToken } from '../../../flows/check-link-token.ts';
import { confirm } from '../../../flows/confirm.ts';
import type { FlowDeps } from '../../../flows/deps.ts';
import { requestPasswordReset } from '../../../flows/request-password-reset.ts';
import { resendConfirmation } from '../../../flows/resend-confirmation.ts';
import { resetPassword } from '../../../flows/reset-password.ts';
import { signOut } from '../../../flows/session.ts';
import { signIn } from '../../../flows/sign-in.ts';
import { signUp } from '../../../flows/sign-up.ts';
import type { TokenPurpose } from '../../../store/schema.ts';
import { clientOf } from '../../shared/client.ts';
import { endpointLimits, type RouteLimits } from '../../shared/rate-limits.ts';
import type { AskAgain, Pages } from '../context.ts';
import type { FlashKey } from '../flash.ts';
import { formField, queryValue, samePassword } from '../forms.ts';
import { safeNext } from '../safe-next.ts';
import { codeFormError } from './login-links.ts';

// Where a dead link's error page sends the visitor for a new one.
const newConfirmLink: AskAgain = { newLink: { href: '/resend-confirmation', label: 'errors.invalid_token.new_confirm_link' } };
const newResetLink: AskAgain = { newLink: { href: '/forgot-password', label: 'errors.invalid_token.new_reset_link' } };
const newEmailLink: AskAgain = { newLink: { href: '/account', label: 'errors.invalid_token.new_email_link' } };

export function publicRoutes(app: FastifyInstance, pages: Pages): void {
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
      await signUp(deps, { ...values, password, locale: page.locale }, clientOf(request));
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
      ({ token } = await signIn(deps, { email, password: formField(request, 'password') }, clientOf(request)));
    } catch (error) {
      return page.formError(error, 'login', { values: { email }, next });
    }
    // The session this browser had before, if any, ends: a login never keeps an old session id.
    if (page.session !== undefined) await signOut(deps, page.session, clientOf(request));
    page.startSession(token);
    return page.redirect(next ?? '/account', 'logged_in');
  });

  // The log-out button lives on /account: a refused POST goes back there.
  app.post('/logout', { config: { askAgain: { form: '/account' } } }, async function logOut(request, reply) {
    const page = await pages.open(request, reply);
    // A host-only cookie kept from before COOKIE_DOMAIN still opens the reverse-proxy endpoints (authz.ts): it ends too.
    const kept = await page.hostOnlySession();
    if (kept !== undefined && kept.sessionHash !== page.session?.sessionHash) await signOut(deps, kept, clientOf(request));
    if (page.session !== undefined) await signOut(deps, page.session, clientOf(request));
    if (page.session !== undefined || kept !== undefined) page.endSession();
    return page.redirect('/login', 'logged_out');
  });

  linkForm(app, pages, { path: '/confirm', purposes: ['confirm'], askAgain: newConfirmLink, codeForm: true });
  confirmation(app, pages, { path: '/confirm', flash: 'confirmed', askAgain: newConfirmLink, codeForm: true });
  emailForm(app, pages, { path: '/resend-confirmation', limits: endpointLimits.resendConfirm, send: resendConfirmation, flash: 'confirmation_sent' });
  emailForm(app, pages, { path: '/forgot-password', limits: endpointLimits.resetRequest, send: requestPasswordReset, flash: 'reset_requested' });

  linkForm(app, pages, { path: '/reset-password', purposes: ['reset', 'invite'], askAgain: newResetLink, codeForm: true });
  app.post('/reset-password', { config: { limits: endpointLimits.resetPassword, askAgain: newResetLink } }, async function reset(request, reply) {
    const page = await pages.open(request, reply);
    const token = formField(request, 'token');
    const password = formField(request, 'password');
    // The link's form carries its token; the code form the address (kept for another try) and the code (never kept).
    const email = formField(request, 'email');
    const shown = token !== '' ? { token } : { values: { email } };
    if (!samePassword(password, formField(request, 'password_confirmation'))) return page.passwordsDiffer('reset-password', shown);
    let userId: string;
    try {
      ({ userId } = await resetPassword(deps, token !== '' ? { token, password } : { email, code: formField(request, 'code'), password }, clientOf(request)));
    } catch (error) {
      if (token !== '') return page.formError(error, 'reset-password', shown);
      return codeFormError(page, error, { template: 'reset-password', values: shown });
    }
    // The reset ended every session of that account; this browser's too, if it was one of them.
    if (page.session?.user.id === userId) page.endSession();
    return page.redirect('/login', 'password_reset');
  });

  linkForm(app, pages, { path: '/confirm-email', purposes: ['email_change'], askAgain: newEmailLink });
  // The same flow and the same counters as POST /api/confirm, which redeems email-change tokens too.
  confirmation(app, pages, { path: '/confirm-email', flash: 'email_changed', askAgain: newEmailLink });
}

/** A link's page (template named as its path): shown only for a live token, and spending nothing, since mail scanners open links too. */
function linkForm(app: FastifyInstance, pages: Pages, link: { path: string; purposes: TokenPurpose[]; askAgain: AskAgain; codeForm?: boolean }): void {
  app.get(link.path, { config: { askAgain: link.askAgain } }, async function linkPage(request, reply) {
    const page = await pages.open(request, reply);
    const token = queryValue(request, 'token');
    // Without a token, a page that also takes the mail's code asks for the address and the code.
    if (link.codeForm === true && (token === undefined || token === '')) return page.render(link.path.slice(1));
    return page.render(link.path.slice(1), { token: await checkLinkToken(pages.deps, token, link.purposes) });
  });
}

/** The button of a confirmation link's page: spends the token, then on to log in (or to the account when logged in). */
function confirmation(app: FastifyInstance, pages: Pages, link: { path: string; flash: FlashKey; askAgain: AskAgain; codeForm?: boolean }): void {
  app.post(link.path, { config: { limits: endpointLimits.confirm, askAgain: link.askAgain } }, async function confirmLink(request, reply) {
    const page = await pages.open(request, reply);
    const token = formField(request, 'token');
    if (link.codeForm === true && token === '') {
      const values = { email: formField(request, 'email') };
      try {
        await confirm(pages.deps, { email: values.email, code: formField(request, 'code') }, clientOf(request));
      } catch (error) {
        return codeFormError(page, error, { template: link.path.slice(1), values: { values } });
      }
      return page.redirect(page.session === undefined ? '/login' : '/account', link.flash);
    }
    await confirm(pages.deps, { token }, clientOf(request));
    return page.redirect(page.session === undefined ? '/login' : '/account', link.flash);
  });
}

type EmailForm = {
  /** Also the template's name, without its slash. */
  path: string;
  limits: RouteLimits;
  send: (deps: FlowDeps, input: { email: string }) => Promise<void>;
  flash: FlashKey;
};

/** A form of one address that mails a link if there is someone to mail it to, and says the same either way. */
function emailForm(app: FastifyInstance, pages: Pages, form: EmailForm): void {
  const template = form.path.slice(1);
  app.get(form.path, async function emailFormPage(request, reply) {
    return (await pages.open(request, reply)).render(template);
  });

  app.post(form.path, { config: { limits: form.limits } }, async function sendLink(request, reply) {
    const page = await pages.open(request, reply);
    const values = { email: formField(request, 'email') };
    try {
      await form.send(pages.deps, values);
    } catch (error) {
      return page.formError(error, template, { values });
    }
    return page.redirect('/login', form.flash);
  });
}
