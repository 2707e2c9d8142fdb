import { newToken } from '../security/tokens.ts';
import type { FlowDeps } from './deps.ts';
import { checkCurrentPassword, countMailRequest } from './flow-limits.ts';
import type { Authenticated } from './session.ts';
import { FieldCheck, linkWithToken } from './shared.ts';

export type UpdateEmailInput = { new_email: string; password: string };

/**
 * API.md, POST /api/update-email: the new address gets a confirmation link and
 * the old one a notice; nothing changes until the link is used. When another
 * account holds the new address, the answer is the same and that address is
 * told it already has an account, with no link. A wrong password counts as a
 * failed log-in; only a request with the right one counts against the new address.
 */
export async function updateEmail(deps: FlowDeps, session: Authenticated, input: UpdateEmailInput): Promise<void> {
  const { store, outbox, config } = deps;
  const { user } = session;
  const check = new FieldCheck();
  const newEmail = check.email('new_email', input.new_email);
  if (newEmail !== undefined && newEmail.canonical === user.email_canonical) check.errors.new_email = 'is already your address';
  check.done();
  await checkCurrentPassword(deps, user, input.password);
  await countMailRequest(deps, 'update-email', newEmail!.canonical);

  const now = Date.now();
  await store.transaction(async (tx) => {
    const holder = await tx.findUserByEmail(newEmail!.canonical);
    if (holder !== undefined) {
      await outbox.enqueue(tx, { kind: 'email_in_use', to: holder.email, params: { name: holder.name, locale: holder.locale } }, now);
    } else {
      const { token, hash } = newToken();
      const expiresAt = now + config.confirmTokenTtl * 1000;
      await tx.issueToken(
        { token_hash: hash, user_id: user.id, purpose: 'email_change', new_email: newEmail!.display, created_at: now, expires_at: expiresAt },
        ['email_change'],
        outbox.row({
          kind: 'email_change_confirm',
          to: newEmail!.display,
          params: { name: user.name, link: linkWithToken(config, '/confirm-email', token), expires_at: new Date(expiresAt).toISOString(), new_email: newEmail!.display, locale: user.locale },
          expiresAt,
        }, now),
      );
    }
    // Sent either way, so the old address learns nothing about who holds the new one.
    await outbox.enqueue(tx, { kind: 'email_change_notice', to: user.email, params: { name: user.name, new_email: newEmail!.display, locale: user.locale } }, now);
  });
}
