import { newToken } from '../security/tokens.ts';
import type { FlowDeps } from './deps.ts';
import { countMailRequest } from './flow-limits.ts';
import { FieldCheck, linkWithToken } from './shared.ts';

export type RequestPasswordResetInput = { email: string; reset_url?: string };

/**
 * API.md, POST /api/reset-password-request: always 202 for a well-formed
 * address. An account (confirmed or not) gets a reset link, and the new link
 * voids the older ones.
 */
export async function requestPasswordReset(deps: FlowDeps, input: RequestPasswordResetInput): Promise<void> {
  const { store, outbox, config } = deps;
  const check = new FieldCheck();
  const email = check.email('email', input.email);
  const resetUrl = check.linkTarget('reset_url', input.reset_url, config);
  check.done();
  await countMailRequest(deps, 'reset-password-request', email!.canonical);

  // Looked up outside any transaction: an unknown address costs one read, and
  // a known one a single write of token and mail together (Store.issueToken).
  const user = await store.findUserByEmail(email!.canonical);
  if (user === undefined) return deps.linkWrites.wait();
  const now = Date.now();
  const { token, hash } = newToken();
  const expiresAt = now + config.resetTokenTtl * 1000;
  await deps.linkWrites.measure(() => store.issueToken(
    { token_hash: hash, user_id: user.id, purpose: 'reset', new_email: null, created_at: now, expires_at: expiresAt },
    ['reset'],
    outbox.row({
      kind: 'reset_password',
      to: user.email,
      params: { name: user.name, link: linkWithToken(config, '/reset-password', token, resetUrl), expires_at: new Date(expiresAt).toISOString(), locale: user.locale },
      expiresAt,
    }, now),
  ));
}
