// What a database gives the store once opened: a Kysely instance and what it
// can do. sqlite.ts and postgres.ts each open one; the differences between them
// are these flags, never `if (sqlite)` branches in the queries.
import { sql, type AliasedRawBuilder, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

export type Capabilities = {
  /** SELECT … FOR UPDATE SKIP LOCKED: several workers can claim rows side by side. */
  rowLocks: boolean;
  /**
   * Wakes workers in other processes when mail is committed (PostgreSQL
   * LISTEN/NOTIFY). Without it, other processes find new mail by polling.
   */
  listen?: (onNotify: () => void) => Promise<() => Promise<void>>;
  /** INSERT and UPDATE inside WITH (PostgreSQL): a write to several tables in one statement, one round trip. */
  writingCtes: boolean;
  /** Decides which writes of mail carry a NOTIFY (PostgreSQL; postgres.ts). */
  announcer?: Announcer;
  /**
   * One connection does every write (SQLite): transactions asked for at the
   * same time are run one after another inside a single BEGIN … COMMIT.
   */
  groupCommit: boolean;
  /**
   * pg_try_advisory_lock: a periodic job (pruning) runs on one instance at a
   * time. Without it (SQLite, one instance) such jobs simply run; their
   * deletes are idempotent.
   */
  advisoryLocks: boolean;
};

/** Tells workers in other processes about new mail (PostgreSQL NOTIFY). */
export type Announcer = {
  /** True when the write about to commit should carry the notification itself (notifySelection). */
  claim(): boolean;
  /** The SQL function call that notifies, selected beside a write of mail. */
  readonly notifyCall: string;
  /** Sends one at once (messages given back by a stopping worker). */
  now(): Promise<void>;
  stop(): void;
};

/**
 * Selected beside a write of mail, it wakes LISTENing workers in other
 * processes in the same round trip; PostgreSQL delivers it at commit, never
 * before. Most writes under load leave it to the announcer's next one.
 */
export function notifySelection(announcer: Announcer | undefined): AliasedRawBuilder<unknown, 'notified'> {
  return announcer?.claim() === true ? sql`${sql.raw(announcer.notifyCall)}`.as('notified') : sql`null`.as('notified');
}

export type OpenedDatabase = { db: Kysely<Database>; capabilities: Capabilities };
