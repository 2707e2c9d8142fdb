// The checks of a request's fields. Each field check returns the checked value
// or the reason it is refused (a FieldError from src/field-errors.ts), and
// checkFields takes them all at once, so one 422 names every bad field.
import type { Config } from '../config.ts';
import { validationFailed } from '../errors.ts';
import { isFieldError, type FieldError, type FieldErrors } from '../field-errors.ts';
import { checkPassword, normalizePassword } from '../security/password-policy.ts';

export type Checked<T> = { [K in keyof T]: Exclude<T[K], FieldError> };

/**
 * `fields` maps each field's name, as the request spelled it, to its check's
 * answer. Throws the 422 when any was refused; otherwise returns the checked
 * values, with their types.
 */
export function checkFields<T extends Record<string, unknown>>(fields: T): Checked<T> {
  const errors: FieldErrors = {};
  for (const [field, value] of Object.entries(fields)) {
    if (isFieldError(value)) errors[field] = value;
  }
  if (Object.keys(errors).length > 0) throw validationFailed(errors);
  return fields as Checked<T>;
}

/** The password in the form it is hashed in (NFKC), or why it is refused. */
export function passwordField(input: string, config: Pick<Config, 'passwordMinLength' | 'appName'>, emails: string[]): string | FieldError {
  return checkPassword(input, { minLength: config.passwordMinLength, appName: config.appName }, emails) ?? normalizePassword(input);
}

/**
 * A link target a client asked for (API.md, "Links and codes"): only an
 * allowed origin may receive a token, and only a URL already in its
 * serialized form is taken, because the mail carries the parsed URL's
 * serialization: whatever parsing would drop or rewrite (spaces, tabs,
 * backslashes, U+0085, non-ASCII) could otherwise differ between what was
 * checked and what a mail reader sees. Returns the serialization.
 */
export function linkTargetField(input: string | undefined, config: Pick<Config, 'allowedOrigins'>): string | undefined | FieldError {
  if (input === undefined) return undefined;
  // Printable ASCII only, without space and backslash.
  if (!/^[\x21-\x5b\x5d-\x7e]+$/.test(input)) return { code: 'url_not_serialized' };
  const url = URL.parse(input);
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:') || !config.allowedOrigins.includes(url.origin) || url.username !== '' || url.password !== '') {
    return { code: 'url_not_allowed' };
  }
  return url.href;
}

/** A display name, trimmed; null when none was given. */
export function nameField(input: string | undefined): string | null | FieldError {
  const name = input?.trim() ?? '';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return { code: 'control_characters' };
  if ([...name].length > 100) return { code: 'too_long', max: 100 };
  return name === '' ? null : name;
}
