// A session and its user by the token's hash: what every authenticated request
// and every reverse-proxy check asks first, so it is built for speed. The
// query is compiled once per list length (its shape never changes), rows are
// copied field by field, and look-ups outside a transaction are merged
// (batched-lookups.ts). The root store owns one; its transactions share it.
import type { CompiledQuery, Kysely } from 'kysely';
import { BatchedLookups } from './batched-lookups.ts';
import type { Database, Session, User } from './schema.ts';

export type SessionWithUser = { session: Session; user: User };

type Row = User & {
  s_token_hash: string; s_created_at: number; s_last_used_at: number; s_expires_at: number;
  s_id: string; s_ip: string | null; s_user_agent: string | null;
};

export class SessionLookups {
  /** By the number of hashes in the `in (…)` list. */
  readonly #compiled = new Map<number, CompiledQuery<Row>>();
  readonly #batched: BatchedLookups<string, SessionWithUser>;

  /** `root`: the store's own connection(s), never a transaction's. */
  constructor(root: Kysely<Database>) {
    this.#batched = new BatchedLookups({ load: (hashes) => this.#load(root, hashes), keyOf: (found) => found.session.token_hash });
  }

  /** Inside a transaction on its connection (it must see its own writes); otherwise merged with other callers'. */
  find(db: Kysely<Database>, tokenHash: string): Promise<SessionWithUser | undefined> {
    if (!db.isTransaction) return this.#batched.get(tokenHash);
    return this.#load(db, [tokenHash]).then((found) => found[0]);
  }

  async #load(db: Kysely<Database>, hashes: readonly string[]): Promise<SessionWithUser[]> {
    const { rows } = await db.executeQuery<Row>({ ...this.#query(db, hashes.length), parameters: hashes });
    return rows.map(sessionWithUser);
  }

  #query(db: Kysely<Database>, length: number): CompiledQuery<Row> {
    let compiled = this.#compiled.get(length);
    if (compiled === undefined) {
      compiled = db.selectFrom('sessions').innerJoin('users', 'users.id', 'sessions.user_id')
        .select(['users.id', 'users.email', 'users.email_canonical', 'users.name', 'users.password_hash', 'users.confirmed_at', 'users.created_at', 'users.locale', 'users.disabled_at'])
        .select(['sessions.token_hash as s_token_hash', 'sessions.created_at as s_created_at', 'sessions.last_used_at as s_last_used_at', 'sessions.expires_at as s_expires_at',
          'sessions.id as s_id', 'sessions.ip as s_ip', 'sessions.user_agent as s_user_agent'])
        .where('sessions.token_hash', 'in', Array<string>(length).fill(''))
        .compile();
      this.#compiled.set(length, compiled);
    }
    return compiled;
  }
}

function sessionWithUser(row: Row): SessionWithUser {
  return {
    user: {
      id: row.id, email: row.email, email_canonical: row.email_canonical, name: row.name, password_hash: row.password_hash,
      confirmed_at: row.confirmed_at, created_at: row.created_at, locale: row.locale, disabled_at: row.disabled_at,
    },
    session: {
      token_hash: row.s_token_hash, user_id: row.id, created_at: row.s_created_at, last_used_at: row.s_last_used_at,
      expires_at: row.s_expires_at, id: row.s_id, ip: row.s_ip, user_agent: row.s_user_agent,
    },
  };
}
