// Issue 10, point 9: a copy of the database taken while mail waits (an SMTP
// outage) must open no account. Written as the attack: read every row and the
// raw files, try everything that looks like a token, then let SMTP come back
// and check the real links still work. And the key's own life: a key that no
// longer opens a message fails that message alone; SQLite's key file is made
// once and kept.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import pg from 'pg';
import { OutboxQueue } from '../src/store/outbox-queue.ts';
import { createDatabase, eachDatabase, openTestStore, skipUnlessPostgres, type TestDatabase, testSecretKey } from './support/databases.ts';
import { assertProblem } from './support/assertions.ts';
import { strongPassword, uniqueEmail } from './support/accounts.ts';
import { testBaseUrl } from './support/latchkey.ts';
import { until } from './support/process.ts';
import { serveOn, type RestartableServer } from './support/restartable-server.ts';
import { runCli } from './support/serve-process.ts';
import { SmtpSink, tokenFromLink, type ReceivedMail } from './support/smtp-sink.ts';

const postgresSkip = await skipUnlessPostgres();

function sqlitePath(database: TestDatabase): string {
  return database.url.slice('sqlite:'.length);
}

/** Everything an attacker with a copy of the database reads: every row of every table, and for SQLite the raw files too. */
async function readEverything(database: TestDatabase): Promise<string> {
  const parts: string[] = [];
  if (database.kind === 'sqlite') {
    const path = sqlitePath(database);
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      const tables = db.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[];
      for (const { name } of tables) parts.push(JSON.stringify(db.prepare(`select * from "${name}"`).all()));
    } finally {
      db.close();
    }
    // Free pages and old row versions keep what a SELECT no longer shows.
    for (const file of [path, `${path}-wal`]) if (existsSync(file)) parts.push(readFileSync(file).toString('latin1'));
  } else {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const tables = await client.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = 'public'");
      for (const { table_name } of tables.rows) {
        const rows = await client.query<{ row: string }>(`select row_to_json(t)::text as row from "${table_name}" t`);
        parts.push(...rows.rows.map((r) => r.row));
      }
    } finally {
      await client.end();
    }
  }
  return parts.join('\n');
}

async function outboxRows(database: TestDatabase) {
  const store = openTestStore(database);
  try {
    return await new OutboxQueue(store).list();
  } finally {
    await store.close();
  }
}

function mailWithLink(sink: SmtpSink, to: string, path: string): Promise<ReceivedMail> {
  return sink.waitFor((m) => m.rcptTo.includes(to) && m.links.some((l) => l.startsWith(`${testBaseUrl}${path}?token=`)), 20_000);
}

function linkIn(mail: ReceivedMail, path: string): string {
  return mail.links.find((l) => l.startsWith(`${testBaseUrl}${path}?token=`))!;
}

