// Reads a test database with plain SQL, beside the server and not through its
// store: a test that asks the product's own code what the product stored
// would be judging it by itself.
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import type { TestDatabase } from './databases.ts';

/**
 * Writes to a test database with plain SQL, one statement a dialect (their
 * placeholders differ: `?` and `$1`), to change what a test cannot wait for.
 */
export async function executeSql(database: TestDatabase, statements: { sqlite: string; postgres: string }, params: (string | number)[] = []): Promise<void> {
  if (database.kind === 'sqlite') {
    // Foreign keys off, as the sqlite3 shell has them: a table can be dropped from under the server.
    const db = new DatabaseSync(database.url.slice('sqlite:'.length), { enableForeignKeyConstraints: false });
    try {
      db.prepare(statements.sqlite).run(...params);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(statements.postgres, params);
  } finally {
    await client.end();
  }
}

export async function selectRows<Row extends Record<string, unknown>>(database: TestDatabase, sql: string): Promise<Row[]> {
  if (database.kind === 'sqlite') {
    const db = new DatabaseSync(database.url.slice('sqlite:'.length), { readOnly: true });
    try {
      return db.prepare(sql).all() as Row[];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Row[];
  } finally {
    await client.end();
  }
}
