// A link's token or its code, whichever the person has (API.md "Links and
// codes"): both name the same stored token, so spending either spends both.
import { AppError } from '../errors.ts';
import { parseEmail } from '../security/email-address.ts';
import { codeLength } from '../security/link-codes.ts';
import { hashToken } from '../security/tokens.ts';
import { codeAttemptsPerToken, giveBackCodeAttempt, takeCodeAttempt } from '../store/link-codes.ts';
import type { TokenPurpose } from '../store/schema.ts';
import type { FlowDeps } from './deps.ts';
import { checkFields } from './field-check.ts';

/** What redeems a link: its token, or the address its mail went to and its code. */
export type Redemption = { token: string } | { email: string; code: string };

const codeShape = new RegExp(`^[0-9]{${codeLength}}$`);

/** The stored hash of the token a redemption names, for the flow to spend; invalid_token when there is none. */
export async function tokenHashOf(deps: Pick<FlowDeps, 'store' | 'codeKey'>, redemption: Redemption, purposes: TokenPurpose[]): Promise<string> {
  if ('token' in redemption) {
    if (redemption.token === '') throw new AppError('invalid_token');
    return hashToken(redemption.token);
  }
  const { email } = checkFields({ email: parseEmail(redemption.email) });
  // Anything but six digits was never a code: refused without spending a try.
  const code = redemption.code.trim();
  if (!codeShape.test(code)) throw new AppError('invalid_token');
  return tokenOfCode(deps, email.canonical, code, purposes);
}

/**
 * The live token whose code `code` is, among those mailed to `address` for
 * `purposes`. Every try is counted first (store/link-codes.ts) and given back
 * when right; a token whose tries are used up by wrong ones is voided with
 * every live link of its purpose, so the next try fails even when right.
 */
async function tokenOfCode(deps: Pick<FlowDeps, 'store' | 'codeKey'>, address: string, code: string, purposes: TokenPurpose[]): Promise<string> {
  const { store, codeKey } = deps;
  const now = Date.now();
  const candidates = await takeCodeAttempt(store.db, address, purposes, now);
  const match = candidates.find((candidate) => codeKey.matches(code, candidate.code_hash));
  if (match !== undefined) {
    await giveBackCodeAttempt(store.db, match.token_hash);
    return match.token_hash;
  }
  for (const used of candidates.filter((candidate) => candidate.code_failures >= codeAttemptsPerToken)) {
    await store.voidTokens(used.user_id, [used.purpose], now);
  }
  throw new AppError('invalid_token');
}
