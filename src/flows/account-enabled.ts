import type { User } from '../store/schema.ts';

/**
 * MERGE POINT (disabled accounts, issue 14): API.md lets a link or code log in
 * only an enabled account, and answers 403 account_disabled to a disabled one's
 * valid link or code; a log-in link is mailed only to an enabled account.
 * Until users.disabled_at exists every account is enabled; wire it here:
 * `return user.disabled_at === null`, and throw account_disabled in assertEnabled.
 */
export function isEnabled(_user: User): boolean {
  return true;
}

/** Throws 403 account_disabled for a disabled account (see isEnabled). */
export function assertEnabled(user: User): void {
  if (!isEnabled(user)) throw new Error('account_disabled: wire AppError("account_disabled") here');
}
