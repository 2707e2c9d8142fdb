// A request answered 202 has its mail delivered even if the process dies
// right after answering: the mail is in the database, not in a thread.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OutboxQueue } from '../src/store/outbox-queue.ts';
import { createDatabase, eachDatabase, openTestStore, testSecretKey } from './support/databases.ts';
import { request, testBaseUrl } from './support/latchkey.ts';
import { until } from './support/process.ts';
import { startServe, type ServeProcess } from './support/serve-process.ts';
import { SmtpSink } from './support/smtp-sink.ts';

eachDatabase((kind, skip) => {
  test(`on ${kind}, mail answered 202 arrives after the process is killed and started again`, { skip, timeout: 60_000 }, async () => {
    const database = await createDatabase(kind);
    // Down until the restart, on a port the test holds all along.
    const sink = await new SmtpSink({ down: true }).start();
    const env = { BASE_URL: testBaseUrl, DATABASE_URL: database.url, MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(sink.port), LOG_LEVEL: 'info', RATE_LIMITS: 'off', SECRET_KEY: testSecretKey };
    let child: ServeProcess = startServe(env);
    try {
      const url = await child.listening;
      // The SMTP server is down: nothing can be delivered before the kill.
      const answer = await request(url, 'POST', '/api/users', { body: { email: 'durable@example.com', password: 'correct horse battery' } });
      assert.equal(answer.status, 202);
      // Kill it once the failed attempt is recorded: a kill during an attempt
      // leaves the row leased, and it would come back only when the lease ends.
      const store = openTestStore(database);
      try {
        await until('a failed attempt recorded', async () => (await new OutboxQueue(store).list()).some((row) => row.attempts > 0));
      } finally {
        await store.close();
      }
      await child.kill();

      sink.down = false;
      child = startServe(env);
      await child.listening;
      // The first attempt failed with the server down, so the retry comes after its backoff (at most 7.5 s).
      const mail = await sink.waitForMailTo('durable@example.com', 0, 20_000);
      assert.match(mail.subject, /Confirm your email/);
      assert.equal(sink.to('durable@example.com').length, 1);
    } finally {
      await child.stop();
      await sink.stop();
      await database.drop();
    }
  });
});
