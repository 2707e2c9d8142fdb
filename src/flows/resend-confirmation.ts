import type { Store } from '../store/store.ts';
import type { User } from '../store/schema.ts';
import { newToken } from '../security/tokens.ts';
import type { FlowDeps } from './deps.ts';
import { countMailRequest } from './flow-limits.ts';
import { FieldCheck, linkWithToken } from './shared.ts';

export type ResendConfirmationInput = { email: string; confirm_url?: string };

/** API.md, POST /api/resend-confirm: always 202; only an existing unconfirmed account gets a fresh link. */
export async function resendConfirmation(deps: FlowDeps, input: ResendConfirmationInput): Promise<void> {
  const check = new FieldCheck();
  const email = check.email('email', input.email);
  const confirmUrl = check.linkTarget('confirm_url', input.confirm_url, deps.config);
  check.done();
  await countMailRequest(deps, 'resend-confirm', email!.canonical);

  // As for reset requests: one read for an unknown address, one write for a known one.
  const user = await deps.store.findUserByEmail(email!.canonical);
  if (user === undefined || user.confirmed_at !== null) return deps.linkWrites.wait();
  await deps.linkWrites.measure(() => issueConfirmation(deps, deps.store, user, confirmUrl, Date.now()));
}

/** A confirm token and its mail (older confirm links stay valid), in the caller's transaction if it has one. */
export async function issueConfirmation(deps: FlowDeps, store: Store, user: Pick<User, 'id' | 'email' | 'name' | 'locale'>, confirmUrl: string | undefined, now: number): Promise<void> {
  const { token, hash } = newToken();
  const expiresAt = now + deps.config.confirmTokenTtl * 1000;
  await store.issueToken(
    { token_hash: hash, user_id: user.id, purpose: 'confirm', new_email: null, created_at: now, expires_at: expiresAt },
    [],
    deps.outbox.row({
      kind: 'confirm',
      to: user.email,
      params: { name: user.name, link: linkWithToken(deps.config, '/confirm', token, confirmUrl), expires_at: new Date(expiresAt).toISOString(), locale: user.locale },
      expiresAt,
    }, now),
  );
}
