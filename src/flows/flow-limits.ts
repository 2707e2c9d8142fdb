// The limits of API.md "Rate limits" that only a flow can apply, because they
// depend on what the flow learns: whether a request passed validation, and
// whether a typed password was right. The per-client limits stay in the HTTP layer.
import { AppError, RateLimitedError } from '../errors.ts';
import { verifyPassword } from '../security/password-hash.ts';
import { normalizePassword } from '../security/password-policy.ts';
import type { User } from '../store/schema.ts';
import type { FlowDeps } from './deps.ts';

/** The mail-sending actions, each with a count of its own per address. */
export type MailAction = 'sign-up' | 'resend-confirm' | 'reset-password-request' | 'update-email';

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
 * The signed-in user's current password, asked again before a change. A wrong
 * one is a failed log-in of the account (counted per canonical address, as
 * sign-in does): taken before verifying, so guesses sent in parallel cannot all
 * slip under the limit, and given back when right, or when no verification
 * happened (hashing saturated). Past the limit every attempt is refused.
 */
export async function checkCurrentPassword(deps: FlowDeps, user: Pick<User, 'email_canonical' | 'password_hash'>, typed: string): Promise<void> {
  const failures = deps.limits.loginFailures;
  const attempt = await failures.take(user.email_canonical);
  if (!attempt.allowed) throw new RateLimitedError(attempt.retryAfter);
  if (typed.length > longestPossiblePassword) throw new AppError('invalid_credentials');
  let right: boolean;
  try {
    right = (await verifyPassword(user.password_hash, normalizePassword(typed))).ok;
  } catch (error) {
    await failures.giveBack(user.email_canonical);
    throw error;
  }
  if (!right) throw new AppError('invalid_credentials');
  await failures.giveBack(user.email_canonical);
}
