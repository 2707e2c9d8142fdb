// The store's write paths that issue 6 made faster: issuing a token with its
// mail as one unit, the index of live tokens, SQLite's group commit and
// PostgreSQL's prepared statements. Each keeps the behaviour it replaced.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { Outbox, outboxSecretBox } from '../src/mail/outbox.ts';
import type { NewToken } from '../src/store/schema.ts';
import type { Store } from '../src/store/store.ts';
import { OutboxQueue } from '../src/store/outbox-queue.ts';
import { type DatabaseKind, eachDatabase, migratedTestStore, skipUnlessPostgres, type TestDatabase, testSecretKey } from './support/databases.ts';
import { until } from './support/process.ts';

const outbox = new Outbox('latchkey.test', outboxSecretBox(Buffer.from(testSecretKey, 'hex')));

async function withStore(kind: DatabaseKind, fn: (store: Store, database: TestDatabase) => Promise<void>): Promise<void> {
  const { database, store, close } = await migratedTestStore(kind);
  try {
    await fn(store, database);
  } finally {
    await close();
  }
}

async function addUser(store: Store, id: string): Promise<void> {
  await store.insertUser({ id, email: `${id}@example.com`, email_canonical: `${id}@example.com`, name: null, password_hash: 'x', confirmed_at: null, created_at: 1 });
}

function token(hash: string, userId: string, purpose: NewToken['purpose'] = 'reset', now = 1000): NewToken {
  return { token_hash: hash, user_id: userId, purpose, new_email: null, created_at: now, expires_at: now + 3_600_000 };
}

const mail = (to: string) => outbox.row({ kind: 'password_changed', to, params: { name: null } });

async function liveTokens(store: Store, userId: string): Promise<string[]> {
  const rows = await store.db.selectFrom('tokens').select('token_hash').where('user_id', '=', userId).where('spent_at', 'is', null).orderBy('token_hash').execute();
  return rows.map((r) => r.token_hash);
}

eachDatabase((kind, skip) => {
  describe(`store on ${kind}`, { skip }, () => {
    test('issueToken voids the live tokens of the named purposes only, keeps the new one live, and queues its mail', () => withStore(kind, async (store) => {
      await addUser(store, 'u1');
      await addUser(store, 'u2');
      await store.issueToken(token('r1', 'u1'), ['reset'], mail('u1@example.com'));
      await store.issueToken(token('c1', 'u1', 'confirm'), [], mail('u1@example.com'));
      await store.issueToken(token('r-other', 'u2'), ['reset'], mail('u2@example.com'));
      await store.issueToken(token('r2', 'u1', 'reset', 2000), ['reset'], mail('u1@example.com'));
      assert.deepEqual(await liveTokens(store, 'u1'), ['c1', 'r2']);
      assert.deepEqual(await liveTokens(store, 'u2'), ['r-other']);
      const voided = await store.db.selectFrom('tokens').select('spent_at').where('token_hash', '=', 'r1').executeTakeFirstOrThrow();
      assert.equal(voided.spent_at, 2000);
      assert.equal((await new OutboxQueue(store).list({ status: 'pending' })).length, 4);
    }));

    test('issueToken is all or nothing: a token that cannot be stored leaves no mail and voids nothing', () => withStore(kind, async (store) => {
      await addUser(store, 'u1');
      await store.issueToken(token('r1', 'u1'), ['reset'], mail('u1@example.com'));
      // The same token hash again: the primary key refuses it.
      await assert.rejects(store.issueToken(token('r1', 'u1', 'reset', 2000), ['reset'], mail('u1@example.com')));
      assert.deepEqual(await liveTokens(store, 'u1'), ['r1']);
      assert.equal((await new OutboxQueue(store).list()).length, 1);
    }));

    test('the live-token index holds unspent tokens only, and voiding uses it', () => withStore(kind, async (store) => {
      await addUser(store, 'u1');
      // PostgreSQL's planner picks by table statistics (a near-empty table is scanned), so the plan is checked on SQLite only.
      if (kind === 'sqlite') {
        const plan = await sql<{ detail: string }>`explain query plan update tokens set spent_at = 1 where user_id = 'u1' and purpose in ('reset') and spent_at is null`.execute(store.db);
        assert.match(plan.rows.map((r) => r.detail).join('\n'), /tokens_live_user_id_purpose/);
      }
      const indexes = kind === 'sqlite'
        ? (await sql<{ sql: string }>`select sql from sqlite_master where type = 'index' and tbl_name = 'tokens' and name like 'tokens_%user%' and sql is not null`.execute(store.db)).rows.map((r) => r.sql)
        : (await sql<{ sql: string }>`select indexdef as sql from pg_indexes where tablename = 'tokens' and indexname like 'tokens_%user%'`.execute(store.db)).rows.map((r) => r.sql);
      assert.equal(indexes.length, 1, indexes.join('\n'));
      assert.match(indexes[0]!, /where.*spent_at.* is null/i);
    }));
  });
});

