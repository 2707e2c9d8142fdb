// The outbox as a delivery engine, against a real SMTP server with faults the
// test injects: an outage, temporary refusals, connections cut after DATA, a
// permanent refusal, a worker process killed mid-burst, two workers on one
// PostgreSQL outbox, TLS and AUTH, a worker stopping with mail in flight, and
// the operator's `latchkey outbox` commands. Every message must arrive; a
// message may arrive twice only when the server had it and the client could
// not know (a connection dropped after DATA, a worker killed mid-send).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generate } from 'selfsigned';
import { loadConfig } from '../src/config.ts';
import { Outbox, outboxSecretBox } from '../src/mail/outbox.ts';
import { MailRenderer } from '../src/mail/render.ts';
import { smtpTransport } from '../src/mail/transport.ts';
import { mailWorker } from '../src/mail/mail-delivery.ts';
import type { OutboxWorker, WorkerOptions } from '../src/mail/worker.ts';
import type { OutboxRow } from '../src/store/schema.ts';
import type { Store } from '../src/store/store.ts';
import { OutboxQueue } from '../src/store/outbox-queue.ts';
import { createDatabase, eachDatabase, migratedTestStore, openTestStore, skipUnlessPostgres, testSecretKey } from './support/databases.ts';
import { sleep, until } from './support/process.ts';
import { runCli, startCli, type CliProcess } from './support/serve-process.ts';
import { SmtpSink, type Arrival, type Verdict } from './support/smtp-sink.ts';

const postgresSkip = await skipUnlessPostgres();

const renderer = new MailRenderer({ appName: 'Latchkey', baseUrl: new URL('http://accounts.latchkey.test') });
const secretBox = outboxSecretBox(Buffer.from(testSecretKey, 'hex'));
const outbox = new Outbox('latchkey.test', secretBox);
const sender = 'Latchkey <no-reply@latchkey.test>';

// Certificates for the TLS tests: a private CA and a server certificate it
// signed for 127.0.0.1 and localhost, plus an unrelated CA.
const tlsDir = mkdtempSync(join(tmpdir(), 'latchkey-tls-'));
after(() => rmSync(tlsDir, { recursive: true, force: true }));
const caExtensions = [{ name: 'basicConstraints' as const, cA: true, critical: true }, { name: 'keyUsage' as const, keyCertSign: true, cRLSign: true, critical: true }];
const testCa = await generate([{ name: 'commonName', value: 'Latchkey Test CA' }], { keyType: 'ec', algorithm: 'sha256', extensions: caExtensions });
const otherCa = await generate([{ name: 'commonName', value: 'Some Other CA' }], { keyType: 'ec', algorithm: 'sha256', extensions: caExtensions });
const serverCert = await generate([{ name: 'commonName', value: 'localhost' }], {
  keyType: 'ec',
  algorithm: 'sha256',
  ca: { key: testCa.private, cert: testCa.cert },
  extensions: [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
  ],
});
const caFile = join(tlsDir, 'test-ca.pem');
const otherCaFile = join(tlsDir, 'other-ca.pem');
writeFileSync(caFile, testCa.cert);
writeFileSync(otherCaFile, otherCa.cert);
const tlsServer = { key: serverCert.private, cert: serverCert.cert };

type Counts = { sent: number; retried: number; failed: number };
type RunningWorker = { worker: OutboxWorker; counts: Counts; stop(): Promise<void> };

/** An OutboxWorker on `store` with its own pooled SMTP transport, configured from MAIL_* variables. */
async function startWorker(store: Store, mailEnv: Record<string, string>, options: Partial<WorkerOptions> = {}): Promise<RunningWorker> {
  const config = loadConfig({ MAIL_SERVER: '127.0.0.1', ...mailEnv });
  const transport = smtpTransport(config.smtp!);
  const counts: Counts = { sent: 0, retried: 0, failed: 0 };
  const worker = mailWorker(store, transport, renderer, {
    sender,
    secretBox,
    retryBaseMs: 20,
    pollMs: 20,
    ...options,
    count: (_kind, outcome) => { counts[outcome]++; },
    log: process.env.DEBUG_WORKER === undefined ? undefined : console,
  });
  await worker.start();
  let stopped = false;
  return {
    worker,
    counts,
    async stop() {
      if (stopped) return;
      stopped = true;
      // The order `latchkey worker` and `serve` use on SIGTERM.
      await worker.stop();
      transport.close();
    },
  };
}

