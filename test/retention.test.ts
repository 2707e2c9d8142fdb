// Issue 10, point 10: RETENTION_DAYS. Rows of every kind, ended long ago and
// recently, beside live ones: a prune deletes exactly those ended more than
// RETENTION_DAYS ago, by the CLI, by a running server, and on PostgreSQL one
// instance at a time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { prunePastRetention } from '../src/retention.ts';
import type { Store } from '../src/store/store.ts';
import { OutboxQueue } from '../src/store/outbox-queue.ts';
import { type DatabaseKind, eachDatabase, migratedTestStore, skipUnlessPostgres, type TestDatabase, testSecretKey } from './support/databases.ts';
import { until } from './support/process.ts';
import { serveOn } from './support/restartable-server.ts';
import { runCli } from './support/serve-process.ts';
import { SmtpSink } from './support/smtp-sink.ts';

const postgresSkip = await skipUnlessPostgres();

const day = 86_400_000;
const hour = 3_600_000;
// The defaults: RETENTION_DAYS=30, SESSION_IDLE_TTL=7 days.
const retention = loadConfig({ SECRET_KEY: testSecretKey });

/**
 * Rows named by what they are; `prune` in a name means RETENTION_DAYS=30
 * deletes it. Times are relative to `now`.
 */
async function seed(store: Store, now: number): Promise<void> {
  await store.insertUser({ id: 'u1', email: 'u1@example.com', email_canonical: 'u1@example.com', name: null, password_hash: 'x', confirmed_at: null, created_at: now - 90 * day });

  const tokens: [string, number, number, number | null][] = [
    // [hash, created_at, expires_at, spent_at]
    ['prune-spent-40-days-ago', now - 40 * day, now - 40 * day + hour, now - 40 * day + 60_000],
    ['prune-expired-35-days-ago', now - 35 * day - hour, now - 35 * day, null],
    // Dead since it expired 35 days ago, though voided only yesterday.
    ['prune-voided-after-expiry', now - 35 * day - hour, now - 35 * day, now - day],
    ['keep-spent-2-days-ago', now - 2 * day, now - 2 * day + hour, now - 2 * day + 60_000],
    ['keep-expired-3-days-ago', now - 3 * day - hour, now - 3 * day, null],
    ['keep-live', now - 60_000, now + hour, null],
    // Issued 40 days ago with a long lifetime, still live.
    ['keep-live-issued-40-days-ago', now - 40 * day, now + day, null],
  ];
  for (const [hash, created, expires, spent] of tokens) {
    await store.insertToken({ token_hash: hash, user_id: 'u1', purpose: 'confirm', new_email: null, created_at: created, expires_at: expires });
    if (spent !== null) await store.db.updateTable('tokens').set({ spent_at: spent }).where('token_hash', '=', hash).execute();
  }

  const sessions: [string, number, number, number][] = [
    // [hash, created_at, last_used_at, expires_at]
    ['prune-expired-40-days-ago', now - 70 * day, now - 45 * day, now - 40 * day],
    // Idle since 40 days ago: ended 33 days ago (SESSION_IDLE_TTL 7 days), though its lifetime runs on.
    ['prune-idle-ended-33-days-ago', now - 45 * day, now - 40 * day, now + 15 * day],
    ['keep-idle-ended-3-days-ago', now - 20 * day, now - 10 * day, now + 10 * day],
    ['keep-expired-yesterday', now - 31 * day, now - 2 * day, now - day],
    ['keep-live', now - day, now - hour, now + 29 * day],
    ['keep-live-created-40-days-ago', now - 40 * day, now - day, now + 5 * day],
  ];
  for (const [hash, created, used, expires] of sessions) {
    await store.insertSession({ token_hash: hash, user_id: 'u1', created_at: created, last_used_at: used, expires_at: expires, id: `id-${hash}`, ip: null, user_agent: null });
  }

  const mail: [string, 'pending' | 'sent' | 'failed', number, number, number | null][] = [
    // [id, status, created_at, next_attempt_at (for a failed row: when it failed), sent_at]
    ['prune-sent-40-days-ago', 'sent', now - 40 * day, now - 40 * day, now - 40 * day + 1000],
    ['prune-failed-38-days-ago', 'failed', now - 40 * day, now - 38 * day, null],
    ['keep-sent-2-days-ago', 'sent', now - 2 * day, now - 2 * day, now - 2 * day + 1000],
    ['keep-failed-yesterday', 'failed', now - 2 * day, now - day, null],
    // Written 40 days ago; put back by `outbox retry` and failed again yesterday.
    ['keep-failed-again-after-retry-yesterday', 'failed', now - 40 * day, now - day, null],
    // Never delivered, however old: pending mail is never deleted.
    ['keep-pending-60-days-old', 'pending', now - 60 * day, now - 59 * day, null],
    ['keep-pending-new', 'pending', now, now, null],
  ];
  for (const [id, status, created, next, sent] of mail) {
    await store.insertOutbox({
      id, kind: 'password_changed', recipient: 'u1@example.com', params: status === 'sent' ? null : 'v1.sealed', message_id: `<${id}@latchkey.test>`,
      status, attempts: status === 'pending' ? 0 : 1, next_attempt_at: next, locked_until: null, last_error: null, expires_at: null, created_at: created, sent_at: sent,
    });
  }
}

const kept = {
  outbox: ['keep-failed-again-after-retry-yesterday', 'keep-failed-yesterday', 'keep-pending-60-days-old', 'keep-pending-new', 'keep-sent-2-days-ago'],
  tokens: ['keep-expired-3-days-ago', 'keep-live', 'keep-live-issued-40-days-ago', 'keep-spent-2-days-ago'],
  sessions: ['keep-expired-yesterday', 'keep-idle-ended-3-days-ago', 'keep-live', 'keep-live-created-40-days-ago'],
};

