// The outbox worker against a real SMTP server and real databases: mail that
// could not be sent is retried, never lost; a permanent refusal is recorded.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Outbox } from '../src/mail/outbox.ts';
import { MailRenderer } from '../src/mail/render.ts';
import { smtpTransport } from '../src/mail/transport.ts';
import { OutboxWorker } from '../src/mail/worker.ts';
import { loadConfig } from '../src/config.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { createDatabase, skipUnlessPostgres, type TestDatabase } from './support/databases.ts';
import { SmtpSink } from './support/smtp-sink.ts';

const renderer = new MailRenderer({ appName: 'Latchkey', baseUrl: new URL('http://accounts.latchkey.test') });
const outbox = new Outbox('latchkey.test');

async function enqueue(store: Store, to: string): Promise<void> {
  await store.transaction((tx) => outbox.enqueue(tx, { kind: 'password_changed', to, params: { name: null } }));
}

function startWorker(store: Store, port: number): { worker: OutboxWorker; close(): Promise<void> } {
  const config = loadConfig({ MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(port) });
  const transport = smtpTransport(config.smtp!);
  const worker = new OutboxWorker(store, transport, renderer, { sender: 'Latchkey <no-reply@latchkey.test>', retryBaseMs: 50, pollMs: 20 });
  worker.start(outbox);
  return { worker, close: async () => { await worker.stop(); transport.close(); } };
}

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`outbox delivery on ${kind}`, { skip: kind === 'postgres' ? await skipUnlessPostgres() : false }, () => {
    let database: TestDatabase;
    let store: Store;

    before(async () => {
      database = await createDatabase(kind);
      store = openStore(loadConfig({ DATABASE_URL: database.url }).database);
      await store.migrate();
    });
    after(async () => {
      await store.close();
      await database.drop();
    });

    test('mail enqueued while the SMTP server is down arrives once it is up, none lost', async () => {
      // Find a free port, then leave it closed: connections are refused.
      const probe = await new SmtpSink().start();
      const port = probe.port;
      await probe.stop();
      const { close } = startWorker(store, port);
      const recipients = Array.from({ length: 10 }, (_, i) => `down-${i}@example.com`);
      let sink: SmtpSink | undefined;
      try {
        for (const to of recipients) await enqueue(store, to);
        await until(async () => (await store.listOutbox()).filter((r) => recipients.includes(r.recipient) && r.attempts > 0).length === 10);
        sink = await new SmtpSink().start(port);
        await until(async () => recipients.every((to) => sink!.to(to).length > 0));
        const rows = (await store.listOutbox()).filter((r) => recipients.includes(r.recipient));
        assert.ok(rows.every((r) => r.status === 'sent' && r.attempts >= 2), 'each was retried, then sent');
        assert.ok(rows.every((r) => r.params === null), 'the body is erased once sent');
        assert.equal(recipients.reduce((n, to) => n + sink!.to(to).length, 0), 10, 'each arrived exactly once');
      } finally {
        // The pooled transport keeps connections open; close it before the server waits on them.
        await close();
        await sink?.stop();
      }
    });

    test('a 550 for one recipient ends that message failed with the answer; the others arrive', async () => {
      const sink = await new SmtpSink({
        onRcptTo(address, _session, callback) {
          if (address.address === 'nobody@example.com') {
            const error = Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 });
            return callback(error);
          }
          callback();
        },
      }).start();
      const { close } = startWorker(store, sink.port);
      try {
        for (const to of ['before@example.com', 'nobody@example.com', 'after@example.com']) await enqueue(store, to);
        await sink.waitForMailTo('before@example.com');
        await sink.waitForMailTo('after@example.com');
        await until(async () => (await store.listOutbox()).some((r) => r.recipient === 'nobody@example.com' && r.status === 'failed'));
        const failed = (await store.listOutbox()).find((r) => r.recipient === 'nobody@example.com')!;
        assert.match(failed.last_error ?? '', /550/);
        assert.match(failed.last_error ?? '', /No such user/);
        assert.equal(failed.attempts, 1, 'a permanent refusal is not retried');
      } finally {
        await close();
        await sink.stop();
      }
    });

    test('a 451 is temporary: the message is retried and arrives', async () => {
      let refusals = 0;
      const sink = await new SmtpSink({
        onRcptTo(address, _session, callback) {
          if (address.address === 'busy@example.com' && refusals < 2) {
            refusals++;
            return callback(Object.assign(new Error('4.3.0 Try again later'), { responseCode: 451 }));
          }
          callback();
        },
      }).start();
      const { close } = startWorker(store, sink.port);
      try {
        await enqueue(store, 'busy@example.com');
        await sink.waitForMailTo('busy@example.com');
        assert.equal(refusals, 2);
        await until(async () => (await store.listOutbox()).some((r) => r.recipient === 'busy@example.com' && r.status === 'sent'));
        const row = (await store.listOutbox()).find((r) => r.recipient === 'busy@example.com')!;
        assert.equal(row.attempts, 3);
        assert.equal(sink.to('busy@example.com').length, 1);
      } finally {
        await close();
        await sink.stop();
      }
    });
  });
}
