import { AppError } from '../errors.ts';
import { isFieldError } from '../field-errors.ts';
import { parseEmail } from '../security/email-address.ts';
import { hashToken } from '../security/tokens.ts';
import type { FlowDeps } from './deps.ts';
import { publicUser, type PublicUser } from './public-user.ts';

/**
 * API.md, POST /api/confirm: spends a confirmation token (the account becomes
 * confirmed) or an email-change token (the account moves to the new address,
 * and its outstanding reset and email-change tokens die with the old one).
 */
export async function confirm(deps: FlowDeps, token: string): Promise<PublicUser> {
  const now = Date.now();
  const user = await deps.store.transaction(async (tx) => {
    const spent = await tx.spendToken(hashToken(token), ['confirm', 'email_change'], now);
    if (spent === undefined) throw new AppError('invalid_token');
    // A disabled account's links are void (the transaction rolls the spending back).
    if ((await tx.findUserById(spent.user_id))?.disabled_at !== null) throw new AppError('invalid_token');
    if (spent.purpose === 'email_change') {
      const address = parseEmail(spent.new_email ?? '');
      // The address was free when the link was sent; if another account took it since, the link is dead.
      if (isFieldError(address) || !(await tx.setEmail(spent.user_id, address.display, address.canonical))) {
        throw new AppError('invalid_token');
      }
      await tx.voidTokens(spent.user_id, ['reset', 'email_change'], now);
    }
    await tx.confirmUser(spent.user_id, now);
    return tx.findUserById(spent.user_id);
  });
  if (user === undefined) throw new AppError('invalid_token');
  return publicUser(user);
}