function recipients(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}@example.com`);
}

/** Each message in its own transaction, as a flow does; each commit wakes the worker. */
async function enqueue(store: Store, to: string[]): Promise<void> {
  for (const address of to) {
    await store.transaction((tx) => outbox.enqueue(tx, { kind: 'password_changed', to: address, params: { name: null } }));
  }
}

/** Removes messages a test leaves pending on purpose, so no later test's server receives them. */
async function discard(store: Store, to: string[]): Promise<void> {
  await store.db.deleteFrom('outbox').where('recipient', 'in', to).execute();
}

async function rowsTo(store: Store, to: string[]): Promise<OutboxRow[]> {
  const wanted = new Set(to);
  return (await new OutboxQueue(store).list()).filter((row) => wanted.has(row.recipient));
}

async function allSent(store: Store, to: string[], timeoutMs: number): Promise<OutboxRow[]> {
  await until(`all ${to.length} rows sent`, async () => (await rowsTo(store, to)).every((row) => row.status === 'sent'), timeoutMs);
  const rows = await rowsTo(store, to);
  assert.equal(rows.length, to.length);
  return rows;
}

/** A number in [0, 1) fixed by `key`: random-looking, the same on every run. */
function chance(key: string): number {
  return createHash('sha256').update(`mail-faults/1:${key}`).digest().readUInt32BE(0) / 2 ** 32;
}

const refuse = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

eachDatabase((kind, skip) => {
  describe(`mail delivery faults on ${kind}`, { skip }, () => {
    let store: Store;
    let close: (() => Promise<void>) | undefined;

    before(async () => {
      ({ store, close } = await migratedTestStore(kind));
    });
    after(() => close?.());

    test('a burst of 50 enqueued while the SMTP server is down is retried with backoff and every message arrives once it is up', { timeout: 30_000 }, async () => {
      // Down, but on a port the test holds throughout: nothing else can take it meanwhile.
      const smtp = await new SmtpSink({ down: true }).start();
      const running = await startWorker(store, { MAIL_PORT: String(smtp.port) });
      const to = recipients(`down-${kind}`, 50);
      try {
        await enqueue(store, to);
        // Down long enough that every message failed twice: refused connections are temporary.
        await until('two failed attempts each', async () => (await rowsTo(store, to)).every((row) => row.attempts >= 2), 15_000);
        assert.equal(running.counts.sent, 0);
        // The port is held and every connection reset (a test cannot make a held port refuse).
        assert.ok((await rowsTo(store, to)).every((row) => row.status === 'pending' && /ECONNRESET/.test(row.last_error ?? '')), 'pending, with the connection error recorded');
        assert.ok(smtp.refusedConnections > 0, 'the worker did try the server while it was down');
        smtp.down = false;
        const rows = await allSent(store, to, 20_000);
        assert.ok(rows.every((row) => row.params === null && row.last_error === null), 'the body is erased and the error cleared once sent');
        const byId = smtp.byMessageId();
        assert.equal(smtp.arrivals.length, 50, 'no message arrived twice');
        for (const row of rows) assert.equal(byId.get(row.message_id)?.[0]?.rcptTo[0], row.recipient, `${row.recipient} arrived under its own Message-ID`);
        assert.ok(running.counts.retried >= 100, `each was retried at least twice (${running.counts.retried})`);
        assert.equal(running.counts.failed, 0);
      } finally {
        await running.stop();
        await smtp.stop();
      }
    });

    test('with 30% of messages answered 451 and 10% of connections dropped after DATA, every message arrives and only dropped ones arrive twice', { timeout: 60_000 }, async () => {
      // The verdict depends on the recipient and the attempt, so a run is reproducible.
      const smtp = await new SmtpSink({
        decide(arrival) {
          const roll = chance(`${arrival.rcptTo.join(',')}#${arrival.attempt}`);
          if (roll < 0.3) return { code: 451, message: '4.3.0 Try again later' };
          if (roll < 0.4) return 'drop';
          return 'accept';
        },
      }).start();
      const running = await startWorker(store, { MAIL_PORT: String(smtp.port) });
      const to = recipients(`flaky-${kind}`, 100);
      try {
        await enqueue(store, to);
        const rows = await allSent(store, to, 45_000);
        const byId = smtp.byMessageId();
        let duplicated = 0;
        let duplicatedMessages = 0;
        for (const row of rows) {
          const arrivals: Arrival[] = byId.get(row.message_id) ?? [];
          const accepted = arrivals.filter((a) => a.outcome === 'accepted').length;
          const dropped = arrivals.filter((a) => a.outcome === 'dropped').length;
          assert.equal(accepted, 1, `${row.recipient} was accepted exactly once`);
          assert.equal(arrivals.at(-1)?.outcome, 'accepted', `${row.recipient}: nothing was sent after the 250`);
          assert.equal(arrivals.length, row.attempts, `${row.recipient}: every attempt the row counts reached the server, and no other`);
          // The server holds a copy of each accepted message and of each one whose connection it dropped after DATA.
          const copies = accepted + dropped;
          duplicated += copies - 1;
          if (copies > 1) duplicatedMessages++;
        }
        const answers = smtp.arrivals;
        const refused = answers.filter((a) => a.outcome === 'refused').length;
        const drops = answers.filter((a) => a.outcome === 'dropped').length;
        assert.ok(refused > 0 && drops > 0, 'both faults were injected');
        assert.equal(duplicated, drops, 'the only extra copies are the ones whose connection was dropped after DATA');
        assert.equal(running.counts.sent, 100);
        assert.equal(running.counts.retried, refused + drops, 'each refusal and each drop was retried');
        assert.equal(running.counts.failed, 0);
        console.log(`mail faults on ${kind}: ${to.length} messages, ${answers.length} attempts over ${smtp.connections} connections (${refused} answered 451, ${drops} dropped after DATA) — sent ${running.counts.sent}, retried ${running.counts.retried}, duplicated ${duplicated} (${duplicatedMessages} messages), failed ${running.counts.failed}`);
      } finally {
        await running.stop();
        await smtp.stop();
      }
    });

    test('a 550 for one recipient (and a 554 after DATA for another) ends that message failed with the answer recorded, after one attempt; the others arrive once', { timeout: 20_000 }, async () => {
      const smtp = await new SmtpSink({
        // A 5xx to the content, at the end of DATA, is as final as one to the recipient.
        decide: (arrival) => (arrival.rcptTo[0] === `spam-${kind}@example.com` ? { code: 554, message: '5.6.0 Message content rejected' } : 'accept'),
        server: {
          onRcptTo(address, _session, callback) {
            if (address.address === `nobody-${kind}@example.com`) return callback(refuse(550, '5.1.1 No such user here'));
            callback();
          },
        },
      }).start();
      const running = await startWorker(store, { MAIL_PORT: String(smtp.port) });
      const to = [`before-${kind}@example.com`, `nobody-${kind}@example.com`, `after-${kind}@example.com`, `spam-${kind}@example.com`];
      try {
        await enqueue(store, to);
        await until('every message settled', async () => (await rowsTo(store, to)).every((row) => row.status !== 'pending'), 10_000);
        const rows = await rowsTo(store, to);
        const failed = rows.find((row) => row.recipient === `nobody-${kind}@example.com`)!;
        assert.equal(failed.status, 'failed');
        assert.match(failed.last_error ?? '', /550/);
        assert.match(failed.last_error ?? '', /No such user here/);
        assert.equal(failed.attempts, 1, 'a permanent refusal is not retried');
        assert.notEqual(failed.params, null, 'a failed message keeps its body for an operator retry');
        const spam = rows.find((row) => row.recipient === `spam-${kind}@example.com`)!;
        assert.equal(spam.status, 'failed');
        assert.match(spam.last_error ?? '', /554.*Message content rejected/);
        assert.equal(spam.attempts, 1);
        for (const row of rows.filter((r) => r !== failed && r !== spam)) assert.equal(row.status, 'sent', row.recipient);
        assert.deepEqual(smtp.accepted().map((a) => a.rcptTo[0]).sort(), [to[2], to[0]].sort(), 'the others arrived, once each');
        assert.deepEqual(running.counts, { sent: 2, retried: 0, failed: 2 });
      } finally {
        await running.stop();
        await smtp.stop();
      }
    });

    test('STARTTLS (MAIL_USE_TLS) to a server whose certificate a private CA in MAIL_CA_FILE signed, with AUTH: the message arrives encrypted and logged in', { timeout: 20_000 }, async () => {
      const smtp = await new SmtpSink({
        server: {
          ...tlsServer,
          authOptional: false,
          onAuth(auth, _session, callback) {
            if (auth.username === 'latchkey' && auth.password === 'relay pass') return callback(null, { user: 'latchkey' });
            callback(refuse(535, '5.7.8 Authentication credentials invalid'));
          },
        },
      }).start();
      const running = await startWorker(store, {
        MAIL_PORT: String(smtp.port), MAIL_USE_TLS: 'true', MAIL_CA_FILE: caFile, MAIL_USERNAME: 'latchkey', MAIL_PASSWORD: 'relay pass',
      });
      const to = [`starttls-${kind}@example.com`];
      try {
        await enqueue(store, to);
        await allSent(store, to, 10_000);
        assert.equal(smtp.arrivals.length, 1);
        assert.equal(smtp.arrivals[0]!.secure, true, 'the session was upgraded to TLS');
        assert.equal(smtp.arrivals[0]!.user, 'latchkey', 'the session was authenticated');
      } finally {
        await running.stop();
        await smtp.stop();
      }
    });

    test('implicit TLS (MAIL_USE_SSL) to a server whose certificate the CA in MAIL_CA_FILE signed: the message arrives', { timeout: 20_000 }, async () => {
      const smtp = await new SmtpSink({ server: { ...tlsServer, secure: true } }).start();
      const running = await startWorker(store, { MAIL_PORT: String(smtp.port), MAIL_USE_SSL: 'true', MAIL_CA_FILE: caFile });
      const to = [`implicit-tls-${kind}@example.com`];
      try {
        await enqueue(store, to);
        await allSent(store, to, 10_000);
        assert.equal(smtp.arrivals.length, 1);
        assert.equal(smtp.arrivals[0]!.secure, true);
      } finally {
        await running.stop();
        await smtp.stop();
      }
    });

    test('a certificate no trusted CA signed is refused, with STARTTLS and with implicit TLS, with or without another CA in MAIL_CA_FILE: the message is retried, never sent', { timeout: 30_000 }, async () => {
      const cases: { label: string; server: SmtpSink; env: Record<string, string> }[] = [];
      const starttls = await new SmtpSink({ server: tlsServer }).start();
      const implicit = await new SmtpSink({ server: { ...tlsServer, secure: true } }).start();
      cases.push({ label: 'starttls-no-ca', server: starttls, env: { MAIL_PORT: String(starttls.port), MAIL_USE_TLS: 'true' } });
      cases.push({ label: 'starttls-other-ca', server: starttls, env: { MAIL_PORT: String(starttls.port), MAIL_USE_TLS: 'true', MAIL_CA_FILE: otherCaFile } });
      cases.push({ label: 'implicit-other-ca', server: implicit, env: { MAIL_PORT: String(implicit.port), MAIL_USE_SSL: 'true', MAIL_CA_FILE: otherCaFile } });
      try {
        for (const { label, env } of cases) {
          const to = [`untrusted-${label}-${kind}@example.com`];
          const running = await startWorker(store, env);
          try {
            await enqueue(store, to);
            await until(`${label}: two attempts`, async () => (await rowsTo(store, to))[0]!.attempts >= 2, 10_000);
            const [row] = await rowsTo(store, to);
            assert.equal(row!.status, 'pending', `${label}: kept for a retry`);
            assert.match(row!.last_error ?? '', /certificate/i, `${label}: the TLS error is recorded`);
            assert.equal(running.counts.sent, 0, label);
            assert.equal(running.counts.failed, 0, `${label}: a TLS failure is temporary`);
          } finally {
            await running.stop();
            await discard(store, to);
          }
        }
        assert.equal(starttls.arrivals.length + implicit.arrivals.length, 0, 'no message body crossed an untrusted connection');
      } finally {
        await starttls.stop();
        await implicit.stop();
      }
    });

    test('a refusal before any message is sent (no STARTTLS offered under MAIL_USE_TLS, 554 at the greeting) is temporary: retried, not failed, nothing sent in the clear', { timeout: 20_000 }, async () => {
      const noStarttls = await new SmtpSink().start();
      const closed = await new SmtpSink({
        server: { onConnect(_session, callback) { callback(refuse(554, '5.3.2 No service for you right now')); } },
      }).start();
      const cases: { label: string; server: SmtpSink; env: Record<string, string> }[] = [
        { label: 'no-starttls', server: noStarttls, env: { MAIL_PORT: String(noStarttls.port), MAIL_USE_TLS: 'true', MAIL_CA_FILE: caFile } },
        { label: 'greeting-554', server: closed, env: { MAIL_PORT: String(closed.port) } },
      ];
      try {
        for (const { label, server, env } of cases) {
          const to = [`refused-session-${label}-${kind}@example.com`];
          const running = await startWorker(store, env);
          try {
            await enqueue(store, to);
            await until(`${label}: two attempts`, async () => { const [row] = await rowsTo(store, to); return row!.attempts >= 2 || row!.status !== 'pending'; }, 10_000);
            const [row] = await rowsTo(store, to);
            assert.equal(row!.status, 'pending', `${label}: the relay refused the session, not the message (${row!.last_error})`);
            assert.equal(running.counts.failed, 0, label);
            assert.equal(server.arrivals.length, 0, label);
          } finally {
            await running.stop();
            await discard(store, to);
          }
        }
      } finally {
        await noStarttls.stop();
        await closed.stop();
      }
    });

    test('AUTH with a wrong password delivers nothing and keeps the message; once the password is right it arrives', { timeout: 20_000 }, async () => {
      const smtp = await new SmtpSink({
        server: {
          ...tlsServer,
          authOptional: false,
          onAuth(auth, _session, callback) {
            if (auth.username === 'latchkey' && auth.password === 'relay pass') return callback(null, { user: 'latchkey' });
            callback(refuse(535, '5.7.8 Authentication credentials invalid'));
          },
        },
      }).start();
      const env = { MAIL_PORT: String(smtp.port), MAIL_USE_TLS: 'true', MAIL_CA_FILE: caFile, MAIL_USERNAME: 'latchkey' };
      const to = [`wrong-password-${kind}@example.com`];
      try {
        const wrong = await startWorker(store, { ...env, MAIL_PASSWORD: 'not the pass' });
        try {
          await enqueue(store, to);
          await until('two attempts', async () => (await rowsTo(store, to))[0]!.attempts >= 2, 10_000);
        } finally {
          await wrong.stop();
        }
        const [row] = await rowsTo(store, to);
        assert.equal(row!.status, 'pending', 'a bad login is a configuration problem, not a bad message');
        assert.match(row!.last_error ?? '', /EAUTH.*535|535.*EAUTH/s);
        assert.equal(smtp.arrivals.length, 0);
        assert.equal(wrong.counts.sent, 0);

        const right = await startWorker(store, { ...env, MAIL_PASSWORD: 'relay pass' });
        try {
          await allSent(store, to, 10_000);
          assert.equal(smtp.arrivals.length, 1);
          assert.equal(smtp.arrivals[0]!.user, 'latchkey');
        } finally {
          await right.stop();
        }
      } finally {
        await smtp.stop();
      }
    });

    test('stop() lets the messages in flight finish within the grace period and records them sent', { timeout: 20_000 }, async () => {
      // A slow server: each answer comes 300 ms after the message is in.
      const smtp = await new SmtpSink({ decide: async (): Promise<Verdict> => { await sleep(300); return 'accept'; } }).start();
      const running = await startWorker(store, { MAIL_PORT: String(smtp.port) }, { stopGraceMs: 10_000 });
      const to = recipients(`finish-${kind}`, 5);
      try {
        await enqueue(store, to);
        await smtp.waitUntil(() => smtp.arrivals.length === 5, 10_000, 'five messages in flight');
        assert.ok(smtp.arrivals.every((a) => a.outcome === 'pending'), 'none answered yet');
        await running.stop();
        const rows = await rowsTo(store, to);
        assert.deepEqual(rows.map((r) => r.status), to.map(() => 'sent'), 'stop() returned after they were sent and recorded');
        assert.equal(smtp.accepted().length, 5);
        assert.equal(smtp.arrivals.length, 5, 'none was sent twice');
      } finally {
        await running.stop();
        await smtp.stop();
      }
    });

    test('stop() gives up the messages still in flight after the grace period and releases their leases; another worker sends each once, at once', { timeout: 30_000 }, async () => {
      // The first worker's messages hang at RCPT TO: in flight, not answered.
      let hold = true;
      const held: ((error?: Error | null) => void)[] = [];
      const smtp = await new SmtpSink({
        server: {
          onRcptTo(_address, _session, callback) {
            if (hold) held.push(callback);
            else callback();
          },
        },
      }).start();
      const to = recipients(`release-${kind}`, 5);
      // A lease and a retry delay far longer than the test: only a release lets the second worker send.
      const first = await startWorker(store, { MAIL_PORT: String(smtp.port) }, { leaseMs: 600_000, retryBaseMs: 600_000, stopGraceMs: 200 });
      let second: RunningWorker | undefined;
      try {
        await enqueue(store, to);
        await until('five messages in flight', async () => held.length === 5, 10_000);
        await first.stop();
        const released = await rowsTo(store, to);
        assert.ok(released.every((row) => row.status === 'pending' && row.locked_until === null), 'released on stop');
        // A released message is someone else's now: the stopped worker must not go on sending it.
        await smtp.waitUntil(() => smtp.openConnections === 0, 5_000, "the stopped worker's SMTP sessions closed");
        // The slow server answers at last; a session still open would now deliver.
        hold = false;
        for (const callback of held.splice(0)) callback();
        await sleep(200);
        const beforeSecond = await rowsTo(store, to);
        assert.ok(beforeSecond.every((row) => row.status === 'pending' && row.locked_until === null && row.next_attempt_at <= Date.now()),
          `due now, not pushed back by the stopped worker's abandoned sends: ${beforeSecond.map((r) => `${r.status}, locked ${r.locked_until !== null}, due in ${r.next_attempt_at - Date.now()} ms, ${r.last_error}`).join('; ')}`);
        second = await startWorker(store, { MAIL_PORT: String(smtp.port) });
        const rows = await allSent(store, to, 10_000);
        assert.equal(smtp.arrivals.length, 5, 'each arrived once');
        assert.equal(smtp.accepted().length, 5);
        assert.ok(rows.every((row) => row.last_error === null), 'no stale outcome from the stopped worker');
      } finally {
        for (const callback of held.splice(0)) callback(refuse(451, '4.3.0 Shutting down'));
        await first.stop();
        await second?.stop();
        await smtp.stop();
      }
    });
  });
});

