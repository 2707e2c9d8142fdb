// What every JSON endpoint refuses before its body is read: a foreign Origin
// (403 cross_site) and, on endpoints that take a body, anything but JSON (415).
import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import { sendProblem } from '../problem.ts';

export async function registerApiGuard(app: FastifyInstance, config: Config): Promise<void> {
  // CORS answers only the allowed origins; other origins get no CORS headers.
  await app.register(cors, {
    origin: config.allowedOrigins,
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['Content-Type', 'Authorization'],
    maxAge: 600,
  });

  app.addHook('onRequest', async function guardApi(request, reply) {
    // An unknown route is a 404 whatever its headers; the guard is for the JSON endpoints.
    if (!request.url.startsWith('/api/') || request.method === 'OPTIONS' || request.is404) return;
    const origin = request.headers.origin;
    if (origin !== undefined && !config.allowedOrigins.includes(origin)) return sendProblem(reply, 'cross_site');
    if (takesBody(request) && mediaType(request) !== 'application/json') return sendProblem(reply, 'unsupported_media_type');
  });
}

function takesBody(request: FastifyRequest): boolean {
  return request.method === 'POST' || request.method === 'PUT' || request.method === 'PATCH';
}

function mediaType(request: FastifyRequest): string | undefined {
  return request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
}
