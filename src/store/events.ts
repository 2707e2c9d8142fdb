// The events table's queries (API.md, Events and webhooks). Writes run in the
// flow's transaction (src/events/record.ts); reads serve the account's
// activity and export; deletes serve account deletion and EVENT_RETENTION_DAYS.
import type { Kysely } from 'kysely';
import type { Database, EventRow } from './schema.ts';

export async function insertEvent(db: Kysely<Database>, event: EventRow): Promise<void> {
  await db.insertInto('events').values(event).execute();
}

/** The account's events, newest first. */
export function listEvents(db: Kysely<Database>, userId: string, limit: number): Promise<EventRow[]> {
  return db.selectFrom('events').selectAll().where('user_id', '=', userId)
    .orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

/** An account's deletion takes its history with it (after announcing `user.deleted`). */
export async function deleteEventsOf(db: Kysely<Database>, userId: string): Promise<void> {
  await db.deleteFrom('events').where('user_id', '=', userId).execute();
}

/** One batch of events older than `before`; returns how many it deleted. */
export async function deleteEventsBefore(db: Kysely<Database>, before: number, limit: number): Promise<number> {
  const old = db.selectFrom('events').select('id').where('at', '<', before).limit(limit);
  const result = await db.deleteFrom('events').where('id', 'in', old).executeTakeFirst();
  return Number(result.numDeletedRows);
}