function startWorkerProcess(env: Record<string, string>): CliProcess {
  return startCli(['worker'], { LOG_LEVEL: 'warn', SECRET_KEY: testSecretKey, ...env });
}

describe('a latchkey worker process killed with SIGKILL in the middle of a burst of 200', { concurrency: true }, () => {
  eachDatabase((kind, skip) => {
    test(`on ${kind}, all 200 arrive after a restart, and only messages in flight at the kill arrive twice`, { skip, timeout: 60_000 }, async () => {
      const database = await createDatabase(kind);
      const store = openTestStore(database);
      // A slow server (an answer 30 ms after each message, five connections) so the kill lands mid-burst.
      const smtp = await new SmtpSink({ decide: async (): Promise<Verdict> => { await sleep(30); return 'accept'; } }).start();
      const env = { DATABASE_URL: database.url, MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(smtp.port) };
      let child: CliProcess | undefined;
      try {
        await store.migrate();
        const to = recipients(`kill-${kind}`, 200);
        await enqueue(store, to);
        child = startWorkerProcess(env);
        await smtp.waitUntil(() => smtp.arrivals.length >= 40, 20_000, '40 messages before the kill');
        await child.kill();
        const arrivedBeforeKill = smtp.arrivals.length;
        const now = Date.now();
        const atKill = await rowsTo(store, to);
        const leased = new Set(atKill.filter((row) => row.status === 'pending' && row.locked_until !== null && row.locked_until > now).map((row) => row.message_id));
        assert.ok(arrivedBeforeKill < 200 && atKill.some((row) => row.status === 'pending'), `the kill came mid-burst (${arrivedBeforeKill} arrived)`);
        assert.ok(leased.size > 0, 'the dead worker held leases');

        child = startWorkerProcess(env);
        // The dead worker's rows come back when their 15 s lease ends.
        const rows = await allSent(store, to, 45_000);
        const byId = smtp.byMessageId();
        let duplicated = 0;
        for (const row of rows) {
          const copies = (byId.get(row.message_id) ?? []).filter((a) => a.outcome !== 'refused').length;
          assert.ok(copies >= 1, `${row.recipient} arrived`);
          if (copies > 1) {
            duplicated += copies - 1;
            assert.ok(leased.has(row.message_id), `${row.recipient} arrived twice but was not in flight at the kill`);
            assert.equal(copies, 2, `${row.recipient} arrived twice at most`);
          }
        }
        console.log(`worker SIGKILL on ${kind}: ${arrivedBeforeKill} of 200 had reached the server at the kill, ${leased.size} leased by the dead worker; after the restart all 200 arrived, ${duplicated} twice`);
      } finally {
        await child?.stop();
        await smtp.stop();
        await store.close();
        await database.drop();
      }
    });
  });
});

