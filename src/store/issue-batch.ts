// Emailed links issued on PostgreSQL (writing CTEs), many in one statement.
// Under load most of a link's cost is the statement's round trip and its
// commit (a WAL flush), not its few rows, so the links asked for outside a
// transaction while another write runs go out together: one UPDATE voiding
// the older links of every user in it, one multi-row INSERT of tokens and one
// of mail, all or nothing, settled after the commit. SQLite gets the same
// effect from its group commit (store.ts).
//
// What a caller can count on, as with a write of its own: its link is written
// after it asked; a later link of the same user voids it (a user has at most
// one link in a statement, and the next waits for it); and a batch that
// fails is written again link by link, so a bad row fails only its caller.
import { sql, type AliasedRawBuilder, type Kysely } from 'kysely';
import type { Database, NewOutboxRow, NewToken, TokenPurpose } from './schema.ts';

/** One emailed link: its token, the purposes of the user's live tokens it voids, and its mail. */
export type IssuedLink = { token: NewToken; voids: TokenPurpose[]; mail: NewOutboxRow };

/**
 * Writes the links in one statement. Data-modifying CTEs share one snapshot,
 * so the void cannot see the new tokens: two links of one user must not be in
 * the same call. `notified` is selected beside the mail (notifySelection).
 */
export async function writeLinks(db: Kysely<Database>, links: readonly IssuedLink[], notified: AliasedRawBuilder<unknown, 'notified'>): Promise<void> {
  await db
    // One UPDATE both voids the `voids` purposes and forgets the older codes of
    // the link's own: two CTEs updating the same row would leave only one change.
    .with('voided', (db) => db.updateTable('tokens')
      .from(olderTokens(links))
      .set({ spent_at: sql<number | null>`coalesce(older.spent_at, tokens.spent_at)`, code_hash: null })
      .whereRef('tokens.user_id', '=', 'older.user_id')
      .whereRef('tokens.purpose', '=', 'older.purpose')
      .where('tokens.spent_at', 'is', null)
      .returning('tokens.token_hash'))
    .with('token', (db) => db.insertInto('tokens').values(links.map((link) => ({ ...link.token, spent_at: null }))).returning('token_hash'))
    .with('mail', (db) => db.insertInto('outbox').values(links.map((link) => link.mail)).returning('id'))
    .selectFrom('mail')
    .select(notified)
    // The CTEs run in full whatever the SELECT reads; one notification is enough.
    .limit(1)
    .execute();
}

/**
 * The (user, purpose) pairs whose live tokens each link touches, as a VALUES
 * list: its `voids` purposes, spent at the link's time, and its own purpose,
 * whose codes are forgotten (spent_at null keeps the token's own).
 */
function olderTokens(links: readonly IssuedLink[]) {
  const rows = links.flatMap(({ token, voids }) => [...new Set([...voids, token.purpose])].map((purpose) =>
    sql`(${token.user_id}, ${purpose}, ${voids.includes(purpose) ? token.created_at : null}::bigint)`));
  return sql<{ user_id: string; purpose: string; spent_at: number | null }>`(values ${sql.join(rows)})`.as<'older'>(sql`older(user_id, purpose, spent_at)`);
}

type Waiting = { link: IssuedLink; resolve: () => void; reject: (error: unknown) => void };

export type IssueBatchOptions = {
  write: (links: readonly IssuedLink[]) => Promise<void>;
  /** Links per statement (default 32). */
  maxLinks?: number;
  /** Statements running at once (default 2): the links asked for meanwhile wait and so merge into larger ones. */
  maxInFlight?: number;
};

/** Links asked for outside a transaction, written together (writeLinks) by `write`. */
export class IssueBatch {
  readonly #write: (links: readonly IssuedLink[]) => Promise<void>;
  readonly #maxLinks: number;
  readonly #maxInFlight: number;
  /** In the order asked for: a user's links are written in that order. */
  #waiting: Waiting[] = [];
  /** Users with a link in a statement now: their next one waits for it. */
  readonly #busy = new Set<string>();
  #inFlight = 0;
  #scheduled = false;

  constructor(options: IssueBatchOptions) {
    this.#write = options.write;
    this.#maxLinks = options.maxLinks ?? 32;
    this.#maxInFlight = options.maxInFlight ?? 2;
  }

  /** Settles once the link is committed, or with the error that kept it from being written. */
  issue(link: IssuedLink): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ link, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      // At the end of this turn: the requests read in it have all asked by then.
      setImmediate(() => {
        this.#scheduled = false;
        this.#startWrites();
      });
    });
  }

  #startWrites(): void {
    while (this.#inFlight < this.#maxInFlight) {
      const batch: Waiting[] = [];
      const left: Waiting[] = [];
      for (const waiting of this.#waiting) {
        const user = waiting.link.token.user_id;
        if (batch.length === this.#maxLinks || this.#busy.has(user)) left.push(waiting);
        else {
          this.#busy.add(user);
          batch.push(waiting);
        }
      }
      this.#waiting = left;
      if (batch.length === 0) return;
      this.#inFlight += 1;
      void this.#run(batch);
    }
  }

  async #run(batch: Waiting[]): Promise<void> {
    try {
      await this.#write(batch.map(({ link }) => link));
      for (const { resolve } of batch) resolve();
    } catch (error) {
      if (batch.length === 1) batch[0]!.reject(error);
      // Nothing of a failed statement was written: each link again on its own.
      else await Promise.all(batch.map(({ link, resolve, reject }) => this.#write([link]).then(resolve, reject)));
    } finally {
      for (const { link } of batch) this.#busy.delete(link.token.user_id);
      this.#inFlight -= 1;
      this.#startWrites();
    }
  }
}
