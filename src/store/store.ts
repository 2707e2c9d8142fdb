// Persistence for both databases: one Kysely store, the differences kept to
// the connection (below) and one capability flag (row locks).
import { Kysely, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import type { DatabaseConfig } from '../config.ts';
import * as initial from './migrations/0001-initial.ts';
import * as userLocale from './migrations/0002-user-locale.ts';
import * as liveTokensIndex from './migrations/0003-live-tokens-index.ts';
import { pruneEnded, type PruneCutoffs, type PruneOptions, type PruneReport } from './retention.ts';
import type { Database, NewOutboxRow, NewToken, NewUser, OutboxRow, OutboxStatus, Session, Token, TokenPurpose, User } from './schema.ts';
import { openSqlite } from './sqlite.ts';

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
  /** Decides which writes of mail carry a NOTIFY (PostgreSQL). */
  announcer?: OutboxAnnouncer;
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

const outboxChannel = 'latchkey_outbox';

export type OutboxStats = {
  pending: number;
  /** Pending and due now: what the workers have not caught up with. */
  due: number;
  failed: number;
  /** Age of the oldest due message in seconds; 0 when none is due. */
  oldestDueSeconds: number;
};

const migrations = { '0001-initial': initial, '0002-user-locale': userLocale, '0003-live-tokens-index': liveTokensIndex };

export function openStore(config: DatabaseConfig): Store {
  if (config.kind === 'sqlite') {
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: openSqlite(config.path) }) });
    return new Store(db, { rowLocks: false, writingCtes: false, groupCommit: true, advisoryLocks: false });
  }
  const pool = new pg.Pool({
    Client: PreparingClient,
    connectionString: config.url,
    max: 10,
    // BIGINT columns hold millisecond times, well inside a double's exact range.
    types: { getTypeParser: (oid, format) => (oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) },
  });
  // An idle client that loses its connection must not crash the process.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return new Store(db, {
    rowLocks: true,
    writingCtes: true,
    groupCommit: false,
    advisoryLocks: true,
    listen: (onNotify) => listenPostgres(config.url, onNotify),
    announcer: new OutboxAnnouncer(() => sql`select pg_notify(${outboxChannel}, '')`.execute(db)),
  });
}

/**
 * Sends the outbox NOTIFY at most once per `intervalMs`: each one costs
 * PostgreSQL a signal to every listener at commit and each listener a wake-up
 * (issue 6: a NOTIFY per message took 15–20% of the reset rate). A write of
 * mail inside the interval carries none; one NOTIFY at the interval's end
 * covers it, so a worker elsewhere learns of every message within `intervalMs`.
 */
export class OutboxAnnouncer {
  #lastAt = -Infinity;
  #trailing: NodeJS.Timeout | undefined;
  readonly #notify: () => Promise<unknown>;
  readonly #intervalMs: number;

  constructor(notify: () => Promise<unknown>, intervalMs = 20) {
    this.#notify = notify;
    this.#intervalMs = intervalMs;
  }

  /** True when the write about to commit should carry the NOTIFY itself. */
  claim(): boolean {
    const now = performance.now();
    const since = now - this.#lastAt;
    if (since >= this.#intervalMs) {
      this.#lastAt = now;
      return true;
    }
    this.#trailing ??= setTimeout(() => {
      this.#trailing = undefined;
      this.#lastAt = performance.now();
      this.#notify().catch(() => { /* workers elsewhere still poll */ });
    }, this.#intervalMs - since);
    return false;
  }

  /** Sends one at once (messages given back by a stopping worker). */
  async now(): Promise<void> {
    this.#lastAt = performance.now();
    await this.#notify();
  }

  stop(): void {
    clearTimeout(this.#trailing);
    this.#trailing = undefined;
  }
}

/**
 * Runs every parameterised query as a named prepared statement, so each
 * connection parses and plans a query shape once instead of on every call
 * (the SQL Kysely generates comes from a small, fixed set of shapes; issue 6
 * measured +18% reset requests a second).
 */
