import { AppError } from '../errors.ts';
import { isFieldError } from '../field-errors.ts';
import { parseEmail } from '../security/email-address.ts';
import type { FlowDeps } from './deps.ts';
import { tokenHashOf, type Redemption } from './link-code.ts';
import { publicUser, type PublicUser } from './public-user.ts';

/**
 * API.md, POST /api/confirm: spends a confirmation token (the account becomes
 * confirmed) or an email-change token (the account moves to the new address,
 * and its outstanding reset, log-in and email-change tokens die with the old
 * one), by its link's token or by the address its mail went to and its code.
 */
export async function confirm(deps: FlowDeps, redemption: Redemption): Promise<PublicUser> {
  const tokenHash = await tokenHashOf(deps, redemption, ['confirm', 'email_change']);
  const now = Date.now();
  const user = await deps.store.transaction(async (tx) => {
    const spent = await tx.spendToken(tokenHash, ['confirm', 'email_change'], now);
    if (spent === undefined) throw new AppError('invalid_token');
    // A disabled account's links are void (the transaction rolls the spending back).
    if ((await tx.findUserById(spent.user_id))?.disabled_at !== null) throw new AppError('invalid_token');
    if (spent.purpose === 'email_change') {
      const address = parseEmail(spent.new_email ?? '');
      // The address was free when the link was sent; if another account took it since, the link is dead.
      if (isFieldError(address) || !(await tx.setEmail(spent.user_id, address.display, address.canonical))) {
        throw new AppError('invalid_token');
      }
      await tx.voidTokens(spent.user_id, ['reset', 'email_change', 'login'], now);
    }
    await tx.confirmUser(spent.user_id, now);
    return tx.findUserById(spent.user_id);
  });
  if (user === undefined) throw new AppError('invalid_token');
  return publicUser(user);
}