async function remaining(store: Store): Promise<typeof kept> {
  return {
    outbox: (await store.db.selectFrom('outbox').select('id').orderBy('id').execute()).map((r) => r.id),
    tokens: (await store.db.selectFrom('tokens').select('token_hash').orderBy('token_hash').execute()).map((r) => r.token_hash),
    sessions: (await store.db.selectFrom('sessions').select('token_hash').orderBy('token_hash').execute()).map((r) => r.token_hash),
  };
}

async function withSeededDatabase(kind: DatabaseKind, fn: (store: Store, database: TestDatabase) => Promise<void>): Promise<void> {
  const { database, store, close } = await migratedTestStore(kind);
  try {
    await seed(store, Date.now());
    await fn(store, database);
  } finally {
    await close();
  }
}

eachDatabase((kind, skip) => {
  test(`on ${kind}, a prune deletes exactly the mail, tokens and sessions that ended more than RETENTION_DAYS ago, batch after batch`, { skip }, async () => {
    await withSeededDatabase(kind, async (store) => {
      // Batches of one: every row takes its own batch, and the pass goes on until none is left.
      const report = await prunePastRetention(store, retention, Date.now(), { batchSize: 1 });
      assert.deepEqual(report, { outbox: 2, tokens: 3, sessions: 2, events: 0 });
      assert.deepEqual(await remaining(store), kept);
      assert.deepEqual(await prunePastRetention(store, retention), { outbox: 0, tokens: 0, sessions: 0, events: 0 }, 'a second pass finds nothing');
    });
  });

  test(`on ${kind}, latchkey prune prints what it deleted per table and exits 0`, { skip, timeout: 60_000 }, async () => {
    await withSeededDatabase(kind, async (store, database) => {
      const result = await runCli(['prune'], { DATABASE_URL: database.url, SECRET_KEY: testSecretKey, RETENTION_DAYS: '30', LOG_LEVEL: 'silent' });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'outbox: 2 deleted\ntokens: 3 deleted\nsessions: 2 deleted\nevents: 0 deleted\n');
      assert.deepEqual(await remaining(store), kept);
    });
  });

  test(`on ${kind}, a running server prunes at start-up`, { skip, timeout: 60_000 }, async () => {
    await withSeededDatabase(kind, async (store, database) => {
      // No mail goes out: the SMTP server is down throughout.
      const smtp = await new SmtpSink({ down: true }).start();
      const server = await serveOn(database, smtp.port, { SECRET_KEY: testSecretKey });
      try {
        await until('the ended rows are deleted', async () => (await remaining(store)).sessions.length === kept.sessions.length, 20_000);
        // The server's worker fails the 60-day-old pending message at once (too old
        // to send): it failed just now, so neither this pass nor the next deletes it.
        await until('the old pending message failed', async () => (await new OutboxQueue(store).list({ status: 'failed' })).some((r) => r.id === 'keep-pending-60-days-old'), 20_000);
        // On PostgreSQL the server's pass may still hold its turn (events come after
        // sessions): a pass that skipped (undefined) is tried again until it runs.
        const report = await until('the server\'s pass has finished', () => prunePastRetention(store, retention), 20_000);
        assert.deepEqual(report, { outbox: 0, tokens: 0, sessions: 0, events: 0 });
        assert.deepEqual(await remaining(store), kept);
      } finally {
        await server.stop();
        await smtp.stop();
      }
    });
  });
});

test('on postgres, a prune started while another is running skips instead of running beside it', { skip: postgresSkip, timeout: 60_000 }, async () => {
  await withSeededDatabase('postgres', async (store, database) => {
    // Hold one old session row locked, so the first prune stops on it mid-way, holding its turn.
    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    let released = false;
    try {
      const blockerPid: number = (await blocker.query('select pg_backend_pid() as pid')).rows[0].pid;
      await blocker.query('begin');
      await blocker.query("select * from sessions where token_hash = 'prune-expired-40-days-ago' for update");
      // Backends waiting on the blocker, asked outside its transaction (a CI run
      // once saw no waiter for 20 s when the blocker itself asked).
      const waitingOnBlocker = async () => (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where ${blockerPid}::int = any(pg_blocking_pids(pid))`.execute(store.db)).rows[0]?.n;
      assert.equal(await waitingOnBlocker(), 0);
      let firstFailed: unknown;
      const first = prunePastRetention(store, retention);
      first.catch((error: unknown) => { firstFailed = error; });
      await until('the first prune waits on the locked row', async () => {
        if (firstFailed !== undefined) throw firstFailed;
        return (await waitingOnBlocker()) === 1;
      }, 20_000);

      // A second prune (another instance: the CLI) neither waits nor deletes.
      const second = await runCli(['prune'], { DATABASE_URL: database.url, SECRET_KEY: testSecretKey, LOG_LEVEL: 'silent' });
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stdout, 'another instance is pruning now; nothing deleted here\n');

      await blocker.query('commit');
      released = true;
      assert.deepEqual(await first, { outbox: 2, tokens: 3, sessions: 2, events: 0 });
      assert.deepEqual(await remaining(store), kept);

      // The turn was given back: the next prune runs.
      const third = await runCli(['prune'], { DATABASE_URL: database.url, SECRET_KEY: testSecretKey, LOG_LEVEL: 'silent' });
      assert.equal(third.stdout, 'outbox: 0 deleted\ntokens: 0 deleted\nsessions: 0 deleted\nevents: 0 deleted\n');
    } finally {
      if (!released) await blocker.query('rollback').catch(() => {});
      await blocker.end();
    }
  });
});
