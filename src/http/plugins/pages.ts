// What every HTML page shares: the cookies (session, CSRF anchor, flash,
// language), the security headers, the CSRF check on every POST, and HTML
// error pages in place of problem+json. Routes get a Page per request, which
// knows the visitor's language and session and renders or redirects.
import cookie, { type CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import { AppError, problems, RateLimitedError, RetryLaterError, type ProblemCode } from '../../errors.ts';
import type { FlowDeps } from '../../flows/deps.ts';
import { authenticate, type Authenticated } from '../../flows/session.ts';
import { defaultLocale, isLocale, locales, matchLocale, negotiateLocale, type Locale } from '../../locale.ts';
import type { PageRenderer } from '../../pages/render.ts';
import { normalizePassword } from '../../security/password-policy.ts';
import { csrfField, csrfToken, csrfTokenMatches, newCsrfAnchor } from './csrf.ts';

// After a redirect, the next page shows one message. The cookie carries only
// its key, so nobody can make a page say something of their choosing.
const flashKinds = {
  signed_up: 'info',
  confirmed: 'success',
  confirmation_sent: 'info',
  reset_requested: 'info',
  password_reset: 'success',
  logged_in: 'success',
  logged_out: 'info',
  password_changed: 'success',
  email_change_requested: 'info',
  email_changed: 'success',
  login_required: 'warning',
} as const;
export type FlashKey = keyof typeof flashKinds;

// The problems a form answers by showing itself again; any other error becomes an error page.
const formProblems = new Set<ProblemCode>(['validation_failed', 'invalid_credentials', 'email_not_confirmed', 'rate_limited']);

export type PageCookies = { session: string; csrf: string; flash: string; lang: string; options: CookieSerializeOptions };

/** API.md: `latchkey_session`, or `__Host-latchkey_session` with Secure when BASE_URL is https; the others follow suit. */
export function pageCookies(config: Config): PageCookies {
  const https = config.baseUrl.protocol === 'https:';
  const name = (base: string) => `${https ? '__Host-' : ''}latchkey_${base}`;
  return {
    session: name('session'),
    csrf: name('csrf'),
    flash: name('flash'),
    lang: name('lang'),
    options: { path: '/', httpOnly: true, sameSite: 'lax', secure: https },
  };
}

export class Pages {
  readonly deps: FlowDeps;
  readonly renderer: PageRenderer;
  readonly cookies: PageCookies;
  readonly #headers: Record<string, string>;

  constructor(deps: FlowDeps, renderer: PageRenderer) {
    this.deps = deps;
    this.renderer = renderer;
    this.cookies = pageCookies(deps.config);
    this.#headers = securityHeaders(deps.config);
  }

  get config(): Config {
    return this.deps.config;
  }

  /** Everything a page needs: language, session (a dead one's cookie is cleared) and the CSRF token for its forms. */
  async open(request: FastifyRequest, reply: FastifyReply): Promise<Page> {
    const { cookies } = this;
    const chosen = matchLocale(queryValue(request, 'lang'));
    if (chosen !== undefined) reply.setCookie(cookies.lang, chosen, { ...cookies.options, maxAge: 365 * 86400 });
    const locale = chosen ?? this.locale(request);

    const token = request.cookies[cookies.session];
    let session: Authenticated | undefined;
    if (token !== undefined) {
      try {
        session = await authenticate(this.deps, token);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        reply.clearCookie(cookies.session, cookies.options);
      }
    }
    let anchor = request.cookies[cookies.csrf];
    if (anchor === undefined || anchor === '') {
      anchor = newCsrfAnchor();
      reply.setCookie(cookies.csrf, anchor, cookies.options);
    }
    return new Page(this, request, reply, locale, session, csrfToken(anchor, session === undefined ? '' : token!));
  }

  /** The page language: ?lang=, else the one chosen before (cookie), else Accept-Language, else English. */
  locale(request: FastifyRequest): Locale {
    const remembered = request.cookies?.[this.cookies.lang];
    return matchLocale(queryValue(request, 'lang'))
      ?? (isLocale(remembered) ? remembered : undefined)
      ?? negotiateLocale(request.headers['accept-language'])
      ?? defaultLocale;
  }

  /** Sets the headers every page answer carries. CSP and Cache-Control only when the route did not choose its own. */
  secure(reply: FastifyReply): void {
    for (const [name, value] of Object.entries(this.#headers)) {
      if (!reply.hasHeader(name)) reply.header(name, value);
    }
  }

  /** An error page's HTML for a problem code; also sets the status and content type. */
  async errorHtml(request: FastifyRequest, reply: FastifyReply, code: ProblemCode): Promise<string> {
    const locale = this.locale(request);
    const retryAfter = Number(reply.getHeader('retry-after'));
    reply.code(problems[code].status).type('text/html; charset=utf-8');
    return this.renderer.render('error', locale, {
      ...this.common(request, locale),
      code,
      title: this.renderer.text(locale, `errors.${code}.title`),
      detail: code === 'rate_limited' && retryAfter > 0 ? this.tryAgainIn(locale, retryAfter) : this.renderer.text(locale, `errors.${code}.detail`),
      action: this.errorAction(request, locale, code),
    });
  }

  /** "Too many attempts. Try again in 15 minutes.", rounded up to whole minutes. */
  tryAgainIn(locale: Locale, retryAfterSeconds: number): string {
    const minutes = new Intl.NumberFormat(locale, { style: 'unit', unit: 'minute', unitDisplay: 'long' }).format(Math.max(1, Math.ceil(retryAfterSeconds / 60)));
    return this.renderer.text(locale, 'errors.rate_limited.try_again_in').replaceAll('{wait}', minutes);
  }

  /** Where to go from an error: a new link for a dead token, the form again after a CSRF failure, else home. */
  errorAction(request: FastifyRequest, locale: Locale, code: ProblemCode): { href: string; label: string } {
    const route = request.routeOptions.url ?? '';
    const text = (key: string) => this.renderer.text(locale, key);
    if (code === 'invalid_token') {
      if (route === '/reset-password') return { href: '/forgot-password', label: text('errors.invalid_token.new_reset_link') };
      if (route === '/confirm-email') return { href: '/account', label: text('errors.invalid_token.new_email_link') };
      return { href: '/resend-confirmation', label: text('errors.invalid_token.new_confirm_link') };
    }
    if (code === 'csrf_failed' || code === 'rate_limited') {
      const form = route.startsWith('/account') || route === '/logout' ? '/account' : route;
      if (request.method === 'POST' && form !== '') return { href: form + tokenQuery(request), label: text('errors.back_to_form') };
    }
    return { href: '/', label: text('errors.home') };
  }

  /** Values the layout uses on every page. */
  common(request: FastifyRequest, locale: Locale): Record<string, unknown> {
    const { config } = this;
    return {
      app_name: config.appName,
      logo_url: config.logoUrl,
      stylesheet: this.renderer.stylesheet.href,
      password_min_length: config.passwordMinLength,
      languages: locales.map((code) => ({
        code,
        name: this.renderer.text(code, 'language_name'),
        href: withQuery(request, 'lang', code),
        current: code === locale,
      })),
    };
  }
}

export class Page {
  readonly pages: Pages;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly locale: Locale;
  readonly session: Authenticated | undefined;
  readonly csrf: string;

  constructor(pages: Pages, request: FastifyRequest, reply: FastifyReply, locale: Locale, session: Authenticated | undefined, csrf: string) {
    this.pages = pages;
    this.request = request;
    this.reply = reply;
    this.locale = locale;
    this.session = session;
    this.csrf = csrf;
  }

  text(key: string): string {
    return this.pages.renderer.text(this.locale, key);
  }

  async render(template: string, values: Record<string, unknown> = {}, status = 200): Promise<FastifyReply> {
    const { user } = this.session ?? {};
    const html = await this.pages.renderer.render(template, this.locale, {
      ...this.pages.common(this.request, this.locale),
      csrf_field: csrfField,
      csrf: this.csrf,
      flash: this.#takeFlash(),
      user: user === undefined ? undefined : { email: user.email, name: user.name, confirmed: user.confirmed_at !== null, created_at: user.created_at },
      errors: {},
      values: {},
      ...values,
    });
    return this.reply.code(status).type('text/html; charset=utf-8').send(html);
  }

  /** 303 See Other, so the browser follows with a GET and a reload never re-submits the form. */
  redirect(location: string, flash?: FlashKey): FastifyReply {
    const { cookies } = this.pages;
    if (flash !== undefined) this.reply.setCookie(cookies.flash, flash, { ...cookies.options, maxAge: 300 });
    return this.reply.code(303).header('location', location).send();
  }

  /** Logging in always gives a new session token (signIn makes one); the cookie carries it. */
  startSession(token: string): void {
    const { cookies } = this.pages;
    this.reply.setCookie(cookies.session, token, { ...cookies.options, maxAge: this.pages.config.sessionTtl });
  }

  endSession(): void {
    this.reply.clearCookie(this.pages.cookies.session, this.pages.cookies.options);
  }

  /**
   * A form refused by its flow is shown again with the reasons next to the
   * fields (or above the form), keeping what was typed; `values` must never
   * hold a password. `passwordField` is where a wrong password is reported on
   * forms that ask for the current one. Other errors go on to the error page.
   */
  async formError(error: unknown, template: string, values: Record<string, unknown>, passwordField?: string): Promise<FastifyReply> {
    if (!(error instanceof AppError) || !formProblems.has(error.code)) throw error;
    const errors: Record<string, string> = error.code === 'validation_failed' ? this.pages.renderer.fieldErrors(this.locale, error.errors ?? {}) : {};
    let alert: string | undefined;
    if (error instanceof RateLimitedError) {
      this.reply.header('retry-after', String(error.retryAfter));
      alert = this.pages.tryAgainIn(this.locale, error.retryAfter);
    } else if (error.code === 'invalid_credentials' && passwordField !== undefined) {
      errors[passwordField] = this.text('field_errors.wrong_password');
    } else if (error.code !== 'validation_failed') {
      alert = this.text(`alerts.${error.code}`);
    }
    return this.render(template, { ...values, errors, alert, problem: error.code }, problems[error.code].status);
  }

  /** The form again, saying the repeated password differs; nothing reached the flow. */
  passwordsDiffer(template: string, values: Record<string, unknown>, field = 'password_confirmation'): Promise<FastifyReply> {
    return this.render(template, { ...values, errors: { [field]: this.text('field_errors.mismatch') } }, 422);
  }

  #takeFlash(): { kind: string; role: string; message: string } | undefined {
    const { cookies } = this.pages;
    const key = this.request.cookies[cookies.flash];
    if (key === undefined) return undefined;
    this.reply.clearCookie(cookies.flash, cookies.options);
    if (!(key in flashKinds)) return undefined;
    const kind = flashKinds[key as FlashKey];
    return { kind, role: kind === 'success' || kind === 'info' ? 'status' : 'alert', message: this.text(`flash.${key}`) };
  }
}

/** The page scope's plumbing; `pages` routes are registered in the same encapsulated scope after it. */
export async function setUpPages(app: FastifyInstance, pages: Pages): Promise<void> {
  await app.register(cookie);

  // Form bodies become plain objects of strings: a repeated field keeps its
  // last value, so no field can arrive as an array (one email, one mail).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, function parseForm(_request, body, done) {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  // The form routes' per-client counts wait for the CSRF check below (rate-limits.ts skips them on arrival).
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
    const code = problemCode(error);
    if (code === 'internal') request.log.error({ err: error }, 'unhandled error');
    if (error instanceof RetryLaterError) reply.header('retry-after', String(error.retryAfter));
    return pages.errorHtml(request, reply, code);
  });
}

