import { randomUUID } from 'node:crypto';
import { defaultLocale, isLocale } from '../locale.ts';
import { hashPassword } from '../security/password-hash.ts';
import type { FlowDeps } from './deps.ts';
import { countMailRequest } from './flow-limits.ts';
import { issueConfirmation } from './resend-confirmation.ts';
import { FieldCheck } from './shared.ts';

/** `locale`: the language the account's mail is written in; an unsupported one is English. */
export type SignUpInput = { email: string; password: string; name?: string; confirm_url?: string; locale?: string };

/**
 * API.md, POST /api/users: the same answer whether or not the address has an
 * account. A new address gets an unconfirmed account and a confirmation link;
 * a known one is left untouched and its owner is told an account exists.
 */
export async function signUp(deps: FlowDeps, input: SignUpInput): Promise<void> {
  const { store, outbox, config } = deps;
  const check = new FieldCheck();
  const email = check.email('email', input.email);
  const name = check.name('name', input.name);
  const confirmUrl = check.linkTarget('confirm_url', input.confirm_url, config);
  const password = check.password('password', input.password, config, email ? [email.display, email.canonical] : [input.email]);
  check.done();
  await countMailRequest(deps, 'sign-up', email!.canonical);

  // Hashed on both paths, so a known address costs what a new one does.
  const passwordHash = await hashPassword(password!);
  const now = Date.now();
  await store.transaction(async (tx) => {
    const locale = isLocale(input.locale) ? input.locale : defaultLocale;
    const user = { id: randomUUID(), email: email!.display, email_canonical: email!.canonical, name, password_hash: passwordHash, confirmed_at: null, created_at: now, locale };
    if (await tx.insertUser(user)) {
      await issueConfirmation(deps, tx, user, confirmUrl, now);
      return;
    }
    const existing = await tx.findUserByEmail(email!.canonical);
    if (existing !== undefined) await outbox.enqueue(tx, { kind: 'account_exists', to: existing.email, params: { name: existing.name, locale: existing.locale } }, now);
  });
}
