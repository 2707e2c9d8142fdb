import { AppError } from '../errors.ts';
import type { User } from '../store/schema.ts';

/** Whether an operator left the account enabled (`latchkey users disable` sets disabled_at). */
export function isEnabled(user: Pick<User, 'disabled_at'>): boolean {
  return user.disabled_at === null;
}

/**
 * API.md: a valid link or code of a disabled account is 403 account_disabled.
 * Disabling voids every live link, so this is reached only by a link issued
 * while the account was being disabled.
 */
export function assertEnabled(user: Pick<User, 'disabled_at'>): void {
  if (!isEnabled(user)) throw new AppError('account_disabled');
}
