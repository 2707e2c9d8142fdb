// The headers every page answer carries: no script may run, no frame may hold
// a page, and no token link may leak through a Referer or a cache.
import type { FastifyReply } from 'fastify';
import type { Config } from '../../config.ts';

export function securityHeaders(config: Pick<Config, 'logoUrl' | 'baseUrl' | 'allowedOrigins'>): Record<string, string> {
  const images = ["'self'", ...(config.logoUrl === undefined ? [] : [new URL(config.logoUrl).origin])];
  // Browsers hold a form's redirect to form-action too: the log-in form's 303 to an allowed origin's `next` (safe-next.ts) must pass.
  const forms = ["'self'", ...config.allowedOrigins.filter((origin) => origin !== config.baseUrl.origin)];
  return {
    // No script at all: every page works without JavaScript, so none is allowed to run.
    'content-security-policy': `default-src 'none'; style-src 'self'; img-src ${images.join(' ')}; form-action ${forms.join(' ')}; frame-ancestors 'none'; base-uri 'none'`,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // Token links (/reset-password?token=…) must not leak through Referer or a cache.
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    ...(config.baseUrl.protocol === 'https:' ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' } : {}),
  };
}

/** Sets each header the route did not choose itself (the dev mailbox has a CSP of its own). */
export function addMissingHeaders(reply: FastifyReply, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!reply.hasHeader(name)) reply.header(name, value);
  }
}