function problemCode(error: FastifyError): ProblemCode {
  if (error instanceof AppError) return error.code;
  if (error.statusCode === 413) return 'payload_too_large';
  if (error.statusCode === 415) return 'unsupported_media_type';
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return 'invalid_json';
  return 'internal';
}

function securityHeaders(config: Config): Record<string, string> {
  const images = ["'self'", ...(config.logoUrl === undefined ? [] : [new URL(config.logoUrl).origin])];
  return {
    // No script at all: every page works without JavaScript, so none is allowed to run.
    'content-security-policy': `default-src 'none'; style-src 'self'; img-src ${images.join(' ')}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // Token links (/reset-password?token=…) must not leak through Referer or a cache.
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    ...(config.baseUrl.protocol === 'https:' ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' } : {}),
  };
}

/** A password and its repetition, compared in the form they would be hashed in. */
export function samePassword(password: string, repeated: string): boolean {
  return normalizePassword(password) === normalizePassword(repeated);
}

/** A form field as a string; anything else (absent, or not text) is ''. */
export function formField(request: FastifyRequest, name: string): string {
  const body = request.body;
  if (typeof body !== 'object' || body === null) return '';
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : '';
}

export function queryValue(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** This page's path and query with one parameter set: the language links keep a token page's token. */
function withQuery(request: FastifyRequest, name: string, value: string): string {
  const url = new URL(request.url, 'http://page.invalid');
  url.searchParams.set(name, value);
  return url.pathname + url.search;
}

/** A token form's own token, for a link back to it. */
function tokenQuery(request: FastifyRequest): string {
  const token = formField(request, 'token');
  return token === '' ? '' : `?token=${encodeURIComponent(token)}`;
}
