// Reading a page request: form fields and query values as plain strings,
// whatever was sent, and the links a page builds from its own URL.
import type { FastifyRequest } from 'fastify';
import { normalizePassword } from '../../security/password-policy.ts';

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
export function withQuery(request: FastifyRequest, name: string, value: string): string {
  const url = new URL(request.url, 'http://page.invalid');
  url.searchParams.set(name, value);
  return url.pathname + url.search;
}

/** A token form's own token, for a link back to it. */
export function tokenQuery(request: FastifyRequest): string {
  const token = formField(request, 'token');
  return token === '' ? '' : `?token=${encodeURIComponent(token)}`;
}
