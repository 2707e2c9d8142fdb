// The bench's own connection to the database Latchkey serves: seeding users
// and sessions by SQL, and reading the outbox. Users are confirmed, all with
// one argon2id hash computed once; users are plain SQL on the tables of
// migration 0001, so that the same seeding serves this checkout and an older
// one (COMPARE_TREE). Each seeding is one INSERT … SELECT over a generated
// series (PostgreSQL generate_series, SQLite a recursive CTE): one statement,
// one transaction, no row crosses from the bench to the database.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { hashToken } from '../../src/security/tokens.ts';
import { postgresUnavailable, type DatabaseKind } from '../../test/support/databases.ts';

export type Db = {
  all(sql: string): Promise<Record<string, unknown>[]>;
  /** Users user<from>…user<to>@example.com, confirmed, all with the same hash; then ANALYZE. */
  seed(from: number, to: number, hash: string): Promise<void>;
  /**
   * Sessions from…to, live for a day past `now`, whose bearer tokens are
   * sessionToken(i); session i belongs to user 1 + (i - 1) mod `users`.
   */
  seedSessions(from: number, to: number, users: number, now: number): Promise<void>;
  /** After a big seeding: PostgreSQL VACUUM ANALYZE and CHECKPOINT, SQLite ANALYZE and a WAL checkpoint (truncating). */
  settle(): Promise<void>;
  /** Bytes on disk: the SQLite file and its WAL, or pg_database_size. */
  size(): Promise<number>;
  close(): Promise<void>;
};

const tokenPrefix = 'latchkey-bench-session-';
/** The bearer token of seeded session i: 256 bits, URL-safe, like a real one (its SHA-256 of a fixed prefix and i, so SQL can make it too). */
export function sessionToken(i: number): string {
  return createHash('sha256').update(`${tokenPrefix}${i}`).digest('base64url');
}

export function openDb(kind: DatabaseKind, url: string): Db {
  const now = Date.now();
  if (kind === 'sqlite') {
    const path = url.slice('sqlite:'.length);
    const db = new DatabaseSync(path);
    // A page cache the size of a million sessions' indexes: their keys are random, so each insert lands on any page (~30% faster).
    db.exec('PRAGMA busy_timeout = 30000; PRAGMA cache_size = -262144');
    // hashToken of src/security/tokens.ts, the way the server hashes a presented token.
    db.function('bench_token_hash', { deterministic: true }, (i) => hashToken(sessionToken(Number(i))));
    // cast: node:sqlite binds a JS number as a REAL, and 'user' || 1.0 is not user1.
    const series = 'with recursive s(i) as (select cast(? as integer) union all select i + 1 from s where i < ?)';
    return {
      all: async (sql) => db.prepare(sql).all() as Record<string, unknown>[],
      async seed(from, to, hash) {
        if (to < from) return; // the series always yields `from`
        db.prepare(`insert into users (id, email, email_canonical, name, password_hash, confirmed_at, created_at, locale) ${series}
          select 'seed-' || printf('%010d', i), 'user' || i || '@example.com', 'user' || i || '@example.com', null, ?, ?, ?, 'en' from s`).run(from, to, hash, now, now);
        db.exec('ANALYZE');
      },
      async seedSessions(from, to, users, at) {
        if (to < from) return;
        db.prepare(`insert into sessions (token_hash, user_id, created_at, last_used_at, expires_at, id, ip, user_agent) ${series}
          select bench_token_hash(i), 'seed-' || printf('%010d', 1 + (i - 1) % ?), ?, ?, ?, printf('%032x', i), null, null from s`).run(from, to, users, at, at, at + 86_400_000);
      },
      async settle() {
        db.exec('ANALYZE');
        db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      },
      size: async () => [path, `${path}-wal`].reduce((sum, file) => sum + (statSync(file, { throwIfNoEntry: false })?.size ?? 0), 0),
      close: async () => db.close(),
    };
  }
  const client = new pg.Client({ connectionString: url });
  const connected = client.connect();
  // base64url of a SHA-256, as node:crypto writes it (PostgreSQL's base64 has no url alphabet; 32 bytes need no line break).
  const base64urlSha256 = (text: string) => `rtrim(translate(encode(sha256(convert_to(${text}, 'UTF8')), 'base64'), '+/', '-_'), '=')`;
  return {
    all: async (sql) => { await connected; return (await client.query(sql)).rows as Record<string, unknown>[]; },
    // User ids are zero-padded so that they sort as generated: the primary key grows at its right edge while seeding.
    async seed(from, to, hash) {
      await connected;
      await client.query(
        `insert into users (id, email, email_canonical, name, password_hash, confirmed_at, created_at, locale)
         select 'seed-' || lpad(i::text, 10, '0'), 'user' || i || '@example.com', 'user' || i || '@example.com', null, $1, $2, $2, 'en'
         from generate_series($3::bigint, $4::bigint) as i`,
        [hash, now, from, to],
      );
      await client.query('analyze users');
    },
    async seedSessions(from, to, users, at) {
      if (to < from) return;
      await connected;
      await client.query(
        `insert into sessions (token_hash, user_id, created_at, last_used_at, expires_at, id, ip, user_agent)
         select ${base64urlSha256(base64urlSha256(`'${tokenPrefix}' || i`))}, 'seed-' || lpad((1 + (i - 1) % $1)::text, 10, '0'), $2, $2, $3, lpad(to_hex(i), 32, '0'), null, null
         from generate_series($4::bigint, $5::bigint) as i`,
        [users, at, at + 86_400_000, from, to],
      );
      // The SQL above must hash as src/ does, or no seeded token would authenticate.
      const [row] = (await client.query('select token_hash from sessions where id = lpad(to_hex($1::bigint), 32, \'0\')', [from])).rows as { token_hash: string }[];
      if (row?.token_hash !== hashToken(sessionToken(from))) throw new Error(`seeded session ${from}: token hash ${row?.token_hash} is not hashToken's ${hashToken(sessionToken(from))}`);
    },
    async settle() {
      await connected;
      await client.query('vacuum analyze');
      await client.query('checkpoint'); // the seeding's dirty pages written now, not during the measurements
    },
    size: async () => { await connected; return Number((await client.query('select pg_database_size(current_database()) as n')).rows[0].n); },
    close: async () => { await connected; await client.end(); },
  };
}

export async function outboxCount(db: Db): Promise<number> {
  return Number((await db.all('select count(*) as n from outbox'))[0]!.n);
}

/** Outbox rows still waiting to be sent (neither sent nor failed). */
export async function outboxPending(db: Db): Promise<number> {
  return Number((await db.all('select count(*) as n from outbox where status = \'pending\''))[0]!.n);
}

/**
 * The databases a bench runs on: those DATABASES names (default sqlite,postgres),
 * PostgreSQL only when reachable; a skip is printed, never fatal.
 */
export async function benchDatabases(): Promise<{ kinds: DatabaseKind[]; skipped: string[] }> {
  const only = process.env.DATABASES?.split(',') ?? ['sqlite', 'postgres'];
  const kinds: DatabaseKind[] = [];
  const skipped: string[] = [];
  if (only.includes('sqlite')) kinds.push('sqlite');
  if (only.includes('postgres')) {
    const reason = await postgresUnavailable();
    if (reason === undefined) kinds.push('postgres');
    else skipped.push(`postgres skipped: ${reason}`);
  }
  for (const s of skipped) console.log(s);
  return { kinds, skipped };
}