class PreparingClient extends pg.Client {
  override query(...args: unknown[]): never {
    const [text, values] = args;
    if (typeof text !== 'string' || !Array.isArray(values) || args.length !== 2) return (super.query as (...a: unknown[]) => never)(...args);
    const run = () => super.query({ name: statementName(text), text, values }) as Promise<unknown>;
    return run().catch((error: unknown) => {
      // A migration from another instance changed a table under a prepared
      // `select *`: prepare the query afresh under a new name and run it again.
      if (!isStalePlan(error)) throw error;
      statementNames.delete(text);
      return run();
    }) as never;
  }
}

/** Names by SQL text; the name changes with each fresh preparation. */
const statementNames = new Map<string, string>();
let preparations = 0;

function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    preparations += 1;
    name = `latchkey_${preparations}`;
    statementNames.set(text, name);
  }
  return name;
}

function isStalePlan(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e.code === '0A000' && e.message?.includes('cached plan must not change result type') === true;
}

/** A dedicated connection LISTENing on the outbox channel; returns its closer. */
async function listenPostgres(url: string, onNotify: () => void): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  client.on('notification', () => onNotify());
  await client.connect();
  await client.query(`listen ${outboxChannel}`);
  return () => client.end();
}

type Batched = { fn: (tx: Store) => Promise<unknown>; resolve: (value: unknown) => void; reject: (error: unknown) => void };

export class Store {
  readonly db: Kysely<Database>;
  readonly capabilities: Capabilities;
  /** Transactions waiting for the next group commit. */
  #batch: Batched[] = [];

  constructor(db: Kysely<Database>, capabilities: Capabilities) {
    this.db = db;
    this.capabilities = capabilities;
  }

  /** Runs fn in one transaction; everything it writes commits together or not at all. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this);
    if (!this.capabilities.groupCommit) return this.db.transaction().execute((trx: Transaction<Database>) => fn(new Store(trx, this.capabilities)));
    return new Promise<T>((resolve, reject) => {
      // Everything asked for in this turn of the event loop commits together at its end.
      if (this.#batch.push({ fn, resolve: resolve as (value: unknown) => void, reject }) === 1) setImmediate(() => this.#commitBatch());
    });
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
    const batch = this.#batch;
    this.#batch = [];
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        const tx = new Store(trx, this.capabilities);
        for (const { fn } of batch) {
          await sql`savepoint batched`.execute(trx);
          try {
            outcomes.push({ ok: true, value: await fn(tx) });
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

  // Users

  findUserByEmail(canonical: string): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('email_canonical', '=', canonical).executeTakeFirst();
  }

  findUserById(id: string): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Inserts unless the canonical address is taken; returns whether it inserted. */
  async insertUser(user: NewUser): Promise<boolean> {
    const result = await this.db.insertInto('users').values(user)
      .onConflict((oc) => oc.column('email_canonical').doNothing())
      .executeTakeFirst();
    return result.numInsertedOrUpdatedRows === 1n;
  }

  async setPassword(userId: string, passwordHash: string): Promise<void> {
    await this.db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute();
  }

  async confirmUser(userId: string, now: number): Promise<void> {
    await this.db.updateTable('users').set({ confirmed_at: now })
      .where('id', '=', userId).where('confirmed_at', 'is', null).execute();
  }

  /** Moves the account to a new address; false when another account holds it. */
  async setEmail(userId: string, email: string, canonical: string): Promise<boolean> {
    const taken = await this.findUserByEmail(canonical);
    if (taken !== undefined && taken.id !== userId) return false;
    await this.db.updateTable('users').set({ email, email_canonical: canonical }).where('id', '=', userId).execute();
    return true;
  }

  // Tokens

  async insertToken(token: NewToken): Promise<void> {
    await this.db.insertInto('tokens').values({ ...token, spent_at: null }).execute();
  }

