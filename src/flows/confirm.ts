import { AppError } from '../errors.ts';
import { isFieldError } from '../field-errors.ts';
import { parseEmail } from '../security/email-address.ts';
import { hashToken } from '../security/tokens.ts';
import { recordEvent } from '../events/record.ts';
import type { Client } from './client.ts';
import type { FlowDeps } from './deps.ts';
import { publicUser, type PublicUser } from './public-user.ts';

/**
 * API.md, POST /api/confirm: spends a confirmation token (the account becomes
 * confirmed) or an email-change token (the account moves to the new address,
 * and its outstanding reset and email-change tokens die with the old one).
 */
export async function confirm(deps: FlowDeps, token: string, client: Client): Promise<PublicUser> {
  const now = Date.now();
  const user = await deps.store.transaction(async (tx) => {
    const spent = await tx.spendToken(hashToken(token), ['confirm', 'email_change'], now);
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
      await tx.voidTokens(spent.user_id, ['reset', 'email_change'], now);
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
