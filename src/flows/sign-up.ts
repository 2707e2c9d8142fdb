import { randomUUID } from 'node:crypto';
import { isFieldError } from '../field-errors.ts';
import { defaultLocale, isLocale } from '../locale.ts';
import { parseEmail } from '../security/email-address.ts';
import { hashPassword } from '../security/password-hash.ts';
import { recordEvent } from '../events/record.ts';
import type { Client } from './client.ts';
import type { FlowDeps } from './deps.ts';
import { checkFields, linkTargetField, nameField, passwordField } from './field-check.ts';
import { countMailRequest } from './flow-limits.ts';
import { issueLink } from './issue-link.ts';

/** `locale`: the language the account's mail is written in; an unsupported one is English. */
export type SignUpInput = { email: string; password: string; name?: string; confirm_url?: string; locale?: string };

/**
 * API.md, POST /api/users: the same answer whether or not the address has an
 * account. A new address gets an unconfirmed account and a confirmation link;
 * a known one is left untouched and its owner is told an account exists.
 */
export async function signUp(deps: FlowDeps, input: SignUpInput, client: Client): Promise<void> {
  const { store, outbox, config } = deps;
  const address = parseEmail(input.email);
  const { email, name, confirm_url: target, password } = checkFields({
    email: address,
    name: nameField(input.name),
    confirm_url: linkTargetField(input.confirm_url, config),
    password: passwordField(input.password, config, isFieldError(address) ? [input.email] : [address.display, address.canonical]),
  });
  await countMailRequest(deps, 'sign-up', email.canonical);

  // Hashed on both paths, so a known address costs what a new one does.
  const passwordHash = await hashPassword(password);
  const now = Date.now();
  await store.transaction(async (tx) => {
    const locale = isLocale(input.locale) ? input.locale : defaultLocale;
    const user = { id: randomUUID(), email: email.display, email_canonical: email.canonical, name, password_hash: passwordHash, confirmed_at: null, created_at: now, locale };
    if (await tx.insertUser(user)) {
      await issueLink(deps, tx, { purpose: 'confirm', user, target }, now);
      await recordEvent(deps, tx, { type: 'user.created', user: { ...user, disabled_at: null }, client }, now);
      return;
    }
    const existing = await tx.findUserByEmail(email.canonical);
    // A disabled account gets no mail but notices; the answer and the work are the same.
    if (existing !== undefined && existing.disabled_at === null) await outbox.enqueue(tx, { kind: 'account_exists', to: existing.email, params: { name: existing.name, locale: existing.locale } }, now);
  });
}