describe('two workers sharing one PostgreSQL outbox', { skip: postgresSkip }, () => {
  test('1,000 messages through two workers on separate connections: each arrives exactly once and both take part', { timeout: 60_000 }, async () => {
    const database = await createDatabase('postgres');
    const stores = [openTestStore(database), openTestStore(database)];
    const smtp = await new SmtpSink().start();
    const workers: RunningWorker[] = [];
    try {
      await stores[0]!.migrate();
      const to = recipients('shared', 1000);
      await enqueue(stores[0]!, to);
      workers.push(...await Promise.all(stores.map((store) => startWorker(store, { MAIL_PORT: String(smtp.port) }))));
      const rows = await allSent(stores[0]!, to, 45_000);
      const byId = smtp.byMessageId();
      assert.equal(byId.size, 1000);
      for (const row of rows) assert.equal(byId.get(row.message_id)?.length, 1, `${row.recipient} arrived exactly once`);
      assert.equal(smtp.arrivals.length, 1000);
      assert.equal(workers[0]!.counts.sent + workers[1]!.counts.sent, 1000);
      assert.ok(workers.every((w) => w.counts.sent > 0), `both workers sent (${workers.map((w) => w.counts.sent).join(' + ')})`);
      console.log(`two workers on one PostgreSQL outbox: 1000 messages, ${workers[0]!.counts.sent} + ${workers[1]!.counts.sent} sent, ${smtp.arrivals.length - byId.size} duplicates`);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await smtp.stop();
      await Promise.all(stores.map((s) => s.close()));
      await database.drop();
    }
  });
});