  /**
   * Voids the user's live tokens of the `voids` purposes, stores `token` and
   * queues `mail`, all or nothing: the unit every emailed link is issued in.
   * PostgreSQL does it in one statement (one round trip instead of six with
   * BEGIN and COMMIT); SQLite, which has no writing CTEs, in one transaction.
   */
  async issueToken(token: NewToken, voids: TokenPurpose[], mail: NewOutboxRow): Promise<void> {
    if (!this.capabilities.writingCtes) {
      await this.transaction(async (tx) => {
        if (voids.length > 0) await tx.voidTokens(token.user_id, voids, token.created_at);
        await tx.insertToken(token);
        await tx.insertOutbox(mail);
      });
      return;
    }
    // Data-modifying CTEs share one snapshot: the void cannot see the new token.
    await this.db
      .with('voided', (db) => db.updateTable('tokens').set({ spent_at: token.created_at })
        .where('user_id', '=', token.user_id)
        .where((eb) => voids.length > 0 ? eb('purpose', 'in', voids) : eb.lit(false))
        .where('spent_at', 'is', null)
        .returning('token_hash'))
      .with('token', (db) => db.insertInto('tokens').values({ ...token, spent_at: null }).returning('token_hash'))
      .with('mail', (db) => db.insertInto('outbox').values(mail).returning('id'))
      .selectFrom('mail')
      .select(this.#notifySelection())
      .execute();
  }

  /** A token that could be redeemed now: right purpose, unspent, unexpired. */
  findLiveToken(tokenHash: string, purposes: TokenPurpose[], now: number): Promise<Token | undefined> {
    return this.db.selectFrom('tokens').selectAll()
      .where('token_hash', '=', tokenHash)
      .where('purpose', 'in', purposes)
      .where('spent_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
  }

  /**
   * Spends a live token in one conditional UPDATE, so of many concurrent
   * redemptions exactly one gets the row back.
   */
  spendToken(tokenHash: string, purposes: TokenPurpose[], now: number): Promise<Token | undefined> {
    return this.db.updateTable('tokens').set({ spent_at: now })
      .where('token_hash', '=', tokenHash)
      .where('purpose', 'in', purposes)
      .where('spent_at', 'is', null)
      .where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst();
  }

  async voidTokens(userId: string, purposes: TokenPurpose[], now: number): Promise<void> {
    await this.db.updateTable('tokens').set({ spent_at: now })
      .where('user_id', '=', userId)
      .where('purpose', 'in', purposes)
      .where('spent_at', 'is', null)
      .execute();
  }

  // Sessions

  async insertSession(session: Session): Promise<void> {
    await this.db.insertInto('sessions').values(session).execute();
  }

  findSession(tokenHash: string): Promise<Session | undefined> {
    return this.db.selectFrom('sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  }

  async touchSession(tokenHash: string, now: number): Promise<void> {
    await this.db.updateTable('sessions').set({ last_used_at: now }).where('token_hash', '=', tokenHash).execute();
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
  }

  /** Ends every session of the user but `keep` (the caller's own, when given). */
  async deleteSessions(userId: string, keep?: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_id', '=', userId)
      .$if(keep !== undefined, (q) => q.where('token_hash', '!=', keep!))
      .execute();
  }

  // Outbox

  async insertOutbox(row: NewOutboxRow): Promise<void> {
    if (!this.capabilities.writingCtes) {
      await this.db.insertInto('outbox').values(row).execute();
      return;
    }
    await this.db.with('mail', (db) => db.insertInto('outbox').values(row).returning('id'))
      .selectFrom('mail')
      .select(this.#notifySelection())
      .execute();
  }

  /**
   * Selected beside a write of mail, it wakes LISTENing workers in other
   * processes in the same round trip; PostgreSQL delivers it at commit, never
   * before. Most writes under load leave it to the announcer's next one.
   */
  #notifySelection() {
    return this.capabilities.announcer?.claim() === true
      ? sql<string>`pg_notify(${outboxChannel}, '')`.as('notified')
      : sql<null>`null`.as('notified');
  }

  /**
   * Leases up to `limit` due messages until `leaseUntil`. A worker that dies
   * leaves its rows to come back when the lease ends.
   */
  claimDueOutbox(now: number, leaseUntil: number, limit: number): Promise<OutboxRow[]> {
    const due = this.db.selectFrom('outbox').select('id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .orderBy('next_attempt_at')
      .limit(limit)
      .$if(this.capabilities.rowLocks, (q) => q.forUpdate().skipLocked());
    return this.db.updateTable('outbox').set({ locked_until: leaseUntil })
      .where('id', 'in', due)
      .returningAll()
      .execute();
  }

  /** Keeps the lease on messages still being sent, so no other worker takes them. */
  async extendOutboxLease(ids: string[], leaseUntil: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db.updateTable('outbox').set({ locked_until: leaseUntil })
      .where('id', 'in', ids).where('status', '=', 'pending').execute();
  }

  /** Gives leased messages back at once (a worker shutting down). */
  async releaseOutbox(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.updateTable('outbox').set({ locked_until: null })
      .where('id', 'in', ids).where('status', '=', 'pending').execute();
    // Workers in other processes (PostgreSQL; elsewhere they poll) take them now rather than at their next poll.
    await this.capabilities.announcer?.now();
  }

  /** Several at once: the worker records the messages that went out in one turn together. */
  async markOutboxSent(ids: string[], now: number): Promise<void> {
    await this.db.updateTable('outbox')
      .set((eb) => ({ status: 'sent', sent_at: now, params: null, locked_until: null, last_error: null, attempts: eb('attempts', '+', 1) }))
      .where('id', 'in', ids).execute();
  }

  // The outcome updates touch only a row still pending: a worker whose lease
  // lapsed must not turn a message another worker has sent back into a failure.

  async markOutboxRetry(id: string, nextAttemptAt: number, error: string): Promise<void> {
    await this.db.updateTable('outbox')
      .set((eb) => ({ next_attempt_at: nextAttemptAt, locked_until: null, last_error: error, attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id).where('status', '=', 'pending').execute();
  }

  /**
   * Failed is final until an operator retries it; the body is kept for that.
   * A failed row's next_attempt_at says when it failed: RETENTION_DAYS counts from it.
   */
  async markOutboxFailed(id: string, error: string, attempted: boolean, now = Date.now()): Promise<void> {
    await this.db.updateTable('outbox')
      .set((eb) => ({ status: 'failed', next_attempt_at: now, locked_until: null, last_error: error, attempts: attempted ? eb('attempts', '+', 1) : eb.ref('attempts') }))
      .where('id', '=', id).where('status', '=', 'pending').execute();
  }

  /** Puts failed messages (all of them, or those named) back in the queue, due now. */
  async retryFailedOutbox(now: number, ids?: string[]): Promise<number> {
    const result = await this.db.updateTable('outbox')
      .set({ status: 'pending', next_attempt_at: now, locked_until: null })
      .where('status', '=', 'failed')
      .$if(ids !== undefined, (q) => q.where('id', 'in', ids!))
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  listOutbox(filter: { status?: OutboxStatus; limit?: number } = {}): Promise<OutboxRow[]> {
    return this.db.selectFrom('outbox').selectAll()
      .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
      .orderBy('created_at')
      .$if(filter.limit !== undefined, (q) => q.limit(filter.limit!))
      .execute();
  }

  async outboxStats(now: number): Promise<OutboxStats> {
    const rows = await this.db.selectFrom('outbox')
      .select((eb) => [
        'status',
        eb.fn.countAll<number | string>().as('count'),
        eb.fn.min(eb.case().when('next_attempt_at', '<=', now).then(eb.ref('next_attempt_at')).end()).as('oldest_due'),
        eb.fn.sum<number | string | null>(eb.case().when('next_attempt_at', '<=', now).then(1).else(0).end()).as('due'),
      ])
      // Sent rows are history and only grow; counting them would make this cost rise forever.
      .where('status', 'in', ['pending', 'failed'])
      .groupBy('status')
      .execute();
    const stats: OutboxStats = { pending: 0, due: 0, failed: 0, oldestDueSeconds: 0 };
    for (const row of rows) {
      if (row.status === 'failed') stats.failed = Number(row.count);
      if (row.status === 'pending') {
        stats.pending = Number(row.count);
        stats.due = Number(row.due ?? 0);
        if (row.oldest_due !== null) stats.oldestDueSeconds = Math.max(0, Math.floor((now - Number(row.oldest_due)) / 1000));
      }
    }
    return stats;
  }
}
