// The queries of the flows: users, tokens, sessions, and the mail a flow
// writes beside them. Transactions, migrations and the connection's life are
// store.ts's; the worker's side of the outbox is outbox-queue.ts's.
import type { Kysely } from 'kysely';
import type { BatchedLookups } from './batched-lookups.ts';
import { notifySelection, type Capabilities } from './dialect.ts';
import { writeLinks, type IssueBatch } from './issue-batch.ts';
import type { Database, NewOutboxRow, NewToken, Session, Token, TokenPurpose, User, NewUser } from './schema.ts';
import type { SessionLookups, SessionWithUser } from './session-lookups.ts';

/** What a store and each of its transactions share. */
export type StoreContext = {
  capabilities: Capabilities;
  /** Called once a write of mail has committed: it tells the in-process worker to send at once. */
  announceMail: () => void;
  /** Links issued outside a transaction, written together (PostgreSQL). */
  issueBatch?: IssueBatch;
  /** Users by canonical address outside a transaction, merged across callers (findUsersByEmail). */
  usersByEmail: BatchedLookups<string, User>;
  /** Session look-ups outside a transaction, merged across callers (session-lookups.ts). */
  sessionLookups: SessionLookups;
};

/** The users holding these canonical addresses: one query for the look-ups of many requests. */
export function findUsersByEmail(db: Kysely<Database>, canonicals: readonly string[]): Promise<User[]> {
  return db.selectFrom('users').selectAll().where('email_canonical', 'in', canonicals).execute();
}

export abstract class Repository {
  readonly db: Kysely<Database>;
  readonly #context: StoreContext;
  /** Run after the enclosing transaction commits; undefined outside a transaction. */
  readonly #afterCommit: (() => void)[] | undefined;

  constructor(db: Kysely<Database>, context: StoreContext, afterCommit?: (() => void)[]) {
    this.db = db;
    this.#context = context;
    this.#afterCommit = afterCommit;
  }

  get capabilities(): Capabilities {
    return this.#context.capabilities;
  }

  /** Runs fn in one transaction; everything it writes commits together or not at all. */
  abstract transaction<T>(fn: (tx: this) => Promise<T>): Promise<T>;

  /** Runs fn once what this store wrote is committed: at once outside a transaction. */
  afterCommit(fn: () => void): void {
    if (this.#afterCommit === undefined) fn();
    else if (!this.#afterCommit.includes(fn)) this.#afterCommit.push(fn);
  }

  // Users

  /** Inside a transaction on its connection (it must see its own writes); otherwise merged with other callers'. */
  async findUserByEmail(canonical: string): Promise<User | undefined> {
    if (!this.db.isTransaction) return this.#context.usersByEmail.get(canonical);
    return (await findUsersByEmail(this.db, [canonical]))[0];
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
   * BEGIN and COMMIT), shared with other links (issue-batch.ts); SQLite,
   * which has no writing CTEs, in one transaction.
   */
  async issueToken(token: NewToken, voids: TokenPurpose[], mail: NewOutboxRow): Promise<void> {
    if (!this.capabilities.writingCtes) {
      await this.transaction(async (tx) => {
        if (voids.length > 0) await tx.voidTokens(token.user_id, voids, token.created_at);
        await tx.forgetCodes(token.user_id, token.purpose);
        await tx.insertToken(token);
        await tx.insertOutbox(mail);
      });
      return;
    }
    const link = { token, voids, mail };
    // Outside a transaction it joins the links asked for beside it (issue-batch.ts).
    if (this.db.isTransaction || this.#context.issueBatch === undefined) await writeLinks(this.db, [link], notifySelection(this.capabilities.announcer));
    else await this.#context.issueBatch.issue(link);
    this.afterCommit(this.#context.announceMail);
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

  /** API.md: a newer link voids the older code too; older confirmation links themselves stay valid. */
  async forgetCodes(userId: string, purpose: TokenPurpose): Promise<void> {
    await this.db.updateTable('tokens').set({ code_hash: null })
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('spent_at', 'is', null)
      .execute();
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

  /** A session and its user in one round trip: what every authenticated request (and each reverse-proxy check) needs. */
  findSessionWithUser(tokenHash: string): Promise<SessionWithUser | undefined> {
    return this.#context.sessionLookups.find(this.db, tokenHash);
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

  /** The user's sessions still usable now (unexpired, used after `idleCutoff`), newest first. */
  listLiveSessions(userId: string, now: number, idleCutoff: number): Promise<Session[]> {
    return this.db.selectFrom('sessions').selectAll().where('user_id', '=', userId)
      .where('expires_at', '>', now).where('last_used_at', '>', idleCutoff)
      .orderBy('created_at', 'desc').orderBy('id').execute();
  }

  /** Ends the user's live session with this public id; false when the user has no such live session. */
  async deleteLiveSession(userId: string, id: string, now: number, idleCutoff: number): Promise<boolean> {
    const result = await this.db.deleteFrom('sessions').where('id', '=', id).where('user_id', '=', userId)
      .where('expires_at', '>', now).where('last_used_at', '>', idleCutoff)
      .executeTakeFirst();
    return result.numDeletedRows === 1n;
  }

  // Mail, written in the flow's transaction (the worker's side: outbox-queue.ts)

  async insertOutbox(row: NewOutboxRow): Promise<void> {
    if (!this.capabilities.writingCtes) {
      await this.db.insertInto('outbox').values(row).execute();
    } else {
      await this.db.with('mail', (db) => db.insertInto('outbox').values(row).returning('id'))
        .selectFrom('mail')
        .select(notifySelection(this.capabilities.announcer))
        .execute();
    }
    this.afterCommit(this.#context.announceMail);
  }
}
