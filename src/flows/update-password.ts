import { hashPassword } from '../security/password-hash.ts';
import { recordEvent } from '../events/record.ts';
import type { Client } from './client.ts';
import type { FlowDeps } from './deps.ts';
import { checkFields, passwordField } from './field-check.ts';
import { checkCurrentPassword } from './flow-limits.ts';
import type { Authenticated } from './session.ts';

export type UpdatePasswordInput = { current_password: string; new_password: string };

/**
 * API.md, POST /api/update-password: ends every other session (this one
 * stays), voids outstanding reset and email-change tokens, mails the notice.
 * A wrong current password counts as a failed log-in of the account.
 */
export async function updatePassword(deps: FlowDeps, session: Authenticated, input: UpdatePasswordInput, client: Client): Promise<void> {
  const { store, outbox, config } = deps;
  const { user } = session;
  const { new_password: password } = checkFields({ new_password: passwordField(input.new_password, config, [user.email, user.email_canonical]) });
  await checkCurrentPassword(deps, user, input.current_password);
  const passwordHash = await hashPassword(password);

  const now = Date.now();
  await store.transaction(async (tx) => {
    await tx.setPassword(user.id, passwordHash);
    await tx.voidTokens(user.id, ['reset', 'email_change', 'login'], now);
    await tx.deleteSessions(user.id, session.sessionHash);
    await outbox.enqueue(tx, { kind: 'password_changed', to: user.email, params: { name: user.name, locale: user.locale } }, now);
    await recordEvent(deps, tx, { type: 'user.password_changed', user, client, data: { via: 'change' } }, now);
  });
}
