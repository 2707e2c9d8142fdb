// A request answered 202 has its mail delivered even if the process dies
// right after answering: the mail is in the database, not in a thread.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { OutboxQueue } from '../src/store/outbox-queue.ts';
import { createDatabase, openTestStore, skipUnlessPostgres, testSecretKey, type DatabaseKind } from './support/databases.ts';
import { request } from './support/latchkey.ts';
import { SmtpSink } from './support/smtp-sink.ts';

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

async function startServe(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli.ts', 'serve'], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', RATE_LIMITS: 'off', SECRET_KEY: testSecretKey, MANAGEMENT_PORT: 'off', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${env.PORT}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/api/health`)).ok) return child;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('serve did not come up');
}

for (const kind of ['sqlite', 'postgres'] as DatabaseKind[]) {
  test(`on ${kind}, mail answered 202 arrives after the process is killed and started again`, { skip: kind === 'postgres' ? await skipUnlessPostgres() : false, timeout: 60_000 }, async () => {
    const database = await createDatabase(kind);
    const smtpPort = await freePort();
    const httpPort = await freePort();
    const env = { PORT: String(httpPort), BASE_URL: `http://127.0.0.1:${httpPort}`, DATABASE_URL: database.url, MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(smtpPort) };
    const url = env.BASE_URL;
    let child = await startServe(env);
    let sink: SmtpSink | undefined;
    try {
      // The SMTP port is closed: nothing can be delivered before the kill.
      const answer = await request(url, 'POST', '/api/users', { body: { email: 'durable@example.com', password: 'correct horse battery' } });
      assert.equal(answer.status, 202);
      // Kill it once the failed attempt is recorded: a kill during an attempt
      // leaves the row leased, and it would come back only when the lease ends.
      const store = openTestStore(database);
      try {
        while (!(await new OutboxQueue(store).list()).some((row) => row.attempts > 0)) await new Promise((r) => setTimeout(r, 20));
      } finally {
        await store.close();
      }
      child.kill('SIGKILL');
      await once(child, 'exit');

      sink = await new SmtpSink().start(smtpPort);
      child = await startServe(env);
      // The first attempt failed with the port closed, so the retry comes after its backoff (at most 7.5 s).
      const mail = await sink.waitForMailTo('durable@example.com', 0, 20_000);
      assert.match(mail.subject, /Confirm your email/);
      assert.equal(sink.to('durable@example.com').length, 1);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
      await sink?.stop();
      await database.drop();
    }
  });
}
