// The databases a suite runs on: a fresh SQLite file always, and a fresh
// PostgreSQL database when the server is reachable. With CI=true PostgreSQL is
// mandatory: an unreachable server fails the run instead of skipping.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/config.ts';
import { openStore, type Store } from '../../src/store/store.ts';

export const postgresAdminUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type DatabaseKind = 'sqlite' | 'postgres';

/** SECRET_KEY for test servers and stores: required with PostgreSQL, and the same for every process of one test. */
export const testSecretKey = 'a4f1c0de5eed0fba11ad0be5c0ffee00d15ea5e0b5e55ed0ca11ab1e5ca1ab1e';

export type TestDatabase = {
  kind: DatabaseKind;
  url: string;
  drop(): Promise<void>;
};

let postgresReachable: Promise<string | undefined> | undefined;

/** undefined when reachable, else the reason it is not. */
export function postgresUnavailable(): Promise<string | undefined> {
  postgresReachable ??= (async () => {
    const client = new pg.Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return undefined;
    } catch (error) {
      return `PostgreSQL at ${postgresAdminUrl} is not reachable (${(error as Error).message})`;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return postgresReachable;
}

/**
 * `skip` for node:test: false when PostgreSQL can be used, else the printed
 * reason. Throws when CI=true, where PostgreSQL tests are mandatory.
 */
export async function skipUnlessPostgres(): Promise<false | string> {
  const reason = await postgresUnavailable();
  if (reason === undefined) return false;
  if (process.env.CI === 'true') throw new Error(`CI=true requires PostgreSQL: ${reason}`);
  return `skipped: ${reason}`;
}

export async function createDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-test-'));
    return { kind, url: `sqlite:${join(dir, 'latchkey.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `latchkey_test_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: postgresAdminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    kind,
    url: url.href,
    async drop() {
      const client = new pg.Client({ connectionString: postgresAdminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/** A store on a test database, opened the way `serve` opens it (from DATABASE_URL). */
export function openTestStore(database: TestDatabase): Store {
  return openStore(loadConfig({ DATABASE_URL: database.url, SECRET_KEY: testSecretKey }).database);
}

/** A fresh test database with a migrated store on it; `close()` closes the store and drops the database. */
export async function migratedTestStore(kind: DatabaseKind): Promise<{ database: TestDatabase; store: Store; close(): Promise<void> }> {
  const database = await createDatabase(kind);
  const store = openTestStore(database);
  await store.migrate();
  return {
    database,
    store,
    async close() {
      await store.close();
      await database.drop();
    },
  };
}

/** Whether PostgreSQL suites run: false, or the printed reason they are skipped (computed once, at load; throws under CI=true). */
const postgresSkip: false | string = await skipUnlessPostgres();

/**
 * Declares a suite once per database: `declare(kind, skip)` with `skip` for
 * node:test's options (false, or why PostgreSQL is skipped). The skip is
 * computed at load, so `declare` stays synchronous: a describe callback must
 * never be async or throw (test/suite-rules.test.ts).
 */
export function eachDatabase(declare: (kind: DatabaseKind, skip: false | string) => void): void {
  declare('sqlite', false);
  declare('postgres', postgresSkip);
}

/** Runs `measure` on SQLite, then on PostgreSQL when it is reachable (benchmarks: a skip is printed, never fatal). */
export async function onEachDatabase(measure: (kind: DatabaseKind) => Promise<void>): Promise<void> {
  await measure('sqlite');
  const reason = await postgresUnavailable();
  if (reason === undefined) await measure('postgres');
  else console.log(`postgres skipped: ${reason}`);
}
