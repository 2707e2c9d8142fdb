// Pieces several flows use: the public shape of a user, link building, and
// the field checks whose messages the HTTP layer hands back under `errors`.
import type { Config } from '../config.ts';
import { validationFailed, type FieldErrors } from '../errors.ts';
import { parseEmail, type EmailAddress } from '../security/email-address.ts';
import { checkPassword, normalizePassword } from '../security/password-policy.ts';
import type { User } from '../store/schema.ts';

export type PublicUser = {
  id: string;
  email: string;
  name: string | null;
  confirmed: boolean;
  created_at: string;
};

export function publicUser(user: User): PublicUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    confirmed: user.confirmed_at !== null,
    created_at: isoSeconds(user.created_at),
  };
}

export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Collects field errors so one 422 names every bad field at once.
 * Each check returns its parsed value, or undefined after recording the error.
 */
export class FieldCheck {
  readonly errors: FieldErrors = {};

  email(field: string, input: string): EmailAddress | undefined {
    const parsed = parseEmail(input);
    if (typeof parsed === 'string') {
      this.errors[field] = parsed;
      return undefined;
    }
    return parsed;
  }

  /** Returns the password in the form it is hashed in (NFKC). */
  password(field: string, input: string, config: Config, emails: string[]): string | undefined {
    const problem = checkPassword(input, { minLength: config.passwordMinLength, appName: config.appName }, emails);
    if (problem !== undefined) {
      this.errors[field] = problem;
      return undefined;
    }
    return normalizePassword(input);
  }

  /** A link target a client asked for: only an allowed origin may receive a token. */
  linkTarget(field: string, input: string | undefined, config: Config): string | undefined {
    if (input === undefined) return undefined;
    const url = URL.parse(input.replaceAll('{token}', 'TOKEN'));
    // URL parsing drops CR, LF and tab, but a {token} link is built from the raw input: refuse them here.
    // eslint-disable-next-line no-control-regex
    if (url === null || /[\u0000-\u001f\u007f]/.test(input) || !config.allowedOrigins.includes(url.origin) || url.username !== '' || url.password !== '') {
      this.errors[field] = 'must be an absolute URL on an allowed origin';
      return undefined;
    }
    return input;
  }

  name(field: string, input: string | undefined): string | null {
    const name = input?.trim() ?? '';
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(name)) this.errors[field] = 'must not contain control characters';
    else if ([...name].length > 100) this.errors[field] = 'must be at most 100 characters';
    return name === '' ? null : name;
  }

  /** Throws the 422 when any check failed. */
  done(): void {
    if (Object.keys(this.errors).length > 0) throw validationFailed(this.errors);
  }
}

/** A link carrying `token`: to the client's own route when it gave one, else to BASE_URL + path. */
export function linkWithToken(config: Config, path: string, token: string, clientTarget?: string): string {
  if (clientTarget !== undefined && clientTarget.includes('{token}')) return clientTarget.replaceAll('{token}', token);
  const url = new URL(clientTarget ?? `${config.baseUrl.href.replace(/\/$/, '')}${path}`);
  url.searchParams.set('token', token);
  return url.href;
}
