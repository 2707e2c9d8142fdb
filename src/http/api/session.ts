// Resolves `Authorization: Bearer <token>` to a session for the routes that need one.
import type { FastifyRequest } from 'fastify';
import type { FlowDeps } from '../../flows/deps.ts';
import { authenticate, type Authenticated } from '../../flows/session.ts';

export function bearerToken(request: FastifyRequest): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

export function requireSession(deps: FlowDeps, request: FastifyRequest): Promise<Authenticated> {
  return authenticate(deps, bearerToken(request));
}
