// What a page answer needs: `Pages` holds what every page shares (the flows'
// dependencies, the renderer, the cookies, the headers) and opens a `Page` for
// each request, which knows the visitor's language and session and renders,
// redirects or shows a refused form again.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import { AppError, problems, RateLimitedError, type ProblemCode } from '../../errors.ts';
import type { FlowDeps } from '../../flows/deps.ts';
import { authenticate, type Authenticated } from '../../flows/session.ts';
import { defaultLocale, isLocale, locales, matchLocale, negotiateLocale, type Locale } from '../../locale.ts';
import { pageCookies, type PageCookies } from './cookies.ts';
import { csrfField, csrfToken, newCsrfAnchor } from './csrf.ts';
import { flashOf, type FlashKey } from './flash.ts';
import { queryValue, tokenQuery, withQuery } from './forms.ts';
import { addMissingHeaders, securityHeaders } from './headers.ts';
import type { PageRenderer } from './render.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A page's way on from an error page (Pages.errorAction), declared by the route it concerns. */
    askAgain?: AskAgain;
  }
}

export type AskAgain = {
  /** invalid_token: the page that gives a new link, and the string key of its label. */
  newLink?: { href: string; label: string };
  /** csrf_failed, rate_limited: the form to show again, when it is not the route's own path. */
  form?: string;
};

// The problems a form answers by showing itself again; any other error becomes an error page.
const formProblems = new Set<ProblemCode>(['validation_failed', 'invalid_credentials', 'email_not_confirmed', 'account_disabled', 'rate_limited']);

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
        reply.clearCookie(cookies.session, cookies.sessionOptions);
        // Over http both have one name, and the browser sends the older, host-only one first: it goes too, or it would be read again.
        if (cookies.hostOnlySession !== undefined) reply.clearCookie(cookies.hostOnlySession, cookies.options);
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
    addMissingHeaders(reply, this.#headers);
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

  /** Where to go from an error, as the route declared (askAgain): a new link for a dead token, the form again after a refused POST, else home. */
  errorAction(request: FastifyRequest, locale: Locale, code: ProblemCode): { href: string; label: string } {
    const askAgain = request.routeOptions.config?.askAgain;
    const text = (key: string) => this.renderer.text(locale, key);
    if (code === 'invalid_token' && askAgain?.newLink !== undefined) return { href: askAgain.newLink.href, label: text(askAgain.newLink.label) };
    if ((code === 'csrf_failed' || code === 'rate_limited') && request.method === 'POST') {
      const form = askAgain?.form ?? request.routeOptions.url ?? '';
      if (form !== '') return { href: form + tokenQuery(request), label: text('errors.back_to_form') };
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
      passwordless: config.passwordless,
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
    this.reply.setCookie(cookies.session, token, { ...cookies.sessionOptions, maxAge: this.pages.config.sessionTtl });
  }

  endSession(): void {
    const { cookies } = this.pages;
    this.reply.clearCookie(cookies.session, cookies.sessionOptions);
    if (cookies.hostOnlySession !== undefined) this.reply.clearCookie(cookies.hostOnlySession, cookies.options);
  }

  /** The live session of a host-only cookie kept from before COOKIE_DOMAIN (another name on https), which log-out ends too. */
  async hostOnlySession(): Promise<Authenticated | undefined> {
    const { cookies, deps } = this.pages;
    const token = cookies.hostOnlySession === undefined || cookies.hostOnlySession === cookies.session ? undefined : this.request.cookies[cookies.hostOnlySession];
    if (token === undefined || token === '') return undefined;
    try {
      return await authenticate(deps, token);
    } catch (error) {
      if (error instanceof AppError) return undefined;
      throw error;
    }
  }

  /**
   * A form refused by its flow is shown again with the reasons next to the
   * fields (or above the form), keeping what was typed; `values` must never
   * hold a password. `passwordField` is where a wrong password is reported on
   * forms that ask for the current one. Other errors go on to the error page.
   */
  async formError(error: unknown, template: string, values: Record<string, unknown>, passwordField?: string): Promise<FastifyReply> {
    if (!(error instanceof AppError) || !formProblems.has(error.code)) throw error;
    const errors = error.code === 'validation_failed' ? this.pages.renderer.fieldErrors(this.locale, error.errors ?? {}) : {};
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
    const flash = flashOf(key);
    return flash && { kind: flash.kind, role: flash.role, message: this.text(`flash.${flash.key}`) };
  }
}
