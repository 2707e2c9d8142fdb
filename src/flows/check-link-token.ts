import { AppError } from '../errors.ts';
import { hashToken } from '../security/tokens.ts';
import type { TokenPurpose } from '../store/schema.ts';
import type { FlowDeps } from './deps.ts';

/**
 * API.md, "Tokens": opening a link never spends its token (mail scanners
 * follow links too), yet the page says at once whether the link still works.
 * Returns the token when it is live for `purpose`; an unknown, expired, spent
 * or other-purpose token is invalid_token, the same for all.
 */
export async function checkLinkToken(deps: Pick<FlowDeps, 'store'>, token: string | undefined, purposes: TokenPurpose[]): Promise<string> {
  if (token === undefined || token === '') throw new AppError('invalid_token');
  const live = await deps.store.findLiveToken(hashToken(token), purposes, Date.now());
  // A disabled account's links are void, as its mail is.
  if (live === undefined || (await deps.store.findUserById(live.user_id))?.disabled_at !== null) throw new AppError('invalid_token');
  return token;
}
