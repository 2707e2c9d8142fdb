import { AppError } from '../errors.ts';
import { hashToken } from '../security/tokens.ts';
import type { Session, User } from '../store/schema.ts';
import { recordEvent } from '../events/record.ts';
import type { Client } from './client.ts';
import type { FlowDeps } from './deps.ts';

export type Authenticated = { user: User; sessionHash: string; session: Session };

// Recording every use would turn each read into a write, so a use is
// recorded only once a tenth of the idle window (at most a minute) has passed:
// a session can end at most that much early.
function touchEveryMs(idleTtlSeconds: number): number {
  return Math.min(60_000, idleTtlSeconds * 100);
}

/** The user behind a bearer token, or 401: unknown, logged out, idle too long or past its lifetime. */
export async function authenticate(deps: FlowDeps, token: string | undefined): Promise<Authenticated> {
  if (token === undefined || token === '') throw new AppError('unauthenticated');
  const now = Date.now();
  const sessionHash = hashToken(token);
  const found = await deps.store.findSessionWithUser(sessionHash);
  if (found === undefined || !isLive(deps, found.session, now)) throw new AppError('unauthenticated');
  const { session, user } = found;
  // Disabling ends every session; this refuses one that a race let through.
  if (user.disabled_at !== null) throw new AppError('unauthenticated');
  if (now - session.last_used_at >= touchEveryMs(deps.config.sessionIdleTtl)) await deps.store.touchSession(sessionHash, now);
  return { user, sessionHash, session };
}

/** Unexpired and used within SESSION_IDLE_TTL. */
function isLive(deps: FlowDeps, session: Session, now: number): boolean {
  return session.expires_at > now && session.last_used_at > idleCutoff(deps, now);
}

/** A session last used at or before this moment has ended for idleness. */
export function idleCutoff(deps: FlowDeps, now: number): number {
  return now - deps.config.sessionIdleTtl * 1000;
}

/** API.md, DELETE /api/sessions/current: the token stops working at once. */
export async function signOut(deps: FlowDeps, session: Authenticated, client: Client): Promise<void> {
  await deps.store.transaction(async (tx) => {
    await tx.deleteSession(session.sessionHash);
    await recordEvent(deps, tx, { type: 'user.signed_out', user: session.user, client });
  });
}
