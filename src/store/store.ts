// The store: a database opened by its dialect (sqlite.ts, postgres.ts), the
// flows' queries (repository.ts), and what spans them: transactions (group
// commit on SQLite), hooks run after a commit, migrations and pruning.
import { sql, type Kysely, type Transaction } from 'kysely';
import { Migrator } from 'kysely/migration';
import type { DatabaseConfig } from '../config.ts';
import { BatchedLookups } from './batched-lookups.ts';
import { notifySelection, type OpenedDatabase } from './dialect.ts';
import { IssueBatch, writeLinks } from './issue-batch.ts';
import * as initial from './migrations/0001-initial.ts';
import * as userLocale from './migrations/0002-user-locale.ts';
import * as liveTokensIndex from './migrations/0003-live-tokens-index.ts';
import * as sessionDetails from './migrations/0004-session-details.ts';
import * as linkCodes from './migrations/0005-link-codes.ts';
import * as userDisabled from './migrations/0006-user-disabled.ts';
import * as events from './migrations/0007-events.ts';
import { openPostgres } from './postgres.ts';
import { findUsersByEmail, Repository, type StoreContext } from './repository.ts';
import { pruneEnded, type PruneCutoffs, type PruneOptions, type PruneReport } from './retention.ts';
import type { Database } from './schema.ts';
import { SessionLookups } from './session-lookups.ts';
import { openSqlite } from './sqlite.ts';

export type { Capabilities } from './dialect.ts';

const migrations = {
  '0001-initial': initial, '0002-user-locale': userLocale, '0003-live-tokens-index': liveTokensIndex, '0004-session-details': sessionDetails,
  '0005-link-codes': linkCodes, '0006-user-disabled': userDisabled, '0007-events': events,
};

export function openStore(config: DatabaseConfig): Store {
  return Store.open(config.kind === 'sqlite' ? openSqlite(config.path) : openPostgres(config.url));
}

type Batched = { fn: (tx: Store) => Promise<unknown>; resolve: (value: unknown) => void; reject: (error: unknown) => void };
type Outcome = { ok: true; value: unknown; afterCommit: (() => void)[] } | { ok: false; error: unknown };

/** What the root store and all its transactions share: the batch waiting for its group commit, who hears of committed mail, the merged session look-ups. */
type Shared = StoreContext & { batch: Batched[]; mailListeners: Set<() => void> };

export class Store extends Repository {
  readonly #shared: Shared;

  static open(opened: OpenedDatabase): Store {
    const { db, capabilities } = opened;
    const mailListeners = new Set<() => void>();
    const shared: Shared = {
      capabilities,
      batch: [],
      mailListeners,
      announceMail: () => { for (const listener of mailListeners) listener(); },
      sessionLookups: new SessionLookups(db),
      usersByEmail: new BatchedLookups({ load: (canonicals) => findUsersByEmail(db, canonicals), keyOf: (user) => user.email_canonical }),
      // Where a link is one statement, links issued side by side share one (SQLite's group commit does as much).
      ...(capabilities.writingCtes ? { issueBatch: new IssueBatch({ write: (links) => writeLinks(db, links, notifySelection(capabilities.announcer)) }) } : {}),
    };
    return new Store(db, shared);
  }

  private constructor(db: Kysely<Database>, shared: Shared, afterCommit?: (() => void)[]) {
    super(db, shared, afterCommit);
    this.#shared = shared;
  }

  /** Calls `listener` after each commit that wrote mail; returns its remover. */
  onMailCommitted(listener: () => void): () => void {
    this.#shared.mailListeners.add(listener);
    return () => this.#shared.mailListeners.delete(listener);
  }

  transaction<T>(fn: (tx: this) => Promise<T>): Promise<T> {
    const run = fn as (tx: Store) => Promise<T>;
    if (this.db.isTransaction) return run(this);
    if (!this.capabilities.groupCommit) return this.#transaction(run);
    return new Promise<T>((resolve, reject) => {
      // Everything asked for in this turn of the event loop commits together at its end.
      if (this.#shared.batch.push({ fn: run, resolve: resolve as (value: unknown) => void, reject }) === 1) setImmediate(() => this.#commitBatch());
    });
  }

  async #transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    const afterCommit: (() => void)[] = [];
    const result = await this.db.transaction().execute((trx: Transaction<Database>) => fn(new Store(trx, this.#shared, afterCommit)));
    for (const hook of afterCommit) hook();
    return result;
  }

  /**
   * Group commit: SQLite writes through one connection, so concurrent
   * transactions wait in line anyway, and each COMMIT costs far more than the
   * few statements before it (a WAL append, and every ~1,000 pages a
   * checkpoint with fsync). The batch runs each transaction in its own
   * savepoint, so one that fails is undone alone, and settles every caller only
   * after the one COMMIT: nobody is answered before their write is durable.
   */
  async #commitBatch(): Promise<void> {
    const batch = this.#shared.batch.splice(0);
    const outcomes: Outcome[] = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const { fn } of batch) {
          const afterCommit: (() => void)[] = [];
          await sql`savepoint batched`.execute(trx);
          try {
            outcomes.push({ ok: true, value: await fn(new Store(trx, this.#shared, afterCommit)), afterCommit });
          } catch (error) {
            await sql`rollback to batched`.execute(trx);
            outcomes.push({ ok: false, error });
          }
          await sql`release batched`.execute(trx);
        }
      });
    } catch (error) {
      for (const { reject } of batch) reject(error);
      return;
    }
    const hooks = new Set(outcomes.flatMap((outcome) => (outcome.ok ? outcome.afterCommit : [])));
    for (const hook of hooks) hook();
    batch.forEach(({ resolve, reject }, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) resolve(outcome.value);
      else reject(outcome.error);
    });
  }

  async migrate(): Promise<string[]> {
    const migrator = new Migrator({
      db: this.db,
      provider: { getMigrations: async () => migrations },
    });
    const { error, results = [] } = await migrator.migrateToLatest();
    if (error !== undefined) throw error;
    return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  close(): Promise<void> {
    this.capabilities.announcer?.stop();
    return this.db.destroy();
  }

  /**
   * Deletes what ended before the cutoffs (src/store/retention.ts), in
   * batches. One instance at a time where the database can tell: undefined
   * when another one is pruning now.
   */
  prune(cutoffs: PruneCutoffs, options?: PruneOptions): Promise<PruneReport | undefined> {
    return this.#exclusively('latchkey.prune', (db) => pruneEnded(db, cutoffs, options));
  }

  /** Runs fn unless another instance holds the lock `name`; undefined when one does. */
  async #exclusively<T>(name: string, fn: (db: Kysely<Database>) => Promise<T>): Promise<T | undefined> {
    if (!this.capabilities.advisoryLocks) return fn(this.db);
    // A session-level lock belongs to one connection: take it, work and give it back on that one.
    // Should the connection die, PostgreSQL releases the lock with it.
    return this.db.connection().execute(async (db) => {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(hashtextextended(${name}, 0)) as locked`.execute(db);
      if (rows[0]?.locked !== true) return undefined;
      try {
        return await fn(db);
      } finally {
        await sql`select pg_advisory_unlock(hashtextextended(${name}, 0))`.execute(db);
      }
    });
  }
}
