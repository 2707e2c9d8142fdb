// CSRF synchronizer tokens for the HTML forms, with nothing stored on the
// server: a random anchor lives in an HttpOnly cookie, and each form carries
// HMAC(anchor, session token) in its `_csrf` field. Another site can make the
// browser send the cookies but cannot read them, so it cannot compute the
// field. Binding the token to the session means that even someone able to
// plant an anchor cookie (a sibling subdomain over http) cannot forge a
// logged-in user's form, because the session token is not theirs to know.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const csrfField = '_csrf';

export function newCsrfAnchor(): string {
  return randomBytes(32).toString('base64url');
}

/** The `_csrf` value for forms shown to the holder of `anchor` and `session` ('' when logged out). */
export function csrfToken(anchor: string, session: string): string {
  return createHmac('sha256', anchor).update(`latchkey-csrf\0${session}`).digest('base64url');
}

export function csrfTokenMatches(anchor: string | undefined, session: string, submitted: unknown): boolean {
  if (anchor === undefined || anchor === '' || typeof submitted !== 'string') return false;
  const expected = Buffer.from(csrfToken(anchor, session));
  const given = Buffer.from(submitted);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
