// Every reason a field can be refused, in one catalog beside errors.ts. A
// check returns a value such as `{ code: 'too_short', min: 8 }`, never a
// sentence: the JSON API writes the English template below into a 422's
// `errors`, and a page writes its language's `field_errors.<code>` from
// strings/<lang>.json, each filling in the same {placeholders}.
// src/errors.test.ts keeps every language in step with this list.

export const fieldErrors = {
  required: 'is required',
  not_object: 'must be a JSON object',
  wrong_type: 'must be a {type}',
  invalid: 'is invalid',
  too_short: 'must be at least {min} characters',
  too_long: 'must be at most {max} characters',
  common_password: 'is one of the most common passwords; choose another',
  contains_app_name: 'must not contain "{name}"',
  is_email: 'must not be your email address',
  control_characters: 'must not contain control characters',
  email_ascii: 'must have an ASCII part before the @',
  email_invalid: 'must be an email address like name@example.com',
  email_domain: 'must be an email address with a valid domain',
  same_email: 'is already your address',
  url_not_serialized: 'must be a URL in its serialized form: no spaces, backslashes, control or non-ASCII characters',
  url_not_allowed: 'must be an absolute URL on an allowed origin',
} as const satisfies Record<string, string>;

export type FieldErrorCode = keyof typeof fieldErrors;

/** The values a code's template names; a code not listed here takes none. */
type FieldErrorParams = {
  wrong_type: { type: string };
  too_short: { min: number };
  too_long: { max: number };
  contains_app_name: { name: string };
};

export type FieldError = { [C in FieldErrorCode]: C extends keyof FieldErrorParams ? { code: C } & FieldErrorParams[C] : { code: C } }[FieldErrorCode];

/** Field name (as the request spelled it) → why it was refused. */
export type FieldErrors = Record<string, FieldError>;

export function isFieldError(value: unknown): value is FieldError {
  if (typeof value !== 'object' || value === null || !('code' in value)) return false;
  return typeof value.code === 'string' && Object.hasOwn(fieldErrors, value.code);
}

/** The English sentence of the JSON API. */
export function fieldMessage(error: FieldError): string {
  return fillIn(fieldErrors[error.code], error);
}

/** A template (the catalog's, or a page language's) with the error's values in place of {name}. */
export function fillIn(template: string, error: FieldError): string {
  const values = error as Record<string, unknown>;
  return template.replace(/\{(\w+)\}/g, (placeholder, name: string) => (name !== 'code' && Object.hasOwn(values, name) ? String(values[name]) : placeholder));
}
