// Migration 0004: sessions opened before it get a public id too (random,
// distinct, unrelated to the token), on both databases, and the id is unique.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import * as initial from '../src/store/migrations/0001-initial.ts';
import * as userLocale from '../src/store/migrations/0002-user-locale.ts';
import * as liveTokensIndex from '../src/store/migrations/0003-live-tokens-index.ts';
import { createDatabase, eachDatabase, openTestStore } from './support/databases.ts';

const before0004 = { '0001-initial': initial, '0002-user-locale': userLocale, '0003-live-tokens-index': liveTokensIndex };

eachDatabase((kind, skip) => {
  describe(`migration 0004 on ${kind}`, { skip }, () => {
    test('existing sessions get distinct random ids; new ones must be unique', async () => {
      const database = await createDatabase(kind);
      const store = openTestStore(database);
      try {
        const { error } = await new Migrator({ db: store.db, provider: { getMigrations: async () => before0004 } }).migrateToLatest();
        assert.equal(error, undefined);
        await sql`insert into users (id, email, email_canonical, password_hash, created_at) values ('u1', 'a@example.com', 'a@example.com', 'x', 1)`.execute(store.db);
        for (const hash of ['hash-a', 'hash-b', 'hash-c']) {
          await sql`insert into sessions (token_hash, user_id, created_at, last_used_at, expires_at) values (${hash}, 'u1', 1, 1, 9999999999999)`.execute(store.db);
        }
        await store.migrate();
        const rows = await store.db.selectFrom('sessions').select(['token_hash', 'id', 'ip', 'user_agent']).execute();
        assert.equal(rows.length, 3);
        for (const row of rows) {
          assert.match(row.id, /^[0-9a-f]{32}$/);
          assert.equal(row.ip, null);
          assert.equal(row.user_agent, null);
        }
        assert.equal(new Set(rows.map((row) => row.id)).size, 3, 'distinct ids');
        await assert.rejects(
          store.insertSession({ token_hash: 'hash-d', user_id: 'u1', created_at: 1, last_used_at: 1, expires_at: 2, id: rows[0]!.id, ip: null, user_agent: null }),
          'a second session with the same id is refused',
        );
      } finally {
        await store.close();
        await database.drop();
      }
    });
  });
});
