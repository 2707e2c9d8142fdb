// SQLite: Kysely's SqliteDialect over the built-in node:sqlite, through the
// small structural interface Kysely asks for (the subset of better-sqlite3 it
// uses). One connection writes, so transactions are group-committed.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { Kysely, SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';
import type { OpenedDatabase } from './dialect.ts';
import type { Database } from './schema.ts';

const statementCacheSize = 256;

export function openSqlite(path: string): OpenedDatabase {
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqliteDatabase(path) }) });
  return { db, capabilities: { rowLocks: false, writingCtes: false, groupCommit: true, advisoryLocks: false } };
}

export function sqliteDatabase(path: string): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path, { timeout: 5000 });
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');

  // Preparing is a large share of a small query's cost; the SQL Kysely
  // generates comes from a small, fixed set of shapes. Whether a statement
  // returns rows is asked once too: columns() builds a fresh array each call.
  const cache = new Map<string, Prepared>();
  const prepare = (sql: string): Prepared => {
    let prepared = cache.get(sql);
    if (prepared === undefined) {
      // A deferred BEGIN that later writes can fail at once with SQLITE_BUSY
      // when another process (a separate worker) writes too; IMMEDIATE waits
      // for the busy timeout instead.
      const statement = db.prepare(sql === 'begin' ? 'begin immediate' : sql);
      prepared = { statement, reader: statement.columns().length > 0 };
      if (cache.size >= statementCacheSize) cache.delete(cache.keys().next().value!);
      cache.set(sql, prepared);
    }
    return prepared;
  };

  return {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      const { statement, reader } = prepare(sql);
      const args = (parameters: ReadonlyArray<unknown>) => parameters as Parameters<StatementSync['all']>;
      return {
        reader,
        all: (parameters) => statement.all(...args(parameters)),
        run: (parameters) => statement.run(...args(parameters)),
        iterate: (parameters) => statement.iterate(...args(parameters)),
      };
    },
  };
}

type Prepared = { statement: StatementSync; reader: boolean };
