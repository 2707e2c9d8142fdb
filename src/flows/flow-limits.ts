// The limits of API.md "Rate limits" that only a flow can apply, because they
// depend on what the flow learns: whether a request passed validation, and
// whether a typed password was right. The per-client limits stay in the HTTP layer.
import { AppError, RateLimitedError } from '../errors.ts';
import { dummyHash, verifyPassword, type Verification } from '../security/password-hash.ts';
import type { User } from '../store/schema.ts';
import type { FlowDeps } from './deps.ts';
import { learnImportedHashTime } from './legacy-timing.ts';

/** The mail-sending actions, each with a count of its own per address. */
export type MailAction = 'sign-up' | 'resend-confirm' | 'reset-password-request' | 'update-email' | 'login-link';

/**
 * One request of a mail-sending action for a canonical address, counted once
 * it has passed validation: a refused form (422) costs its sender nothing, and
 * an address with an account reaches the limit at the same count as one without.
 */
export async function countMailRequest(deps: FlowDeps, action: MailAction, canonicalAddress: string): Promise<void> {
  const verdict = await deps.limits.mailPerAddress.take(`${action} ${canonicalAddress}`);
  if (!verdict.allowed) throw new RateLimitedError(verdict.retryAfter);
}

// No stored password is longer than this (128 code points, 4 UTF-16 units at most after NFKC).
const longestPossiblePassword = 128 * 2 * 18;

/**
 * A password typed for an account (at log-in, or the current one before a
 * change), verified against its hash — the dummy hash when the address has
 * no account, so that costs the same. A wrong one is a failed log-in of the
 * canonical address: taken before verifying, so guesses sent in parallel
 * cannot all slip under the limit, and given back when right, or when no
 * verification happened (hashing saturated). Past the limit every attempt is
 * refused, the right password too. Wrong: 401 invalid_credentials.
 */
export async function verifyPasswordAttempt<T extends Pick<User, 'password_hash'>>(deps: FlowDeps, canonicalAddress: string, account: T | undefined, typed: string): Promise<{ account: T; needsRehash: boolean }> {
  const failures = deps.limits.loginFailures;
  const attempt = await failures.take(canonicalAddress);
  if (!attempt.allowed) throw new RateLimitedError(attempt.retryAfter);
  if (typed.length > longestPossiblePassword) throw new AppError('invalid_credentials');
  let verification: Verification;
  try {
    await learnImportedHashTime(deps.store);
    verification = await verifyPassword(account?.password_hash ?? dummyHash, typed);
  } catch (error) {
    await failures.giveBack(canonicalAddress);
    throw error;
  }
  if (account === undefined || !verification.ok) throw new AppError('invalid_credentials');
  await failures.giveBack(canonicalAddress);
  return { account, needsRehash: verification.needsRehash };
}

/** The signed-in user's current password, asked again before a change. */
export async function checkCurrentPassword(deps: FlowDeps, user: Pick<User, 'email_canonical' | 'password_hash'>, typed: string): Promise<void> {
  await verifyPasswordAttempt(deps, user.email_canonical, user, typed);
}
