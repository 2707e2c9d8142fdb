// API.md, GET /api/me/events and GET /api/me/export: what happened to the
// account, and everything Latchkey holds about it but its secrets (no password
// hash, no token or token hash, no code).
import type { EventType, PublicEvent } from '../events/types.ts';
import { listEvents } from '../store/events.ts';
import type { EventRow, Session } from '../store/schema.ts';
import type { FlowDeps } from './deps.ts';
import { isoSeconds, publicUser, type PublicUser } from './public-user.ts';
import type { Authenticated } from './session.ts';

/** API.md: the events answer holds at most 100. */
export const recentEventsMax = 100;

export function publicEvent(row: EventRow): PublicEvent {
  return { id: row.id, type: row.type as EventType, at: isoSeconds(row.at), ip: row.ip, user_agent: row.user_agent, data: JSON.parse(row.data) as Record<string, unknown> };
}

/** The account's events, newest first. */
export async function recentEvents(deps: FlowDeps, userId: string, limit = recentEventsMax): Promise<PublicEvent[]> {
  return (await listEvents(deps.store.db, userId, Math.min(limit, recentEventsMax))).map(publicEvent);
}

export type AccountExport = {
  user: PublicUser & { locale: string; confirmed_at: string | null };
  sessions: Record<string, unknown>[];
  events: PublicEvent[];
};

export async function exportAccount(deps: FlowDeps, session: Authenticated): Promise<AccountExport> {
  const { user } = session;
  const [sessions, events] = await Promise.all([
    deps.store.db.selectFrom('sessions').selectAll().where('user_id', '=', user.id).orderBy('created_at', 'desc').execute(),
    listEvents(deps.store.db, user.id, Number.MAX_SAFE_INTEGER),
  ]);
  return {
    user: { ...publicUser(user), locale: user.locale, confirmed_at: user.confirmed_at === null ? null : isoSeconds(user.confirmed_at) },
    sessions: sessions.map((s) => exportedSession(s, s.token_hash === session.sessionHash)),
    events: events.map(publicEvent),
  };
}

/** A session without its token hash: what else it holds (its times, and where sessions record them, id, IP and User-Agent). */
function exportedSession(session: Session, current: boolean): Record<string, unknown> {
  const { token_hash: _secret, user_id: _user, ...kept } = session;
  return { ...kept, created_at: isoSeconds(session.created_at), last_used_at: isoSeconds(session.last_used_at), expires_at: isoSeconds(session.expires_at), current };
}
