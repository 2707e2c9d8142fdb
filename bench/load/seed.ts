// The bench's own connection to the database Latchkey serves: seeding users by
// SQL (confirmed, all with one argon2id hash computed once) and reading the
// outbox. Plain SQL on the tables of migration 0001, so that the same seeding
// serves this checkout and an older one (COMPARE_TREE).
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { postgresUnavailable, type DatabaseKind } from '../../test/support/databases.ts';

export type Db = {
  all(sql: string): Promise<Record<string, unknown>[]>;
  /** Users user<from>…user<to>@example.com, confirmed, all with the same hash; then ANALYZE. */
  seed(from: number, to: number, hash: string): Promise<void>;
  close(): Promise<void>;
};

export function openDb(kind: DatabaseKind, url: string): Db {
  const now = Date.now();
  if (kind === 'sqlite') {
    const db = new DatabaseSync(url.slice('sqlite:'.length));
    db.exec('PRAGMA busy_timeout = 30000');
    return {
      all: async (sql) => db.prepare(sql).all() as Record<string, unknown>[],
      async seed(from, to, hash) {
        // One transaction, one prepared INSERT.
        const insert = db.prepare('INSERT INTO users (id, email, email_canonical, name, password_hash, confirmed_at, created_at, locale) VALUES (?, ?, ?, NULL, ?, ?, ?, \'en\')');
        db.exec('BEGIN IMMEDIATE');
        for (let i = from; i <= to; i++) {
          const email = `user${i}@example.com`;
          insert.run(`seed-${i}`, email, email, hash, now, now);
        }
        db.exec('COMMIT');
        db.exec('ANALYZE');
      },
      close: async () => db.close(),
    };
  }
  const client = new pg.Client({ connectionString: url });
  const connected = client.connect();
  return {
    all: async (sql) => { await connected; return (await client.query(sql)).rows as Record<string, unknown>[]; },
    async seed(from, to, hash) {
      await connected;
      await client.query(
        `insert into users (id, email, email_canonical, name, password_hash, confirmed_at, created_at, locale)
         select 'seed-' || i, 'user' || i || '@example.com', 'user' || i || '@example.com', null, $1, $2, $2, 'en'
         from generate_series($3::int, $4::int) as i`,
        [hash, now, from, to],
      );
      await client.query('analyze users');
    },
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
