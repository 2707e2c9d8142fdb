// What an error thrown while answering a request means, as a problem code of
// errors.ts: one reading for both scopes, which the JSON API answers as
// problem+json (shared/problem-errors.ts) and the pages as an HTML error page
// (pages/plugin.ts).
import type { FastifyError } from 'fastify';
import { AppError, RetryLaterError, type ProblemCode } from '../errors.ts';
import type { FieldError, FieldErrors } from '../field-errors.ts';

export type Problem = {
  code: ProblemCode;
  /** validation_failed: why each field was refused. */
  errors?: FieldErrors | undefined;
  /** rate_limited, unavailable: seconds until asking again is worth it (the Retry-After header). */
  retryAfter?: number;
};

type SchemaError = { instancePath: string; schemaPath?: string; keyword: string; params: Record<string, unknown> };

const fastifyErrors: Record<string, ProblemCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
};

/** A flow's refusal by its code, Fastify's own body and schema errors by what they mean, anything else `internal`. */
export function problemOf(error: FastifyError): Problem {
  if (error instanceof RetryLaterError) return { code: error.code, retryAfter: error.retryAfter };
  if (error instanceof AppError) return { code: error.code, errors: error.errors };
  if (error.validation !== undefined) return { code: 'validation_failed', errors: schemaFieldErrors(error.validation as SchemaError[]) };
  const code = fastifyErrors[error.code] ?? (error instanceof SyntaxError && error.statusCode === 400 ? 'invalid_json' : undefined);
  if (code !== undefined) return { code };
  if (error.statusCode === 413) return { code: 'payload_too_large' };
  if (error.statusCode === 415) return { code: 'unsupported_media_type' };
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return { code: 'invalid_json' };
  return { code: 'internal' };
}

/** Schema errors keyed by the request's own field names. */
function schemaFieldErrors(errors: SchemaError[]): FieldErrors {
  const result: FieldErrors = {};
  for (const error of oneShape(errors)) {
    const missing = error.keyword === 'required' ? String(error.params.missingProperty) : undefined;
    const field = missing ?? (error.instancePath.split('/')[1] || 'body');
    result[field] ??= schemaFieldError(error, field);
  }
  return result;
}

function schemaFieldError(error: SchemaError, field: string): FieldError {
  if (error.keyword === 'required') return { code: 'required' };
  if (error.keyword === 'type' && field === 'body') return { code: 'not_object' };
  if (error.keyword === 'type') return { code: 'wrong_type', type: String(error.params.type) };
  if (error.keyword === 'maxLength') return { code: 'too_long', max: Number(error.params.limit) };
  return { code: 'invalid' };
}

/**
 * A body of several shapes (`anyOf`: the link and code shapes beside the
 * password one) fails each of them; only the errors of the shape it was
 * meant as are told: the first whose fields it does not contradict (no field
 * of another shape present), else the one it misses least.
 */
function oneShape(errors: SchemaError[]): SchemaError[] {
  const byShape = new Map<string, SchemaError[]>();
  const rest: SchemaError[] = [];
  for (const error of errors) {
    const shape = /^#\/anyOf\/(\d+)\//.exec(error.schemaPath ?? '')?.[1];
    if (shape !== undefined) byShape.set(shape, [...(byShape.get(shape) ?? []), error]);
    else if (error.keyword !== 'anyOf') rest.push(error);
  }
  if (byShape.size === 0) return rest;
  const shapes = [...byShape.entries()].sort(([a], [b]) => Number(a) - Number(b)).map(([, shapeErrors]) => shapeErrors);
  const fitting = shapes.find((shapeErrors) => shapeErrors.every((error) => error.keyword !== 'not'))
    ?? shapes.reduce((best, shapeErrors) => (shapeErrors.length < best.length ? shapeErrors : best));
  return [...rest, ...fitting];
}
