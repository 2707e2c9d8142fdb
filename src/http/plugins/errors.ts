// Turns every error into problem+json: AppError by its code, Fastify's own
// body and schema errors by what they mean, and anything else into a logged
// 500 that tells the client nothing but a request id.
import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, RetryLaterError, type ProblemCode } from '../../errors.ts';
import type { FieldError, FieldErrors } from '../../field-errors.ts';
import { sendProblem } from '../problem.ts';

type SchemaError = { instancePath: string; keyword: string; params: Record<string, unknown> };

const fastifyErrors: Record<string, ProblemCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
};

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(function handleError(error: FastifyError, request, reply) {
    // A 429 or 503 says when to come back; nothing in a 429 tells whether an address has an account.
    if (error instanceof RetryLaterError) return sendProblem(reply.header('retry-after', String(error.retryAfter)), error.code);
    if (error instanceof AppError) return sendProblem(reply, error.code, error.errors);
    if (error.validation !== undefined) return sendProblem(reply, 'validation_failed', fieldErrors(error.validation as SchemaError[]));
    const code = fastifyErrors[error.code] ?? (error instanceof SyntaxError && error.statusCode === 400 ? 'invalid_json' : undefined);
    if (code !== undefined) return sendProblem(reply, code);
    if (error.statusCode === 413) return sendProblem(reply, 'payload_too_large');
    if (error.statusCode === 415) return sendProblem(reply, 'unsupported_media_type');
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return sendProblem(reply, 'invalid_json');
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, 'internal', undefined, { request_id: request.id });
  });

  app.setNotFoundHandler(function notFound(_request, reply) {
    return sendProblem(reply, 'not_found');
  });
}

/** Schema errors keyed by the request's own field names. */
function fieldErrors(errors: SchemaError[]): FieldErrors {
  const result: FieldErrors = {};
  for (const error of errors) {
    const missing = error.keyword === 'required' ? String(error.params.missingProperty) : undefined;
    const field = missing ?? (error.instancePath.split('/')[1] || 'body');
    result[field] ??= describe(error, field);
  }
  return result;
}

function describe(error: SchemaError, field: string): FieldError {
  if (error.keyword === 'required') return { code: 'required' };
  if (error.keyword === 'type' && field === 'body') return { code: 'not_object' };
  if (error.keyword === 'type') return { code: 'wrong_type', type: String(error.params.type) };
  if (error.keyword === 'maxLength') return { code: 'too_long', max: Number(error.params.limit) };
  return { code: 'invalid' };
}
