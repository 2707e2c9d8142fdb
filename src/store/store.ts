// Persistence for both databases: one Kysely store, the differences kept to
// the connection (below) and one capability flag (row locks).
import { Kysely, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import type { DatabaseConfig } from '../config.ts';
import * as initial from './migrations/0001-initial.ts';
import type { Database, NewOutboxRow, NewUser, OutboxRow, Session, Token, TokenPurpose, User } from './schema.ts';
import { openSqlite } from './sqlite.ts';

export type Capabilities = {
  /** SELECT … FOR UPDATE SKIP LOCKED: several workers can claim rows side by side. */
  rowLocks: boolean;
};

const migrations = { '0001-initial': initial };

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
  return new Store(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), { rowLocks: true });
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

  async markOutboxSent(id: string, now: number): Promise<void> {
    await this.db.updateTable('outbox')
      .set((eb) => ({ status: 'sent', sent_at: now, params: null, locked_until: null, last_error: null, attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id).execute();
  }

  async markOutboxRetry(id: string, nextAttemptAt: number, error: string): Promise<void> {
    await this.db.updateTable('outbox')
      .set((eb) => ({ next_attempt_at: nextAttemptAt, locked_until: null, last_error: error, attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id).execute();
  }

  async markOutboxFailed(id: string, error: string): Promise<void> {
    await this.db.updateTable('outbox')
      .set((eb) => ({ status: 'failed', locked_until: null, last_error: error, attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id).execute();
  }

  listOutbox(): Promise<OutboxRow[]> {
    return this.db.selectFrom('outbox').selectAll().orderBy('created_at').execute();
  }
}
