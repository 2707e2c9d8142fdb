// The outbox worker against a real SMTP server and real databases: a message
// answered 451 is retried until it arrives. The other faults (an outage, 550,
// dropped connections, TLS, AUTH, a killed worker) are in mail-faults.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Outbox, outboxSecretBox } from '../src/mail/outbox.ts';
import { MailRenderer } from '../src/mail/render.ts';
import { smtpTransport } from '../src/mail/transport.ts';
import { mailWorker } from '../src/mail/mail-delivery.ts';
import type { OutboxWorker } from '../src/mail/worker.ts';
import { loadConfig } from '../src/config.ts';
import type { Store } from '../src/store/store.ts';
import { OutboxQueue } from '../src/store/outbox-queue.ts';
import { eachDatabase, migratedTestStore, testSecretKey } from './support/databases.ts';
import { until } from './support/process.ts';
import { SmtpSink } from './support/smtp-sink.ts';

const renderer = new MailRenderer({ appName: 'Latchkey', baseUrl: new URL('http://accounts.latchkey.test') });
const secretBox = outboxSecretBox(Buffer.from(testSecretKey, 'hex'));
const outbox = new Outbox('latchkey.test', secretBox);

async function enqueue(store: Store, to: string): Promise<void> {
  await store.transaction((tx) => outbox.enqueue(tx, { kind: 'password_changed', to, params: { name: null } }));
}

async function startWorker(store: Store, port: number, busy?: () => boolean): Promise<{ worker: OutboxWorker; close(): Promise<void> }> {
  const config = loadConfig({ MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(port) });
  const transport = smtpTransport(config.smtp!);
  const worker = mailWorker(store, transport, renderer, { sender: 'Latchkey <no-reply@latchkey.test>', secretBox, retryBaseMs: 50, pollMs: 20, busy, log: process.env.DEBUG_WORKER ? console : undefined });
  await worker.start();
  return { worker, close: async () => { await worker.stop(); transport.close(); } };
}

eachDatabase((kind, skip) => {
  describe(`outbox delivery on ${kind}`, { skip }, () => {
    let store: Store;
    let close: (() => Promise<void>) | undefined;

    before(async () => {
      ({ store, close } = await migratedTestStore(kind));
    });
    after(() => close?.());

    test('a 451 is temporary: the message is retried and arrives', async () => {
      let refusals = 0;
      const sink = await new SmtpSink({ server: {
        onRcptTo(address, _session, callback) {
          if (address.address === 'busy@example.com' && refusals < 2) {
            refusals++;
            return callback(Object.assign(new Error('4.3.0 Try again later'), { responseCode: 451 }));
          }
          callback();
        },
      } }).start();
      const { close } = await startWorker(store, sink.port);
      try {
        await enqueue(store, 'busy@example.com');
        await sink.waitForMailTo('busy@example.com');
        assert.equal(refusals, 2);
        await until('the retried message sent', async () => (await new OutboxQueue(store).list()).some((r) => r.recipient === 'busy@example.com' && r.status === 'sent'));
        const row = (await new OutboxQueue(store).list()).find((r) => r.recipient === 'busy@example.com')!;
        assert.equal(row.attempts, 3);
        assert.equal(sink.to('busy@example.com').length, 1);
      } finally {
        await close();
        await sink.stop();
      }
    });

    test('while requests have the process saturated, at most two messages are in flight; after, the pool is used in full', async () => {
      let open = 0;
      let most = 0;
      const sink = await new SmtpSink({ server: {
        onRcptTo(_address, _session, callback) {
          open += 1;
          most = Math.max(most, open);
          // Held a while, so messages in flight at once overlap here.
          setTimeout(() => { open -= 1; callback(); }, 60);
        },
      } }).start();
      let busy = true;
      const { close } = await startWorker(store, sink.port, () => busy);
      try {
        for (let i = 0; i < 10; i++) await enqueue(store, `rush${i}@example.com`);
        await until('the first 10 received', () => sink.received.length >= 10);
        assert.ok(most <= 2, `${most} in flight while busy`);
        busy = false;
        most = 0;
        for (let i = 0; i < 10; i++) await enqueue(store, `calm${i}@example.com`);
        await until('all 20 received', () => sink.received.length >= 20);
        assert.ok(most > 2, `only ${most} in flight when not busy`);
      } finally {
        await close();
        await sink.stop();
      }
    });
  });
});