describe('latchkey outbox commands on a SQLite file', () => {
  test('stats and list --status failed show messages refused with 550; retry ID and retry --all-failed queue them again and the running worker delivers them', { timeout: 60_000 }, async () => {
    const database = await createDatabase('sqlite');
    const store = openTestStore(database);
    const refused = new Set(['gone-1@example.com', 'gone-2@example.com']);
    const smtp = await new SmtpSink({
      server: {
        onRcptTo(address, _session, callback) {
          if (refused.has(address.address)) return callback(refuse(550, '5.1.1 Mailbox unavailable'));
          callback();
        },
      },
    }).start();
    const cli = async (...args: string[]) => {
      const { code, stdout, stderr } = await runCli(['outbox', ...args], { DATABASE_URL: database.url, SECRET_KEY: testSecretKey, LOG_LEVEL: 'warn' });
      return { code, stdout: code === 0 ? stdout : `${stdout}${stderr}` };
    };
    let running: RunningWorker | undefined;
    try {
      await store.migrate();
      // The running worker stands for `serve` or `latchkey worker`; the CLI is another process on the same file.
      running = await startWorker(store, { MAIL_PORT: String(smtp.port) });
      const to = ['kept-1@example.com', 'gone-1@example.com', 'gone-2@example.com'];
      await enqueue(store, to);
      await until('every message settled', async () => (await rowsTo(store, to)).every((row) => row.status !== 'pending'), 10_000);
      const byRecipient = new Map((await rowsTo(store, to)).map((row) => [row.recipient, row]));
      const gone1 = byRecipient.get('gone-1@example.com')!;
      const gone2 = byRecipient.get('gone-2@example.com')!;
      assert.equal(gone1.status, 'failed');
      assert.equal(gone2.status, 'failed');

      const stats = await cli('stats');
      assert.equal(stats.code, 0);
      assert.match(stats.stdout, /^pending 0$/m);
      assert.match(stats.stdout, /^failed 2$/m);

      const list = await cli('list', '--status', 'failed');
      assert.equal(list.code, 0);
      const lines = list.stdout.trim().split('\n');
      assert.equal(lines.length, 3, `a header and the two failed messages:\n${list.stdout}`);
      for (const row of [gone1, gone2]) {
        const line = lines.find((l) => l.startsWith(`${row.id}\t`));
        assert.ok(line !== undefined, `${row.recipient} is listed by id`);
        assert.match(line, new RegExp(`\\t${row.recipient}\\tfailed\\t1\\t`));
        assert.match(line, /550 .*Mailbox unavailable/);
      }
      assert.doesNotMatch(list.stdout, /kept-1@example\.com/);

      // The mailboxes exist now.
      refused.clear();
      const one = await cli('retry', gone1.id);
      assert.equal(one.code, 0, one.stdout);
      assert.match(one.stdout, /^1 message queued again/);
      await until('the retried message sent', async () => (await rowsTo(store, [gone1.recipient]))[0]!.status === 'sent', 10_000);
      assert.equal(smtp.accepted().filter((a) => a.rcptTo[0] === gone1.recipient).length, 1);
      assert.equal((await rowsTo(store, [gone2.recipient]))[0]!.status, 'failed', 'retry ID touches only that message');
      assert.match((await cli('stats')).stdout, /^failed 1$/m);

      const all = await cli('retry', '--all-failed');
      assert.equal(all.code, 0, all.stdout);
      assert.match(all.stdout, /^1 message queued again/);
      await until('the last failed message sent', async () => (await rowsTo(store, [gone2.recipient]))[0]!.status === 'sent', 10_000);
      assert.equal(smtp.accepted().filter((a) => a.rcptTo[0] === gone2.recipient).length, 1);

      const unknown = await cli('retry', 'no-such-id');
      assert.equal(unknown.code, 1, 'retrying an unknown id says it did nothing');
      assert.match(unknown.stdout, /^0 messages queued again/);
    } finally {
      await running?.stop();
      await smtp.stop();
      await store.close();
      await database.drop();
    }
  });
});
