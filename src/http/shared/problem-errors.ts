// Shared by every scope but the pages: each error becomes problem+json (its
// code read by error-codes.ts), anything unexpected a logged 500 that tells
// the client nothing but a request id, and an unknown path a 404.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { problemOf } from '../error-codes.ts';
import { sendProblem } from '../problem.ts';

/** For a root instance: problem+json errors, and the 404 of a path no route matched. */
export function answerProblems(app: FastifyInstance): void {
  app.setErrorHandler(answerProblem);
  app.setNotFoundHandler(function notFound(_request, reply) {
    return sendProblem(reply, 'not_found');
  });
}

export function answerProblem(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const problem = problemOf(error);
  // A 429 or 503 says when to come back; nothing in a 429 tells whether an address has an account.
  if (problem.retryAfter !== undefined) reply.header('retry-after', String(problem.retryAfter));
  if (problem.code !== 'internal') return sendProblem(reply, problem.code, problem.errors);
  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(reply, 'internal', undefined, { request_id: request.id });
}
