import type { FastifyRequest } from 'fastify';
import type { Client } from '../../flows/client.ts';

const userAgentMax = 200;

/** The request's client for the flows: its IP (after TRUST_PROXY) and its User-Agent, cut to 200 characters. */
export function clientOf(request: FastifyRequest): Client {
  const userAgent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: userAgent === undefined || userAgent === '' ? null : [...userAgent].slice(0, userAgentMax).join('') };
}