eachDatabase((kind, skip) => {
  test(`on ${kind}, a database copy taken while SMTP is down holds no link that opens an account, and the mail still works once SMTP is back`, { skip, timeout: 90_000 }, async () => {
    const database = await createDatabase(kind);
    // SMTP is down (every connection reset) on a port the test holds throughout.
    const sink = await new SmtpSink({ down: true }).start();
    const server = await serveOn(database, sink.port, { SECRET_KEY: testSecretKey });
    try {
      const email = uniqueEmail('copy');
      const password = strongPassword();
      assert.equal((await server.request('POST', '/api/users', { body: { email, password } })).status, 202);
      assert.equal((await server.request('POST', '/api/reset-password-request', { body: { email } })).status, 202);
      // Both messages tried and refused: pending, retrying, the state an outage leaves.
      await until('both messages attempted', async () => {
        const rows = await outboxRows(database);
        return rows.length === 2 && rows.every((r) => r.status === 'pending' && r.attempts >= 1);
      }, 20_000);

      const copy = await readEverything(database);
      const candidates = [...new Set(copy.match(/[A-Za-z0-9_-]{40,}/g) ?? [])];
      assert.ok(candidates.length >= 2, 'the copy holds long strings to try (hashes, sealed bodies)');
      for (const candidate of candidates) {
        assertProblem(await server.request('POST', '/api/reset-password', { body: { token: candidate, password: strongPassword() } }), 400, 'invalid_token');
        assertProblem(await server.request('POST', '/api/confirm', { body: { token: candidate } }), 400, 'invalid_token');
      }

      sink.down = false;
      const resetMail = await mailWithLink(sink, email, '/reset-password');
      const confirmMail = await mailWithLink(sink, email, '/confirm');
      const resetToken = tokenFromLink(linkIn(resetMail, '/reset-password'));
      const confirmToken = tokenFromLink(linkIn(confirmMail, '/confirm'));
      assert.ok(!copy.includes(resetToken) && !copy.includes(confirmToken), 'neither token is anywhere in the copy');

      const newPassword = strongPassword();
      assert.equal((await server.request('POST', '/api/reset-password', { body: { token: resetToken, password: newPassword } })).status, 200);
      assert.equal((await server.request('POST', '/api/sessions', { body: { email, password: newPassword } })).status, 201);
    } finally {
      await server.stop();
      await sink.stop();
      await database.drop();
    }
  });

  test(`on ${kind}, after a restart with another SECRET_KEY the message written under the old key fails with the reason, and new mail is delivered`, { skip, timeout: 90_000 }, async () => {
    const database = await createDatabase(kind);
    const newKey = randomBytes(32).toString('hex');
    const sink = await new SmtpSink({ down: true }).start();
    let server: RestartableServer | undefined = await serveOn(database, sink.port, { SECRET_KEY: testSecretKey });
    try {
      const early = uniqueEmail('old-key');
      assert.equal((await server.request('POST', '/api/users', { body: { email: early, password: strongPassword() } })).status, 202);
      await until('the message attempted once', async () => (await outboxRows(database)).some((r) => r.attempts >= 1), 20_000);
      await server.stop();
      server = undefined;

      sink.down = false;
      server = await serveOn(database, sink.port, { SECRET_KEY: newKey });
      // Its retry comes due after the backoff (at most 7.5 s).
      await until('the old message failed', async () => (await outboxRows(database)).some((r) => r.recipient === early && r.status === 'failed'), 20_000);

      const late = uniqueEmail('new-key');
      assert.equal((await server.request('POST', '/api/users', { body: { email: late, password: strongPassword() } })).status, 202);
      const mail = await mailWithLink(sink, late, '/confirm');
      assert.equal((await server.request('POST', '/api/confirm', { body: { token: tokenFromLink(linkIn(mail, '/confirm')) } })).status, 200);
      assert.equal(sink.to(early).length, 0, 'nothing reached the address whose message the key cannot open');

      const listed = await runCli(['outbox', 'list', '--status', 'failed'], { DATABASE_URL: database.url, SECRET_KEY: newKey, LOG_LEVEL: 'silent', MANAGEMENT_PORT: 'off' });
      assert.equal(listed.code, 0, listed.stderr);
      const line = listed.stdout.split('\n').find((l) => l.includes(early));
      assert.ok(line !== undefined, `the failed message is listed:\n${listed.stdout}`);
      assert.match(line, /\tfailed\t.*cannot decrypt: SECRET_KEY is not the key this message was written with$/);
    } finally {
      await server?.stop();
      await sink.stop();
      await database.drop();
    }
  });

  test(`on ${kind}, a message queued before encryption existed (plain JSON) is still delivered`, { skip, timeout: 60_000 }, async () => {
    const database = await createDatabase(kind);
    const sink = await new SmtpSink().start();
    const server = await serveOn(database, sink.port, { SECRET_KEY: testSecretKey });
    try {
      const store = openTestStore(database);
      const legacyLink = `${testBaseUrl}/reset-password?token=written-by-an-older-version`;
      try {
        const now = Date.now();
        await store.insertOutbox({
          id: 'legacy-row', kind: 'reset_password', recipient: 'legacy@example.com',
          params: JSON.stringify({ name: null, link: legacyLink, expires_at: new Date(now + 3_600_000).toISOString() }),
          message_id: '<legacy-row@latchkey.test>', status: 'pending', attempts: 0, next_attempt_at: now,
          locked_until: null, last_error: null, expires_at: now + 3_600_000, created_at: now, sent_at: null,
        });
      } finally {
        await store.close();
      }
      const mail = await sink.waitFor((m) => m.rcptTo.includes('legacy@example.com'), 20_000);
      assert.ok(mail.links.includes(legacyLink), `the plain row's link is mailed: ${JSON.stringify(mail.links)}`);
    } finally {
      await server.stop();
      await sink.stop();
      await database.drop();
    }
  });
});

test('on sqlite without SECRET_KEY, the key is created once beside the database (mode 0600) and mail queued before a restart is delivered after it', { timeout: 90_000 }, async () => {
  const database = await createDatabase('sqlite');
  const keyFile = `${sqlitePath(database)}.key`;
  const sink = await new SmtpSink({ down: true }).start();
  let server: RestartableServer | undefined = await serveOn(database, sink.port, { SECRET_KEY: '' });
  try {
    assert.ok(existsSync(keyFile), `${keyFile} exists`);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600, 'only its owner can read the key');
    const key = readFileSync(keyFile, 'utf8');

    const email = uniqueEmail('key-file');
    assert.equal((await server.request('POST', '/api/users', { body: { email, password: strongPassword() } })).status, 202);
    await until('the message attempted once', async () => (await outboxRows(database)).some((r) => r.attempts >= 1), 20_000);
    await server.stop();
    server = undefined;

    sink.down = false;
    server = await serveOn(database, sink.port, { SECRET_KEY: '' });
    assert.equal(readFileSync(keyFile, 'utf8'), key, 'the key file is reused, not replaced');
    const mail = await mailWithLink(sink, email, '/confirm');
    assert.equal((await server.request('POST', '/api/confirm', { body: { token: tokenFromLink(linkIn(mail, '/confirm')) } })).status, 200);
  } finally {
    await server?.stop();
    await sink.stop();
    await database.drop();
  }
});
