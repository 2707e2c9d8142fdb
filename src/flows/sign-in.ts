import { AppError, RateLimitedError } from '../errors.ts';
import { dummyHash, hashPassword, verifyPassword } from '../security/password-hash.ts';
import { normalizePassword } from '../security/password-policy.ts';
import { newToken } from '../security/tokens.ts';
import type { FlowDeps } from './deps.ts';
import { FieldCheck, isoSeconds, publicUser, type PublicUser } from './shared.ts';

export type SignInInput = { email: string; password: string };
export type SignedIn = { token: string; expires_at: string; user: PublicUser };

// No stored password is longer than this (128 code points, 4 UTF-16 units at most after NFKC).
const longestPossiblePassword = 128 * 2 * 18;

/**
 * API.md, POST /api/sessions. An unknown address and a wrong password are the
 * same 401 after the same work: an unknown address is verified against a
 * dummy hash. Only the right password learns that the account is unconfirmed.
 * Failures are counted per canonical address, account or not; past the limit
 * every attempt is refused, the right password too, until the window passes.
 */
export async function signIn(deps: FlowDeps, input: SignInInput): Promise<SignedIn> {
  const { store, config } = deps;
  const check = new FieldCheck();
  const email = check.email('email', input.email);
  check.done();
  const address = email!.canonical;
  // Counted before the password is checked, so that guesses sent in parallel
  // cannot all slip in under the limit; an attempt that proves right is given back.
  const attempt = await deps.limits.loginFailures.take(address);
  if (!attempt.allowed) throw new RateLimitedError(attempt.retryAfter);
  if (input.password.length > longestPossiblePassword) throw new AppError('invalid_credentials');

  const password = normalizePassword(input.password);
  const user = await store.findUserByEmail(address);
  const verification = await verifyPassword(user?.password_hash ?? dummyHash, password);
  if (user === undefined || !verification.ok) throw new AppError('invalid_credentials');
  await deps.limits.loginFailures.giveBack(address);
  if (user.confirmed_at === null) throw new AppError('email_not_confirmed');
  if (verification.needsRehash) await store.setPassword(user.id, await hashPassword(password));

  const now = Date.now();
  const { token, hash } = newToken();
  const expiresAt = now + config.sessionTtl * 1000;
  await store.insertSession({ token_hash: hash, user_id: user.id, created_at: now, last_used_at: now, expires_at: expiresAt });
  return { token, expires_at: isoSeconds(expiresAt), user: publicUser(user) };
}
