import { AppError } from '../errors.ts';
import { hashPassword } from '../security/password-hash.ts';
import { normalizePassword } from '../security/password-policy.ts';
import { newToken } from '../security/tokens.ts';
import { parseEmail } from '../security/email-address.ts';
import { recordEvent } from '../events/record.ts';
import type { Client } from './client.ts';
import type { FlowDeps } from './deps.ts';
import { checkFields } from './field-check.ts';
import { verifyPasswordAttempt } from './flow-limits.ts';
import { isoSeconds, publicUser, type PublicUser } from './public-user.ts';
import { newSessionId } from './sessions.ts';

export type SignInInput = { email: string; password: string };
export type SignedIn = { token: string; expires_at: string; user: PublicUser };

/**
 * API.md, POST /api/sessions. An unknown address and a wrong password are the
 * same 401 after the same work: an unknown address is verified against a
 * dummy hash. Only the right password learns that the account is unconfirmed.
 * Failures are counted per canonical address, account or not; past the limit
 * every attempt is refused, the right password too, until the window passes.
 * The session records the client's IP and User-Agent (GET /api/sessions).
 */
export async function signIn(deps: FlowDeps, input: SignInInput, client: Client): Promise<SignedIn> {
  const { store, config } = deps;
  const { email } = checkFields({ email: parseEmail(input.email) });
  const found = await store.findUserByEmail(email.canonical);
  const { account: user, needsRehash } = await verifyPasswordAttempt(deps, email.canonical, found, input.password);
  // Only the right password learns that an operator disabled the account.
  if (user.disabled_at !== null) throw new AppError('account_disabled');
  if (user.confirmed_at === null) throw new AppError('email_not_confirmed');
  if (needsRehash) await store.setPassword(user.id, await hashPassword(normalizePassword(input.password)));

  const now = Date.now();
  const { token, hash } = newToken();
  const expiresAt = now + config.sessionTtl * 1000;
  await store.transaction(async (tx) => {
    await tx.insertSession({
      token_hash: hash, user_id: user.id, created_at: now, last_used_at: now, expires_at: expiresAt,
      id: newSessionId(), ip: client.ip, user_agent: client.userAgent,
    });
    await recordEvent(deps, tx, { type: 'user.signed_in', user, client, data: { method: 'password' } }, now);
  });
  return { token, expires_at: isoSeconds(expiresAt), user: publicUser(user) };
}
