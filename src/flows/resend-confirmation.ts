import type { Store } from '../store/store.ts';
import type { User } from '../store/schema.ts';
import { newToken } from '../security/tokens.ts';
import type { FlowDeps } from './deps.ts';
import { FieldCheck, linkWithToken } from './shared.ts';

export type ResendConfirmationInput = { email: string; confirm_url?: string };

/** API.md, POST /api/resend-confirm: always 202; only an existing unconfirmed account gets a fresh link. */
export async function resendConfirmation(deps: FlowDeps, input: ResendConfirmationInput): Promise<void> {
  const check = new FieldCheck();
  const email = check.email('email', input.email);
  const confirmUrl = check.linkTarget('confirm_url', input.confirm_url, deps.config);
  check.done();

  const now = Date.now();
  await deps.store.transaction(async (tx) => {
    const user = await tx.findUserByEmail(email!.canonical);
    if (user !== undefined && user.confirmed_at === null) await issueConfirmation(deps, tx, user, confirmUrl, now);
  });
  deps.outbox.wake();
}

/** A confirm token and its mail, in the caller's transaction. */
export async function issueConfirmation(deps: FlowDeps, tx: Store, user: Pick<User, 'id' | 'email' | 'name' | 'locale'>, confirmUrl: string | undefined, now: number): Promise<void> {
  const { token, hash } = newToken();
  const expiresAt = now + deps.config.confirmTokenTtl * 1000;
  await tx.insertToken({ token_hash: hash, user_id: user.id, purpose: 'confirm', new_email: null, created_at: now, expires_at: expiresAt });
  await deps.outbox.enqueue(tx, {
    kind: 'confirm',
    to: user.email,
    params: { name: user.name, link: linkWithToken(deps.config, '/confirm', token, confirmUrl), expires_at: new Date(expiresAt).toISOString(), locale: user.locale },
    expiresAt,
  }, now);
}
