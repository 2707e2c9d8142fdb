// What every JSON endpoint refuses before its body is read: a foreign Origin
// (403 cross_site) and, on endpoints that take a body, anything but JSON (415);
// and what every answer under /api/ carries: Cache-Control: no-store.
// "Under /api/" is decided by the route the router matched, which it found
// after percent-decoding: /%61pi/users is /api/users, with every rule of it.
import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import { sendProblem } from '../problem.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A reverse proxy's check (routes/authz.ts): the proxy passes on the
     * protected app's request headers, Origin included, and a cross-site
     * request to that app is the app's to judge. These answers change nothing
     * and carry no body, so any Origin is let through.
     */
    anyOrigin?: boolean;
  }
}

export async function registerApiGuard(app: FastifyInstance, config: Config): Promise<void> {
  // CORS answers only the allowed origins; other origins get no CORS headers.
  await app.register(cors, {
    origin: config.allowedOrigins,
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['Content-Type', 'Authorization'],
    maxAge: 600,
  });

  app.addHook('onRequest', async function guardApi(request, reply) {
    // An unknown route is a 404 whatever its headers; the guard is for the JSON endpoints.
    if (request.is404 || request.method === 'OPTIONS' || !underApi(request)) return;
    const origin = request.headers.origin;
    if (origin !== undefined && !config.allowedOrigins.includes(origin) && request.routeOptions.config?.anyOrigin !== true) return sendProblem(reply, 'cross_site');
    if (takesBody(request) && mediaType(request) !== 'application/json') return sendProblem(reply, 'unsupported_media_type');
  });

  // onSend sees every answer, errors, 404s and 429s included. A session token or
  // an account's data must not stay in a browser's or a proxy's cache.
  app.addHook('onSend', async function noStore(request, reply) {
    if (underApi(request)) reply.header('cache-control', 'no-store');
  });
}

/**
 * Whether the request is for a path under /api/, as the router read it: the
 * matched route, or, for a 404 or a catch-all route (the CORS preflight's
 * '*'), the decoded path.
 */
function underApi(request: FastifyRequest): boolean {
  const route = request.routeOptions.url;
  return (route === undefined || route.includes('*') ? decodedPath(request.url) : route).startsWith('/api/');
}

/** An unmatched request's path, percent-decoded as the router decodes it before matching. */
function decodedPath(url: string): string {
  const path = url.split('?', 1)[0]!;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** A POST, PUT or PATCH, or a DELETE whose route reads a body (DELETE /api/me). */
function takesBody(request: FastifyRequest): boolean {
  return request.method === 'POST' || request.method === 'PUT' || request.method === 'PATCH' || (request.routeOptions.schema as { body?: unknown } | undefined)?.body !== undefined;
}

function mediaType(request: FastifyRequest): string | undefined {
  return request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
}
