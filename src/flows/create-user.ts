import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.ts';
import { isFieldError } from '../field-errors.ts';
import { defaultLocale } from '../locale.ts';
import { parseEmail } from '../security/email-address.ts';
import { dummyHash, hashPassword } from '../security/password-hash.ts';
import type { User } from '../store/schema.ts';
import { recordEvent } from '../events/record.ts';
import type { Client } from './client.ts';
import type { FlowDeps } from './deps.ts';
import { checkFields, nameField, passwordField } from './field-check.ts';

export type CreateUserInput = { email: string; name?: string | undefined; confirmed?: boolean; password?: string | undefined };

/** Refused because the canonical address already has an account. */
export class AddressTakenError extends AppError {
  override name = 'AddressTakenError';
  constructor() {
    super('validation_failed', { email: { code: 'invalid' } });
  }
}

/**
 * `latchkey users create`: an account made by an operator, with no mail. With
 * a password (checked by the policy) its owner can log in; without one it has
 * none that works (a hash no password matches, verified like any other, so a
 * log-in to it costs the usual time) until a reset or an invitation sets one.
 */
export async function createUser(deps: Pick<FlowDeps, 'store' | 'outbox' | 'config'>, client: Client, input: CreateUserInput): Promise<User> {
  const address = parseEmail(input.email);
  const { email, name, password } = checkFields({
    email: address,
    name: nameField(input.name),
    password: input.password === undefined ? undefined : passwordField(input.password, deps.config, isFieldError(address) ? [input.email] : [address.display, address.canonical]),
  });
  const now = Date.now();
  const user: User = {
    id: randomUUID(), email: email.display, email_canonical: email.canonical, name,
    password_hash: password === undefined ? dummyHash : await hashPassword(password),
    confirmed_at: input.confirmed === true ? now : null, created_at: now, locale: defaultLocale, disabled_at: null,
  };
  const inserted = await deps.store.transaction(async (tx) => {
    if (!(await tx.insertUser(user))) return false;
    await recordEvent(deps, tx, { type: 'user.created', user, client }, now);
    if (user.confirmed_at !== null) await recordEvent(deps, tx, { type: 'user.confirmed', user, client }, now);
    return true;
  });
  if (!inserted) throw new AddressTakenError();
  return user;
}
