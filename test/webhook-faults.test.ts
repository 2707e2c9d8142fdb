// API.md, Events and webhooks, when the receiver misbehaves: 503 then 200 is
// delivered once more under the same webhook-id; 400 fails the delivery and
// `latchkey outbox list --status failed` lists it; a receiver that refuses
// connections gets it once it is back; a `latchkey worker` killed with SIGKILL
// in the middle of 500 deliveries leaves none undelivered after a restart.
// The in-process worker runs with a 100 ms first retry (the worker's backoff
// knob) so that nothing here waits for the production 5 s.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { loadConfig, type Config } from '../src/config.ts';
import { recordEvent } from '../src/events/record.ts';
import { commandLine } from '../src/flows/client.ts';
import { Outbox, outboxSecretBox } from '../src/mail/outbox.ts';
import type { OutboxWorker } from '../src/mail/worker.ts';
import { resolveSecretKey } from '../src/security/secret-key.ts';
import { OutboxQueue } from '../src/store/outbox-queue.ts';
import type { User } from '../src/store/schema.ts';
import type { Store } from '../src/store/store.ts';
import { webhookWorker } from '../src/webhooks/delivery.ts';
import { eachDatabase, migratedTestStore, testSecretKey, type TestDatabase } from './support/databases.ts';
import { sleep, until } from './support/process.ts';
import { runCli, startCli } from './support/serve-process.ts';
import { SmtpSink } from './support/smtp-sink.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

function someUser(): User {
  const now = Date.now();
  const email = `${randomUUID()}@example.com`;
  return { id: randomUUID(), email, email_canonical: email, name: null, password_hash: 'never exported', confirmed_at: now, created_at: now, locale: 'en', disabled_at: null };
}

eachDatabase((kind, skip) => {
  describe(`webhook faults on ${kind}`, { skip }, () => {
    let receiver: WebhookReceiver;
    let database: TestDatabase;
    let store: Store;
    let close: () => Promise<void>;
    let config: Config;
    let outbox: Outbox;
    let worker: OutboxWorker | undefined;
    const env = () => ({ DATABASE_URL: database.url, SECRET_KEY: testSecretKey, WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret });

    /** Records one event (with its delivery) in a transaction of its own; returns its id, the webhook-id. */
    const emit = (user = someUser()) => store.transaction((tx) => recordEvent({ outbox, config }, tx, { type: 'user.signed_in', user, client: commandLine, data: { method: 'password' } }));
    const rowOf = async (eventId: string) => (await new OutboxQueue(store).list()).find((row) => row.message_id === eventId)!;
    const startWorker = async () => {
      worker = webhookWorker(store, config.webhook!, { secretBox: outboxSecretBox(resolveSecretKey(config)), retryBaseMs: 100, pollMs: 50 });
      await worker.start();
    };

    before(async () => {
      receiver = await new WebhookReceiver().start();
      ({ database, store, close } = await migratedTestStore(kind));
      config = loadConfig(env());
      outbox = new Outbox('accounts.latchkey.test', outboxSecretBox(resolveSecretKey(config)));
      await startWorker();
    });
    after(async () => {
      await worker?.stop();
      await receiver?.stop();
      await close?.();
    });

    test('503 then 200: delivered on the second attempt, under the same webhook-id and signature scheme', async () => {
      receiver.answer = (_delivery, attempt) => ({ status: attempt === 1 ? 503 : 200 });
      const id = await emit();
      await until('accepted', () => receiver.accepted().some((d) => d.id === id));
      const attempts = receiver.deliveries.filter((d) => d.id === id);
      assert.deepEqual(attempts.map((d) => d.status), [503, 200]);
      assert.ok(attempts.every((d) => d.verified));
      assert.equal(attempts[0]!.raw, attempts[1]!.raw, 'the same body on every attempt');
      await until('recorded as sent', async () => (await rowOf(id)).status === 'sent');
      assert.equal((await rowOf(id)).attempts, 2);
    });

    test('408 and 429 are retried; 400 fails the delivery at once, and `latchkey outbox list --status failed` lists it', async () => {
      receiver.answer = (_delivery, attempt) => ({ status: attempt === 1 ? 408 : attempt === 2 ? 429 : 200 });
      const retried = await emit();
      await until('accepted after 408 and 429', () => receiver.accepted().some((d) => d.id === retried));

      receiver.answer = () => ({ status: 400 });
      const refused = await emit();
      await until('failed', async () => (await rowOf(refused)).status === 'failed');
      assert.equal(receiver.deliveries.filter((d) => d.id === refused).length, 1, 'a 400 is not retried');
      const row = await rowOf(refused);
      assert.match(row.last_error ?? '', /HTTP 400/);
      const listed = await runCli(['outbox', 'list', '--status', 'failed'], env());
      assert.equal(listed.code, 0, listed.stderr);
      const line = listed.stdout.split('\n').find((l) => l.startsWith(row.id));
      assert.ok(line, listed.stdout);
      assert.match(line, /\twebhook\tuser\.signed_in\tfailed\t1\t/);
      receiver.answer = () => ({ status: 200 });
    });

    test('a receiver that refuses connections for a while gets the delivery once it is back', async () => {
      await receiver.stop();
      const id = await emit();
      // Down for 3 s with a 100 ms first retry (five or so refused attempts); the 30 s outage with the
      // production backoff is test/webhook-outage.test.ts.
      await sleep(3000);
      const waiting = await rowOf(id);
      assert.equal(waiting.status, 'pending');
      assert.ok(waiting.attempts >= 2, `retried while down (${waiting.attempts} attempts)`);
      assert.match(waiting.last_error ?? '', /ECONNREFUSED/);
      await receiver.start();
      await until('delivered after the outage', () => receiver.accepted().some((d) => d.id === id), 30_000);
    });

    test('`latchkey worker` killed with SIGKILL in the middle of 500 deliveries: all delivered after a restart', { timeout: 120_000 }, async (t) => {
      await worker?.stop();
      worker = undefined;
      const before = new Set(receiver.accepted().map((d) => d.id));
      const ids: string[] = [];
      for (let batch = 0; batch < 10; batch++) ids.push(...(await Promise.all(Array.from({ length: 50 }, () => emit()))));
      // A slow receiver, so the kill lands while deliveries are in flight.
      receiver.answer = () => ({ status: 200, delayMs: 20 });
      const smtp = await new SmtpSink().start();
      const workerEnv = { ...env(), MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(smtp.port), LOG_LEVEL: 'silent' };
      try {
        const first = startCli(['worker'], workerEnv);
        await until('100 delivered', () => receiver.accepted().length - before.size >= 100, 30_000);
        await first.kill();
        const atKill = receiver.accepted().length - before.size;
        const second = startCli(['worker'], workerEnv);
        try {
          // The killed worker's leases (15 s) must lapse before its rows come back.
          await until('all 500 delivered', () => ids.every((id) => receiver.accepted().some((d) => d.id === id)), 60_000, 200);
        } finally {
          await second.stop();
        }
        const attempts = receiver.deliveries.filter((d) => ids.includes(d.id) && d.status === 200).length;
        t.diagnostic(`delivered at the kill: ${atKill}; 2xx deliveries in all: ${attempts}; duplicates: ${attempts - ids.length}`);
        console.log(`[webhook-faults ${kind}] SIGKILL after ${atKill}/500; duplicates after restart: ${attempts - ids.length}`);
        assert.ok(receiver.deliveries.filter((d) => ids.includes(d.id)).every((d) => d.verified));
      } finally {
        await smtp.stop();
      }
    });
  });
});
