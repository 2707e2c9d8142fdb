// The pages' cookies (API.md, Conventions): the session, the CSRF anchor, the
// flash message and the chosen language.
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { Config } from '../../config.ts';

export type PageCookies = {
  session: string;
  csrf: string;
  flash: string;
  lang: string;
  /** Every cookie's attributes but the session's. */
  options: CookieSerializeOptions;
  /** The session cookie's: with COOKIE_DOMAIN, its Domain too. Set and cleared with these alone. */
  sessionOptions: CookieSerializeOptions;
  /**
   * With COOKIE_DOMAIN, the host-only session cookie a browser may keep from
   * before it was set: the reverse-proxy endpoints still read it, so log-out
   * ends and clears it too (with `options`).
   */
  hostOnlySession: string | undefined;
};

/**
 * API.md: `latchkey_session`, or `__Host-latchkey_session` with Secure when
 * BASE_URL is https; the others follow suit. With COOKIE_DOMAIN the session
 * cookie alone is shared with the parent domain's hosts: `__Secure-` on https
 * (a `__Host-` cookie cannot carry a Domain), no prefix over http. The CSRF
 * anchor stays host-only, so a sibling host cannot plant one.
 */
export function pageCookies(config: Pick<Config, 'baseUrl' | 'cookieDomain'>): PageCookies {
  const https = config.baseUrl.protocol === 'https:';
  const name = (base: string) => `${https ? '__Host-' : ''}latchkey_${base}`;
  const options: CookieSerializeOptions = { path: '/', httpOnly: true, sameSite: 'lax', secure: https };
  const shared = config.cookieDomain !== undefined;
  return {
    session: shared ? `${https ? '__Secure-' : ''}latchkey_session` : name('session'),
    csrf: name('csrf'),
    flash: name('flash'),
    lang: name('lang'),
    options,
    sessionOptions: shared ? { ...options, domain: config.cookieDomain } : options,
    hostOnlySession: shared ? name('session') : undefined,
  };
}

/**
 * The names a session cookie may have (the reverse-proxy endpoints read them
 * all): this configuration's, then the host-only one, which a browser keeps
 * from before COOKIE_DOMAIN was set.
 */
export function sessionCookieNames(config: Pick<Config, 'baseUrl' | 'cookieDomain'>): string[] {
  const https = config.baseUrl.protocol === 'https:';
  return [...new Set([pageCookies(config).session, `${https ? '__Host-' : ''}latchkey_session`])];
}
