// problem+json (RFC 9457) replies, built from the catalog in errors.ts.
import type { FastifyReply } from 'fastify';
import { problems, type FieldErrors, type ProblemCode } from '../errors.ts';

export function sendProblem(reply: FastifyReply, code: ProblemCode, errors?: FieldErrors, extra?: Record<string, string>): FastifyReply {
  const { status, title, detail } = problems[code];
  return reply.code(status).type('application/problem+json').send({
    type: 'about:blank',
    title,
    status,
    detail,
    code,
    ...(code === 'validation_failed' ? { errors: errors ?? {} } : {}),
    ...extra,
  });
}
