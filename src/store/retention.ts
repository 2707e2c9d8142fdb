// The deletes behind RETENTION_DAYS. Each runs in batches of its own short
// statement, so a first prune of a table that grew for years never holds its
// locks (or SQLite's one writer) for longer than one batch.
import type { Kysely } from 'kysely';
import { deleteEventsBefore } from './events.ts';
import type { Database } from './schema.ts';

export type PruneCutoffs = {
  /** Rows that ended before this (ms since the epoch) are deleted. */
  endedBefore: number;
  /** SESSION_IDLE_TTL in ms: a session also ends this long after its last use. */
  sessionIdleMs: number;
  /** Events that happened before this are deleted (EVENT_RETENTION_DAYS). */
  eventsBefore: number;
};

export type PruneReport = { outbox: number; tokens: number; sessions: number; events: number };

export type PruneOptions = {
  batchSize?: number;
  /** Checked between batches: a stopping server does not wait for a long first prune. */
  signal?: AbortSignal;
};

export async function pruneEnded(db: Kysely<Database>, cutoffs: PruneCutoffs, options: PruneOptions = {}): Promise<PruneReport> {
  const limit = options.batchSize ?? 1000;
  const run = async (batch: () => Promise<number>): Promise<number> => {
    let total = 0;
    for (;;) {
      if (options.signal?.aborted === true) return total;
      const deleted = await batch();
      total += deleted;
      if (deleted < limit) return total;
      // Let other writers in between batches (SQLite has one writer).
      await new Promise(setImmediate);
    }
  };
  return {
    outbox: await run(() => deleteEndedMail(db, cutoffs.endedBefore, limit)),
    tokens: await run(() => deleteDeadTokens(db, cutoffs.endedBefore, limit)),
    sessions: await run(() => deleteEndedSessions(db, cutoffs, limit)),
    events: await run(() => deleteEventsBefore(db, cutoffs.eventsBefore, limit)),
  };
}

/**
 * Sent mail by its sent_at; failed mail by the time it failed (kept in
 * next_attempt_at: OutboxQueue.markFailed). A sent row was sent after it was
 * due, so `next_attempt_at < cutoff` holds for every row this deletes and lets
 * the (status, next_attempt_at) index find them. Pending mail is never
 * deleted, however old.
 */
async function deleteEndedMail(db: Kysely<Database>, before: number, limit: number): Promise<number> {
  const ended = db.selectFrom('outbox').select('id')
    .where('status', 'in', ['sent', 'failed'])
    .where('next_attempt_at', '<', before)
    .where((eb) => eb.or([eb('status', '=', 'failed'), eb('sent_at', '<', before)]))
    .limit(limit);
  const result = await db.deleteFrom('outbox').where('id', 'in', ended).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** A token is dead from its spending (or voiding) or its expiry, whichever came first. */
async function deleteDeadTokens(db: Kysely<Database>, before: number, limit: number): Promise<number> {
  const dead = db.selectFrom('tokens').select('token_hash')
    .where((eb) => eb.or([eb('spent_at', '<', before), eb('expires_at', '<', before)]))
    .limit(limit);
  const result = await db.deleteFrom('tokens').where('token_hash', 'in', dead).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * A session ends at its expiry (SESSION_TTL) or SESSION_IDLE_TTL after its
 * last use, whichever comes first; one ended under today's settings can never
 * be used again. Logged-out sessions are deleted when they end.
 */
async function deleteEndedSessions(db: Kysely<Database>, cutoffs: PruneCutoffs, limit: number): Promise<number> {
  const ended = db.selectFrom('sessions').select('token_hash')
    .where((eb) => eb.or([eb('expires_at', '<', cutoffs.endedBefore), eb('last_used_at', '<', cutoffs.endedBefore - cutoffs.sessionIdleMs)]))
    .limit(limit);
  const result = await db.deleteFrom('sessions').where('token_hash', 'in', ended).executeTakeFirst();
  return Number(result.numDeletedRows);
}
