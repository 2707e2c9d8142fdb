// API.md, Sessions: a user's list of their live sessions, and ending one of
// them or all the others. Each action is one function, so what should happen
// beside a revocation (an event, a webhook) has one place to go.
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { Session } from '../store/schema.ts';
import { recordEvent } from '../events/record.ts';
import type { Client } from './client.ts';
import type { FlowDeps } from './deps.ts';
import { isoSeconds } from './public-user.ts';
import { idleCutoff, type Authenticated } from './session.ts';

export type PublicSession = {
  id: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  current: boolean;
  ip: string | null;
  user_agent: string | null;
};

/** A session's public id: 128 random bits, unrelated to its token. */
export function newSessionId(): string {
  return randomBytes(16).toString('hex');
}

/** GET /api/sessions: the user's live sessions, newest first. */
export async function listSessions(deps: FlowDeps, session: Authenticated): Promise<PublicSession[]> {
  const now = Date.now();
  const sessions = await deps.store.listLiveSessions(session.user.id, now, idleCutoff(deps, now));
  return sessions.map((each) => publicSession(each, session.session.id));
}

/** DELETE /api/sessions/{id}: ends that session of the user at once; 404 not_found for any id that is not a live session of theirs. */
export async function revokeSession(deps: FlowDeps, session: Authenticated, id: string, client: Client): Promise<void> {
  const now = Date.now();
  await deps.store.transaction(async (tx) => {
    if (!(await tx.deleteLiveSession(session.user.id, id, now, idleCutoff(deps, now)))) throw new AppError('not_found');
    await recordEvent(deps, tx, { type: 'user.signed_out', user: session.user, client }, now);
  });
}

/** DELETE /api/sessions: ends every other session of the user; this one stays. */
export async function revokeOtherSessions(deps: FlowDeps, session: Authenticated, client: Client): Promise<void> {
  const now = Date.now();
  await deps.store.transaction(async (tx) => {
    const live = await tx.listLiveSessions(session.user.id, now, idleCutoff(deps, now));
    await tx.deleteSessions(session.user.id, session.sessionHash);
    // One event for the lot: the sessions it ended are in no answer either. None ended, nothing changed: no event.
    if (live.some((each) => each.id !== session.session.id)) await recordEvent(deps, tx, { type: 'user.signed_out', user: session.user, client }, now);
  });
}

function publicSession(session: Session, currentId: string): PublicSession {
  return {
    id: session.id,
    created_at: isoSeconds(session.created_at),
    // A use is recorded at most once a minute (session.ts); the time is as precise as that.
    last_used_at: isoSeconds(session.last_used_at),
    expires_at: isoSeconds(session.expires_at),
    current: session.id === currentId,
    ip: session.ip,
    user_agent: session.user_agent,
  };
}
