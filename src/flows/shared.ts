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

  /**
   * A link target a client asked for (API.md, "Links and codes"): only an
   * allowed origin may receive a token, and only a URL already in its
   * serialized form is taken, because the mail carries the parsed URL's
   * serialization: whatever parsing would drop or rewrite (spaces, tabs,
   * backslashes, U+0085, non-ASCII) could otherwise differ between what was
   * checked and what a mail reader sees. Returns the serialization.
   */
  linkTarget(field: string, input: string | undefined, config: Config): string | undefined {
    if (input === undefined) return undefined;
    // Printable ASCII only, without space and backslash.
    if (!/^[\x21-\x5b\x5d-\x7e]+$/.test(input)) {
      this.errors[field] = 'must be a URL in its serialized form: no spaces, backslashes, control or non-ASCII characters';
      return undefined;
    }
    const url = URL.parse(input);
    if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:') || !config.allowedOrigins.includes(url.origin) || url.username !== '' || url.password !== '') {
      this.errors[field] = 'must be an absolute URL on an allowed origin';
      return undefined;
    }
    return url.href;
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

// `{token}` as typed, or as the path serializes it (hex digits in either case).
const tokenPlaceholder = /\{token\}|%7[Bb]token%7[Dd]/;
const tokenPlaceholders = new RegExp(tokenPlaceholder.source, 'g');

/**
 * A link carrying `token`: to the client's own route when it gave one (a
 * serialization from FieldCheck.linkTarget), else to BASE_URL + path. The
 * token takes the place of `{token}` wherever it stands (the path holds it
 * percent-encoded, `%7Btoken%7D`), else goes in the query as `token`. Only the
 * path, query and fragment are filled in, and the result is serialized again,
 * so the mailed link is always a parsed URL on the checked origin.
 */
export function linkWithToken(config: Config, path: string, token: string, clientTarget?: string): string {
  const url = new URL(clientTarget ?? `${config.baseUrl.href.replace(/\/$/, '')}${path}`);
  const rest = url.pathname + url.search + url.hash;
  if (tokenPlaceholder.test(rest)) return new URL(url.origin + rest.replace(tokenPlaceholders, token)).href;
  url.searchParams.set('token', token);
  return url.href;
}
