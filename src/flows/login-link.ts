import { AppError } from '../errors.ts';
import { recordEvent } from '../events/record.ts';
import { parseEmail } from '../security/email-address.ts';
import { dummyHash } from '../security/password-hash.ts';
import { newToken } from '../security/tokens.ts';
import { assertEnabled, isEnabled } from './account-enabled.ts';
import type { Client } from './client.ts';
import type { FlowDeps } from './deps.ts';
import { checkFields, linkTargetField } from './field-check.ts';
import { issueLinkByAddress } from './issue-link.ts';
import { tokenHashOf, type Redemption } from './link-code.ts';
import { isoSeconds, publicUser } from './public-user.ts';
import { newSessionId } from './sessions.ts';
import type { SignedIn } from './sign-in.ts';

export type LoginLinkInput = { email: string; login_url?: string };

/**
 * API.md, POST /api/login-links: always 202 for a well-formed address, in about
 * the same time. An enabled account, confirmed or not, gets a log-in link and
 * code (the newer voids the older); an unknown address gets nothing.
 */
export async function requestLoginLink(deps: FlowDeps, input: LoginLinkInput): Promise<void> {
  const { email, login_url: target } = checkFields({ email: parseEmail(input.email), login_url: linkTargetField(input.login_url, deps.config) });
  await issueLinkByAddress(deps, 'login-link', email, { purpose: 'login', target, wanted: isEnabled });
}

/**
 * API.md, POST /api/sessions with `token` or `email` and `code`: spends the
 * log-in link and starts a session. The mailbox is proven, so an unconfirmed
 * account becomes confirmed. No password is involved, so the failed log-ins of
 * the address neither count nor block it: a throttled account can still sign in so.
 * The session records the client's IP and User-Agent, as a password log-in's does.
 * An unconfirmed account's password, chosen before anyone proved the mailbox,
 * stops working: the owner sets one by a reset.
 */
export async function signInWithLink(deps: FlowDeps, redemption: Redemption, client: Client): Promise<SignedIn> {
  const tokenHash = await tokenHashOf(deps, redemption, ['login']);
  const now = Date.now();
  const { token, hash } = newToken();
  const expiresAt = now + deps.config.sessionTtl * 1000;
  const user = await deps.store.transaction(async (tx) => {
    // The conditional UPDATE decides between concurrent redemptions.
    const spent = await tx.spendToken(tokenHash, ['login'], now);
    const found = spent && (await tx.findUserById(spent.user_id));
    if (found === undefined) throw new AppError('invalid_token');
    assertEnabled(found);
    // Whoever signed up with this address chose the password, and nobody proved
    // the mailbox then: it may be an attacker's, waiting for the owner to bring
    // the account to life (pre-hijacking). It dies here; a reset sets a new one.
    if (found.confirmed_at === null) await tx.setPassword(found.id, dummyHash);
    await tx.confirmUser(found.id, now);
    await tx.insertSession({
      token_hash: hash, user_id: found.id, created_at: now, last_used_at: now, expires_at: expiresAt,
      id: newSessionId(), ip: client.ip, user_agent: client.userAgent,
    });
    const user = found.confirmed_at === null ? { ...found, password_hash: dummyHash, confirmed_at: now } : found;
    if (found.confirmed_at === null) await recordEvent(deps, tx, { type: 'user.confirmed', user, client }, now);
    await recordEvent(deps, tx, { type: 'user.signed_in', user, client, data: { method: 'token' in redemption ? 'link' : 'code' } }, now);
    return user;
  });
  return { token, expires_at: isoSeconds(expiresAt), user: publicUser(user) };
}
