import { AppError } from '../errors.ts';
import type { User } from '../store/schema.ts';
import { setName } from '../store/user-admin.ts';
import type { Client } from './client.ts';
import { createUser, type CreateUserInput } from './create-user.ts';
import type { FlowDeps } from './deps.ts';
import { checkFields, nameField } from './field-check.ts';
import { issueLink } from './issue-link.ts';
import { parseEmail } from '../security/email-address.ts';

/** Why an invitation was not sent: the address has an account its owner already uses, or a disabled one. */
export class NotInvitableError extends AppError {
  override name = 'NotInvitableError';
  readonly reason: 'confirmed' | 'disabled';
  constructor(reason: 'confirmed' | 'disabled') {
    super('validation_failed', { email: { code: 'invalid' } });
    this.reason = reason;
  }
}

/**
 * `latchkey users invite`: an account whose owner chooses the password from a
 * mailed link (BASE_URL/reset-password, valid INVITE_TOKEN_TTL); using it
 * sets the password and confirms the account. A new address gets a new
 * account with no usable password. An existing unconfirmed, enabled account
 * (someone signed up and never confirmed) gets the invitation instead of a
 * second account, and a newer invitation voids the older link; its name is
 * set when one is given. A confirmed or disabled account is refused: its
 * owner has a password (a reset serves them), or an operator stopped it.
 */
export async function inviteUser(deps: FlowDeps, client: Client, input: Omit<CreateUserInput, 'password' | 'confirmed'>): Promise<{ user: User; created: boolean }> {
  const { email, name } = checkFields({ email: parseEmail(input.email), name: nameField(input.name) });
  let user = await deps.store.findUserByEmail(email.canonical);
  const created = user === undefined;
  if (user === undefined) {
    user = await createUser(deps, client, { email: input.email, name: input.name });
  } else if (user.disabled_at !== null) {
    throw new NotInvitableError('disabled');
  } else if (user.confirmed_at !== null) {
    throw new NotInvitableError('confirmed');
  } else if (name !== null) {
    user = { ...user, name };
    await setName(deps.store.db, user.id, name);
  }
  await issueLink(deps, deps.store, { purpose: 'invite', user });
  return { user, created };
}
