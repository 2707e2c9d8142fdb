// Persistence for both databases: one Kysely store, the differences kept to
// the connection (below) and one capability flag (row locks).
import { Kysely, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import type { DatabaseConfig } from '../config.ts';
import * as initial from './migrations/0001-initial.ts';
import * as userLocale from './migrations/0002-user-locale.ts';
import type { Database, NewOutboxRow, NewUser, OutboxRow, OutboxStatus, Session, Token, TokenPurpose, User } from './schema.ts';
import { openSqlite } from './sqlite.ts';

export type Capabilities = {
  /** SELECT … FOR UPDATE SKIP LOCKED: several workers can claim rows side by side. */
  rowLocks: boolean;
  /**
   * Wakes workers in other processes when mail is committed (PostgreSQL
   * LISTEN/NOTIFY). Without it, other processes find new mail by polling.
   */
  listen?: (onNotify: () => void) => Promise<() => Promise<void>>;
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

const migrations = { '0001-initial': initial, '0002-user-locale': userLocale };

export function openStore(config: DatabaseConfig): Store {
  if (config.kind === 'sqlite') {
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: openSqlite(config.path) }) });
    return new Store(db, { rowLocks: false });
  }
  const pool = new pg.Pool({
    connectionString: config.url,
    max: 10,
    // BIGINT columns hold millisecond times, well inside a double's exact range.
    types: { getTypeParser: (oid, format) => (oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) },
  });
  // An idle client that loses its connection must not crash the process.
  pool.on('error', () => {});
  return new Store(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), {
    rowLocks: true,
    listen: (onNotify) => listenPostgres(config.url, onNotify),
  });
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

export class Store {
  readonly db: Kysely<Database>;
  readonly capabilities: Capabilities;

  constructor(db: Kysely<Database>, capabilities: Capabilities) {
    this.db = db;
    this.capabilities = capabilities;
  }

  /** Runs fn in one transaction; everything it writes commits together or not at all. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this);
    return this.db.transaction().execute((trx: Transaction<Database>) => fn(new Store(trx, this.capabilities)));
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
    return this.db.destroy();
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

  async insertToken(token: Omit<Token, 'spent_at'>): Promise<void> {
    await this.db.insertInto('tokens').values({ ...token, spent_at: null }).execute();
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
    await this.db.insertInto('outbox').values(row).execute();
    // Inside the caller's transaction: PostgreSQL delivers it at commit, never before.
    await this.#notifyWorkers();
  }

  /** Wakes LISTENing workers in other processes (PostgreSQL; elsewhere they poll). */
  async #notifyWorkers(): Promise<void> {
    if (this.capabilities.listen !== undefined) await sql`select pg_notify(${outboxChannel}, '')`.execute(this.db);
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
    // Workers in other processes take them now rather than at their next poll.
    await this.#notifyWorkers();
  }

  async markOutboxSent(id: string, now: number): Promise<void> {
    await this.db.updateTable('outbox')
      .set((eb) => ({ status: 'sent', sent_at: now, params: null, locked_until: null, last_error: null, attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id).execute();
  }

  // The outcome updates touch only a row still pending: a worker whose lease
  // lapsed must not turn a message another worker has sent back into a failure.

  async markOutboxRetry(id: string, nextAttemptAt: number, error: string): Promise<void> {
    await this.db.updateTable('outbox')
      .set((eb) => ({ next_attempt_at: nextAttemptAt, locked_until: null, last_error: error, attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id).where('status', '=', 'pending').execute();
  }

  /** Failed is final until an operator retries it; the body is kept for that. */
  async markOutboxFailed(id: string, error: string, attempted: boolean): Promise<void> {
    await this.db.updateTable('outbox')
      .set((eb) => ({ status: 'failed', locked_until: null, last_error: error, attempts: attempted ? eb('attempts', '+', 1) : eb.ref('attempts') }))
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
