// API.md, "Reverse proxies": the endpoints nginx (auth_request), Caddy
// (forward_auth) and Traefik (forwardAuth) ask before each request of the app
// they protect. They run on every one of those requests, so they do only what
// answering needs: read the token, one session look-up with its user (and the
// idle-use record, at most once a minute per session). Answers have empty
// bodies; a proxy reads only the status and the headers.
import { domainToASCII } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../../config.ts';
import { AppError } from '../../../errors.ts';
import type { FlowDeps } from '../../../flows/deps.ts';
import { authenticate, type Authenticated } from '../../../flows/session.ts';
import { sessionCookieNames } from '../../pages/cookies.ts';
import { safeNext } from '../../pages/safe-next.ts';
import { routeSchemas } from '../schemas.ts';
import { bearerToken } from '../session.ts';

/**
 * What every answer here is: for a proxy, not a browser (no CORS headers),
 * whatever the Origin the proxy passed on (api-guard.ts), and logged at debug
 * (access-log.ts): it comes with every request of the protected app.
 */
const proxyCheck = { anyOrigin: true, cors: false, quietAccessLog: true } as const;

export async function authzRoutes(app: FastifyInstance, deps: FlowDeps): Promise<void> {
  const cookieNames = sessionCookieNames(deps.config);
  const loginPage = `${deps.config.baseUrl.href.replace(/\/$/, '')}/login?next=`;

  /**
   * The live session of the request, or undefined: the bearer token's, else
   * the cookie's (an app may carry a bearer token of its own through the
   * proxy, so one that is not a session does not hide the cookie).
   */
  async function sessionOf(request: FastifyRequest): Promise<Authenticated | undefined> {
    const bearer = bearerToken(request);
    const fromBearer = bearer === undefined ? undefined : await liveSession(bearer);
    if (fromBearer !== undefined) return fromBearer;
    const cookie = cookieValue(request.headers.cookie, cookieNames);
    return cookie === undefined || cookie === bearer ? undefined : liveSession(cookie);
  }

  async function liveSession(token: string): Promise<Authenticated | undefined> {
    try {
      return await authenticate(deps, token);
    } catch (error) {
      if (error instanceof AppError && error.code === 'unauthenticated') return undefined;
      throw error;
    }
  }

  app.get('/api/authz/auth-request', { schema: routeSchemas.authRequest, config: proxyCheck }, async function authRequest(request, reply) {
    const session = await sessionOf(request);
    return session === undefined ? reply.code(401).send() : allow(reply, session);
  });

  app.get('/api/authz/forward-auth', { schema: routeSchemas.forwardAuth, config: proxyCheck }, async function forwardAuth(request, reply) {
    const session = await sessionOf(request);
    if (session !== undefined) return allow(reply, session);
    const original = browserNavigation(request) ? originalUrl(request, deps.config) : undefined;
    if (original === undefined) return reply.code(401).send();
    return reply.code(302).header('location', loginPage + encodeURIComponent(original)).send();
  });
}

function allow(reply: FastifyReply, { user, session }: Authenticated): FastifyReply {
  return reply.code(200).headers({
    'x-latchkey-user-id': user.id,
    'x-latchkey-email': headerAddress(user),
    'x-latchkey-session-id': session.id,
  }).send();
}

/**
 * A header value must be ASCII (Node refuses anything past Latin-1, and
 * garbles Latin-1): an address with an internationalised domain goes with its
 * IDNA (xn--) domain, the local part as stored (it is ASCII, email-address.ts).
 */
function headerAddress(user: Authenticated['user']): string {
  if (/^[\x21-\x7e]+$/.test(user.email)) return user.email;
  const at = user.email.lastIndexOf('@');
  const ascii = `${user.email.slice(0, at)}@${domainToASCII(user.email.slice(at + 1))}`;
  return /^[\x21-\x7e]+@[\x21-\x7e]+$/.test(ascii) ? ascii : user.email_canonical;
}

/** A page the browser is opening (not a script's fetch, an image, a form POST): only that is worth a log-in page. */
function browserNavigation(request: FastifyRequest): boolean {
  const method = forwarded(request, 'x-forwarded-method')?.toUpperCase();
  return (method === 'GET' || method === 'HEAD') && (request.headers.accept ?? '').toLowerCase().includes('text/html');
}

/** The URL the browser asked the proxy for, when its origin is one a log-in may return to (safeNext); else undefined. */
function originalUrl(request: FastifyRequest, config: Config): string | undefined {
  const proto = forwarded(request, 'x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  const host = forwarded(request, 'x-forwarded-host')?.split(',')[0]?.trim();
  const uri = forwarded(request, 'x-forwarded-uri') ?? '/';
  if ((proto !== 'http' && proto !== 'https') || host === undefined || !hostPattern.test(host) || !uri.startsWith('/')) return undefined;
  const url = URL.parse(`${proto}://${host}${uri}`);
  return url === null ? undefined : safeNext(url.href, config);
}

// A host name or bracketed IPv6 address and an optional port, nothing else: "a.example@evil.example" or "a.example/x" would name another host.
const hostPattern = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

function forwarded(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The first of `names` present in a Cookie header, as @fastify/cookie would read it. */
export function cookieValue(header: string | undefined, names: string[]): string | undefined {
  if (header === undefined) return undefined;
  const found = new Map<string, string>();
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals < 0) continue;
    const name = pair.slice(0, equals).trim();
    if (!names.includes(name) || found.has(name)) continue;
    found.set(name, decoded(pair.slice(equals + 1).trim()));
  }
  for (const name of names) {
    const value = found.get(name);
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

function decoded(value: string): string {
  const unquoted = value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  try {
    return decodeURIComponent(unquoted);
  } catch {
    return unquoted;
  }
}