describe('SQLite group commit', () => {
  test('transactions asked for together commit together, each sees its own writes, and a failing one is undone alone', () => withStore('sqlite', async (store) => {
    await addUser(store, 'u1');
    const results = await Promise.allSettled([
      store.transaction(async (tx) => { await tx.insertToken(token('a', 'u1')); return (await tx.findLiveToken('a', ['reset'], 0))?.token_hash; }),
      store.transaction(async (tx) => { await tx.insertToken(token('b', 'u1')); throw new Error('flow refused'); }),
      store.transaction(async (tx) => { await tx.insertToken(token('c', 'u1')); await tx.insertToken(token('c', 'u1')); }),
      store.transaction(async (tx) => { await tx.insertToken(token('d', 'u1')); return 'd'; }),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    assert.equal((results[0] as PromiseFulfilledResult<string>).value, 'a');
    assert.equal((results[1] as PromiseRejectedResult).reason.message, 'flow refused');
    assert.deepEqual(await liveTokens(store, 'u1'), ['a', 'd']);
  }));

  test('a caller is answered only once its batch has committed: another connection sees the write by then', () => withStore('sqlite', async (store, database) => {
    await addUser(store, 'u1');
    const { DatabaseSync } = await import('node:sqlite');
    const other = new DatabaseSync(database.url.slice('sqlite:'.length));
    try {
      const seen = await Promise.all(['x', 'y', 'z'].map((hash) => store.transaction((tx) => tx.insertToken(token(hash, 'u1')))
        .then(() => (other.prepare('select count(*) as n from tokens where token_hash = ?').get(hash) as { n: number }).n)));
      assert.deepEqual(seen, [1, 1, 1]);
    } finally {
      other.close();
    }
  }));
});

describe('PostgreSQL NOTIFY for workers elsewhere', { skip: await skipUnlessPostgres() }, () => {
  test('a burst of mail is announced a few times, not once per message, and the last message is announced after it commits', () => withStore('postgres', async (store, database) => {
    const listener = new pg.Client({ connectionString: database.url });
    await listener.connect();
    const heard: number[] = [];
    listener.on('notification', () => heard.push(performance.now()));
    await listener.query('listen latchkey_outbox');
    try {
      for (let i = 0; i < 40; i++) await store.insertOutbox(mail(`burst${i}@example.com`));
      const lastCommit = performance.now();
      // Notifications come in commit order: once one heard after the last commit is in, all are.
      await until('a notification after the last commit', () => heard.length > 0 && heard.at(-1)! >= lastCommit, 5000, 10).catch(() => {});
      assert.ok(heard.length >= 1 && heard.length < 40, `${heard.length} notifications for 40 messages`);
      assert.ok(heard.at(-1)! >= lastCommit, 'no notification after the last message committed');
    } finally {
      await listener.end();
    }
  }));
});

describe('PostgreSQL prepared statements', { skip: await skipUnlessPostgres() }, () => {
  test('a table changed under a prepared `select *` (a migration from another instance) is prepared again, not an error', () => withStore('postgres', async (store, database) => {
    await addUser(store, 'u1');
    assert.equal((await store.findUserById('u1'))?.id, 'u1');
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      await admin.query('alter table users add column nickname text');
    } finally {
      await admin.end();
    }
    // Every pooled connection that prepared it: run it on several at once.
    const found = await Promise.all(Array.from({ length: 12 }, () => store.findUserById('u1')));
    for (const user of found) assert.equal(user?.id, 'u1');
  }));
});
