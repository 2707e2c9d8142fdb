// problem+json (RFC 9457) replies, built from the catalogs in errors.ts and
// field-errors.ts: the JSON API's `errors` are the English templates, filled in.
import type { FastifyReply } from 'fastify';
import { problems, type ProblemCode } from '../errors.ts';
import { fieldMessage, type FieldErrors } from '../field-errors.ts';

export function sendProblem(reply: FastifyReply, code: ProblemCode, errors?: FieldErrors, extra?: Record<string, string>): FastifyReply {
  const { status, title, detail } = problems[code];
  return reply.code(status).type('application/problem+json').send({
    type: 'about:blank',
    title,
    status,
    detail,
    code,
    ...(code === 'validation_failed' ? { errors: englishErrors(errors ?? {}) } : {}),
    ...extra,
  });
}

function englishErrors(errors: FieldErrors): Record<string, string> {
  return Object.fromEntries(Object.entries(errors).map(([field, error]) => [field, fieldMessage(error)]));
}
