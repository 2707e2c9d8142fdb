import { AppError } from '../errors.ts';
import { hashPassword } from '../security/password-hash.ts';
import { recordEvent } from '../events/record.ts';
import type { Client } from './client.ts';
import type { TokenPurpose } from '../store/schema.ts';
import type { FlowDeps } from './deps.ts';
import { checkFields, passwordField } from './field-check.ts';
import { tokenHashOf, type Redemption } from './link-code.ts';

/** A reset link, or an invitation (`latchkey users invite`), which sets the first password the same way. */
const linkPurposes: TokenPurpose[] = ['reset', 'invite'];

export type ResetPasswordInput = Redemption & { password: string };

/**
 * API.md, POST /api/reset-password: sets the password, spends the token,
 * voids the user's other reset and email-change tokens, ends every session,
 * confirms the account (the link proved the address) and mails a notice.
 * A refused password leaves the token unspent. The owner has proved the
 * address, so its failed log-ins no longer count against it.
 */
export async function resetPassword(deps: FlowDeps, input: ResetPasswordInput, client: Client): Promise<{ userId: string }> {
  const { store, outbox, config } = deps;
  const tokenHash = await tokenHashOf(deps, input, linkPurposes);
  const live = await store.findLiveToken(tokenHash, linkPurposes, Date.now());
  const user = live && (await store.findUserById(live.user_id));
  // A disabled account's links are void.
  if (user === undefined || user.disabled_at !== null) throw new AppError('invalid_token');

  const { password } = checkFields({ password: passwordField(input.password, config, [user.email, user.email_canonical]) });
  const passwordHash = await hashPassword(password);

  const now = Date.now();
  await store.transaction(async (tx) => {
    // The conditional UPDATE decides between concurrent redemptions.
    const spent = await tx.spendToken(tokenHash, linkPurposes, now);
    if (spent === undefined) throw new AppError('invalid_token');
    await tx.setPassword(user.id, passwordHash);
    await tx.confirmUser(user.id, now);
    await tx.voidTokens(user.id, ['reset', 'email_change', 'login', 'invite'], now);
    await tx.deleteSessions(user.id);
    // An invitation sets the first password: there is no change to warn of.
    if (spent.purpose === 'reset') await outbox.enqueue(tx, { kind: 'password_changed', to: user.email, params: { name: user.name, locale: user.locale } }, now);
    const after = { ...user, password_hash: passwordHash, confirmed_at: user.confirmed_at ?? now };
    // The link proved the address: an unconfirmed account is confirmed by it.
    if (user.confirmed_at === null) await recordEvent(deps, tx, { type: 'user.confirmed', user: after, client }, now);
    if (spent.purpose === 'reset') await recordEvent(deps, tx, { type: 'user.password_changed', user: after, client, data: { via: 'reset' } }, now);
  });
  await deps.limits.loginFailures.clear(user.email_canonical);
  return { userId: user.id };
}
