// The pages' cookies (API.md, Conventions): the session, the CSRF anchor, the
// flash message and the chosen language.
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { Config } from '../../config.ts';

export type PageCookies = { session: string; csrf: string; flash: string; lang: string; options: CookieSerializeOptions };

/** API.md: `latchkey_session`, or `__Host-latchkey_session` with Secure when BASE_URL is https; the others follow suit. */
export function pageCookies(config: Pick<Config, 'baseUrl'>): PageCookies {
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
