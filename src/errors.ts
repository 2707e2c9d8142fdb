// Every problem code of API.md, in one catalog. Flows throw AppError with a
// code; only the HTTP layer reads the status and turns it into problem+json.
// Why a field was refused has a catalog of its own: field-errors.ts.
import type { FieldErrors } from './field-errors.ts';

export const problems = {
  invalid_json: { status: 400, title: 'Malformed JSON', detail: 'The request body is not valid JSON.' },
  invalid_token: { status: 400, title: 'Invalid or expired link', detail: 'This link is invalid, has expired or has already been used. Ask for a new one.' },
  unauthenticated: { status: 401, title: 'Not signed in', detail: 'A valid session is required.' },
  invalid_credentials: { status: 401, title: 'Wrong email or password', detail: 'The email or password is not correct.' },
  email_not_confirmed: { status: 403, title: 'Email not confirmed', detail: 'Confirm your email address first; you can ask for a new confirmation link.' },
  account_disabled: { status: 403, title: 'Account disabled', detail: 'This account has been disabled. Contact the operator of this service.' },
  csrf_failed: { status: 403, title: 'Form expired', detail: 'The form was missing its security token or it did not match. Reload the page and try again.' },
  cross_site: { status: 403, title: 'Cross-site request refused', detail: 'Requests from this origin are not allowed.' },
  not_found: { status: 404, title: 'Not found', detail: 'There is nothing at this address.' },
  payload_too_large: { status: 413, title: 'Payload too large', detail: 'The request body is larger than 65,536 bytes.' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type', detail: 'Send the body as application/json.' },
  validation_failed: { status: 422, title: 'Validation failed', detail: 'One or more fields are missing or invalid.' },
  rate_limited: { status: 429, title: 'Too many requests', detail: 'Too many attempts; try again later.' },
  internal: { status: 500, title: 'Internal error', detail: 'Something went wrong on our side. It has been logged.' },
  // Two causes, one answer: the database cannot be reached, or password hashing is saturated (HASH_QUEUE_MAX).
  unavailable: { status: 503, title: 'Service unavailable', detail: 'The service cannot answer this request right now. Try again later.' },
} as const satisfies Record<string, { status: number; title: string; detail: string }>;

export type ProblemCode = keyof typeof problems;

export type { FieldErrors };

export class AppError extends Error {
  override name = 'AppError';
  readonly code: ProblemCode;
  readonly errors: FieldErrors | undefined;

  constructor(code: ProblemCode, errors?: FieldErrors) {
    super(problems[code].detail);
    this.code = code;
    this.errors = errors;
  }
}

/** A refusal that ends: the HTTP layer sends `retryAfter` (seconds) as the Retry-After header, on the API and the pages alike. */
export class RetryLaterError extends AppError {
  override name = 'RetryLaterError';
  readonly retryAfter: number;

  constructor(code: 'rate_limited' | 'unavailable', retryAfter: number) {
    super(code);
    this.retryAfter = retryAfter;
  }
}

/** 429 rate_limited, the same whoever the limit protects. */
export class RateLimitedError extends RetryLaterError {
  override name = 'RateLimitedError';

  constructor(retryAfter: number) {
    super('rate_limited', retryAfter);
  }
}

export function validationFailed(errors: FieldErrors): AppError {
  return new AppError('validation_failed', errors);
}
