import { AppError } from '../errors.ts';
import { isFieldError } from '../field-errors.ts';
import { parseEmail } from '../security/email-address.ts';
import { recordEvent } from '../events/record.ts';
import type { Client } from './client.ts';
import type { FlowDeps } from './deps.ts';
import { tokenHashOf, type Redemption } from './link-code.ts';
import { publicUser, type PublicUser } from './public-user.ts';

/**
 * API.md, POST /api/confirm: spends a confirmation token (the account becomes
 * confirmed) or an email-change token (the account moves to the new address,
 * and its outstanding reset, log-in and email-change tokens die with the old
 * one), by its link's token or by the address its mail went to and its code.
 */
export async function confirm(deps: FlowDeps, redemption: Redemption, client: Client): Promise<PublicUser> {
  const tokenHash = await tokenHashOf(deps, redemption, ['confirm', 'email_change']);
  const now = Date.now();
  const user = await deps.store.transaction(async (tx) => {
    const spent = await tx.spendToken(tokenHash, ['confirm', 'email_change'], now);
    if (spent === undefined) throw new AppError('invalid_token');
    const before = await tx.findUserById(spent.user_id);
    // A disabled account's links are void (the transaction rolls the spending back).
    if (before === undefined || before.disabled_at !== null) throw new AppError('invalid_token');
    if (spent.purpose === 'email_change') {
      const address = parseEmail(spent.new_email ?? '');
      // The address was free when the link was sent; if another account took it since, the link is dead.
      if (isFieldError(address) || !(await tx.setEmail(spent.user_id, address.display, address.canonical))) {
        throw new AppError('invalid_token');
      }
      await tx.voidTokens(spent.user_id, ['reset', 'email_change', 'login'], now);
    }
    await tx.confirmUser(spent.user_id, now);
    const after = await tx.findUserById(spent.user_id);
    if (after === undefined) throw new AppError('invalid_token');
    if (before.confirmed_at === null) await recordEvent(deps, tx, { type: 'user.confirmed', user: after, client }, now);
    if (spent.purpose === 'email_change') await recordEvent(deps, tx, { type: 'user.email_changed', user: after, client, data: { old_email: before.email } }, now);
    return after;
  });
  if (user === undefined) throw new AppError('invalid_token');
  return publicUser(user);
}
