// Webhooks: (1) POST /api/reset-password-request per second against `serve`
// with WEBHOOK_URL unset and set (a request never waits for a webhook: the
// two should match), and (2) delivery throughput, events per second from
// outbox rows to a local receiver that answers 200, with the webhook worker's
// own settings. SQLite, and PostgreSQL when reachable.
//
//   SECONDS=5 EVENTS=2000 DATABASES=sqlite,postgres node --disable-warning=ExperimentalWarning bench/webhooks.ts
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { loadConfig } from '../src/config.ts';
import { recordEvent } from '../src/events/record.ts';
import { commandLine } from '../src/flows/client.ts';
import { Outbox, outboxSecretBox } from '../src/mail/outbox.ts';
import { serve } from '../src/main.ts';
import { resolveSecretKey } from '../src/security/secret-key.ts';
import type { User } from '../src/store/schema.ts';
import { webhookWorker } from '../src/webhooks/delivery.ts';
import { createDatabase, migratedTestStore, testSecretKey, type DatabaseKind } from '../test/support/databases.ts';
import { SmtpSink } from '../test/support/smtp-sink.ts';
import { newWebhookSecret } from '../test/support/webhook-receiver.ts';
import { benchDatabases } from './load/seed.ts';

const seconds = Number(process.env.SECONDS ?? 5);
const events = Number(process.env.EVENTS ?? 2000);
const secret = newWebhookSecret();

/** A receiver that answers 200 to everything and counts. */
async function startReceiver(): Promise<{ url: string; count: () => number; close(): Promise<void> }> {
  let count = 0;
  const server = createServer((request, response) => {
    request.resume().on('end', () => { count += 1; response.end('ok'); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    count: () => count,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

async function resetRequests(kind: DatabaseKind, webhookUrl: string | undefined): Promise<number> {
  const smtp = await new SmtpSink().start();
  const database = await createDatabase(kind);
  const config = loadConfig({
    PORT: '0', BASE_URL: 'http://accounts.latchkey.test', DATABASE_URL: database.url, MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(smtp.port),
    LOG_LEVEL: 'silent', RATE_LIMITS: 'off', SECRET_KEY: testSecretKey, MANAGEMENT_PORT: 'off',
    ...(webhookUrl === undefined ? {} : { WEBHOOK_URL: webhookUrl, WEBHOOK_SECRET: secret }),
  });
  const running = await serve(config);
  try {
    // An account, so that every request writes its reset mail (an unknown address writes nothing).
    const email = 'bench-reset@example.com';
    const signUp = await fetch(`${running.address}/api/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'correct horse battery staple' }) });
    if (signUp.status !== 202) throw new Error(`sign-up answered ${signUp.status}`);
    const result = await autocannon({
      url: `${running.address}/api/reset-password-request`, method: 'POST', connections: 16, duration: seconds,
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }),
    });
    if (result.non2xx > 0) throw new Error(`${result.non2xx} answers were not 2xx`);
    return result.requests.average;
  } finally {
    await running.stop();
    await smtp.stop();
    await database.drop();
  }
}

async function deliveryThroughput(kind: DatabaseKind, receiverUrl: string, delivered: () => number): Promise<number> {
  const { store, close } = await migratedTestStore(kind);
  const config = loadConfig({ DATABASE_URL: 'sqlite::memory:', SECRET_KEY: testSecretKey, WEBHOOK_URL: receiverUrl, WEBHOOK_SECRET: secret });
  const box = outboxSecretBox(resolveSecretKey(config));
  const outbox = new Outbox('accounts.latchkey.test', box);
  try {
    const now = Date.now();
    for (let done = 0; done < events; done += 100) {
      await Promise.all(Array.from({ length: Math.min(100, events - done) }, () => {
        const user: User = { id: randomUUID(), email: 'a@example.com', email_canonical: 'a@example.com', name: null, password_hash: '-', confirmed_at: now, created_at: now, locale: 'en', disabled_at: null };
        return store.transaction((tx) => recordEvent({ outbox, config }, tx, { type: 'user.signed_in', user, client: commandLine, data: { method: 'password' } }));
      }));
    }
    const before = delivered();
    const worker = webhookWorker(store, config.webhook!, { secretBox: box });
    const started = performance.now();
    await worker.start();
    while (delivered() - before < events) await new Promise((resolve) => setTimeout(resolve, 5));
    const elapsed = (performance.now() - started) / 1000;
    await worker.stop();
    return events / elapsed;
  } finally {
    await close();
  }
}

const receiver = await startReceiver();
try {
  const { kinds, skipped } = await benchDatabases();
  for (const reason of skipped) console.log(reason);
  for (const kind of kinds) {
    const unset = await resetRequests(kind, undefined);
    const set = await resetRequests(kind, receiver.url);
    const throughput = await deliveryThroughput(kind, receiver.url, receiver.count);
    console.log(`webhooks on ${kind}: reset-request ${unset.toFixed(0)} req/s without WEBHOOK_URL, ${set.toFixed(0)} req/s with it; delivery ${throughput.toFixed(0)} events/s (${events} events, worker concurrency 16, receiver in this process)`);
  }
} finally {
  await receiver.close();
}
