// The outbox worker as `serve` wires it, with its production options (the
// fault tests shorten the backoff to 20 ms): API.md, Email — delivery "with
// retries"; src/mail/worker.ts — a temporary failure is retried 5 s ±50%
// later, then 10 s ±50%; a message whose link expired before it could be
// delivered ends `failed`, and `latchkey outbox list --status failed` shows it
// with the reason. The SMTP side is a listener the test controls.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { strongPassword, uniqueEmail } from './support/accounts.ts';
import { skipUnlessPostgres, testSecretKey, type DatabaseKind, type TestDatabase } from './support/databases.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { until } from './support/process.ts';
import { runCli } from './support/serve-process.ts';
import { SmtpSink } from './support/smtp-sink.ts';
import { executeSql, selectRows } from './support/sql.ts';

const postgresSkip = await skipUnlessPostgres();

type Row = { id: string; recipient: string; status: string; attempts: number; next_attempt_at: number; last_error: string | null };

async function outboxRows(database: TestDatabase, recipient: string): Promise<Row[]> {
  const rows = await selectRows<Record<string, unknown>>(database, `select id, recipient, status, attempts, next_attempt_at, last_error from outbox where recipient = '${recipient.replaceAll("'", "''")}' order by created_at`);
  return rows.map((r) => ({ ...r, attempts: Number(r.attempts), next_attempt_at: Number(r.next_attempt_at) }) as Row);
}

/** Makes a retrying row due now, as if its backoff had passed (the test does not wait 5 s for it). */
async function makeDue(database: TestDatabase, id: string): Promise<void> {
  await executeSql(database, { sqlite: 'update outbox set next_attempt_at = ? where id = ?', postgres: 'update outbox set next_attempt_at = $1 where id = $2' }, [Date.now(), id]);
}

/** A TCP listener in place of an SMTP server that is down: it takes each connection and cuts it at once. */
async function downSmtp(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * Delays measured from before the attempts (so each is its backoff plus up to
 * `slack` ms): every one within base ±50%, and their mean within base ±30%
 * (12 uniform draws: the mean's spread is about 8% of base, so a different
 * base cannot pass by luck), and not all alike (the jitter is there).
 */
function assertSchedule(delays: number[], base: number, slack: number, what: string): void {
  const shown = `${what}: ${delays.join(', ')} ms (slack ${slack} ms), base ${base} ms`;
  for (const delay of delays) assert.ok(delay >= base * 0.5 && delay <= base * 1.5 + slack, `each within base ±50%: ${shown}`);
  const mean = delays.reduce((sum, d) => sum + d, 0) / delays.length;
  assert.ok(mean >= base * 0.7 && mean <= base * 1.3 + slack, `the mean ${Math.round(mean)} is near the base: ${shown}`);
  assert.ok(Math.max(...delays) - Math.min(...delays) > base * 0.1, `the delays are spread (jitter): ${shown}`);
}

for (const kind of ['sqlite', 'postgres'] as DatabaseKind[]) {
  describe(`the production retry schedule on ${kind}`, { skip: kind === 'postgres' ? postgresSkip : false }, () => {
    let server: TestServer;
    let busy: SmtpSink;
    before(async () => {
      // Every recipient is answered 421 (service not available, try later): a temporary failure.
      busy = await new SmtpSink({
        server: {
          onRcptTo(_address, _session, callback) {
            callback(Object.assign(new Error('4.3.2 Service not available, try again later'), { responseCode: 421 }));
          },
        },
      }).start();
      server = await startServer(kind, { MAIL_PORT: String(busy.port) });
    });
    after(async () => {
      await server?.stop();
      await busy?.stop();
    });

    test('after a 421 the retry is due 5 s ±50% later, after the second 10 s ±50% (12 messages: each in the window, their mean near the middle)', { timeout: 40_000 }, async () => {
      const emails = Array.from({ length: 12 }, () => uniqueEmail('backoff'));
      const firstBefore = Date.now();
      await Promise.all(emails.map(async (email) => {
        assert.equal((await server.request('POST', '/api/users', { body: { email, password: strongPassword() } })).status, 202);
      }));
      const first = await attempted(emails, 1);
      const firstAfter = Date.now();
      for (const row of first) assert.match(row.last_error ?? '', /421/);
      // Each attempt was made at some moment in [firstBefore, firstAfter]; its retry is 2.5 to 7.5 s after it.
      assertSchedule(first.map((row) => row.next_attempt_at - firstBefore), 5_000, firstAfter - firstBefore, 'first retry');

      const secondBefore = Date.now();
      for (const row of first) await makeDue(server.database, row.id);
      const second = await attempted(emails, 2);
      const secondAfter = Date.now();
      assertSchedule(second.map((row) => row.next_attempt_at - secondBefore), 10_000, secondAfter - secondBefore, 'second retry');
    });

    /** The rows of `emails` once each has made `attempts` attempts and waits for the next. */
    function attempted(emails: string[], attempts: number): Promise<Row[]> {
      return until(`attempt ${attempts} of every message recorded`, async () => {
        const rows = (await Promise.all(emails.map((email) => outboxRows(server.database, email)))).flat();
        return rows.length === emails.length && rows.every((row) => row.attempts === attempts && row.status === 'pending') ? rows : undefined;
      }, 15_000, 50);
    }
  });

  describe(`a link that expires before its mail can be delivered, on ${kind}`, { skip: kind === 'postgres' ? postgresSkip : false }, () => {
    let server: TestServer;
    let down: Awaited<ReturnType<typeof downSmtp>>;
    before(async () => {
      down = await downSmtp();
      server = await startServer(kind, { MAIL_PORT: String(down.port), RESET_TOKEN_TTL: '2' });
    });
    after(async () => {
      await server?.stop();
      down?.server.close();
    });

    test('SMTP down past RESET_TOKEN_TTL=2: the reset mail ends failed, and outbox list --status failed shows it with the reason', { timeout: 40_000 }, async () => {
      const email = uniqueEmail('expired-link');
      assert.equal((await server.request('POST', '/api/users', { body: { email, password: strongPassword() } })).status, 202);
      assert.equal((await server.request('POST', '/api/reset-password-request', { body: { email } })).status, 202);
      // The first attempt fails (connection cut), the retry 2.5–7.5 s later finds the 2 s link expired.
      const [confirmation, reset] = await until('the reset mail failed', async () => {
        const rows = await outboxRows(server.database, email);
        return rows.length === 2 && rows[1]!.status === 'failed' ? rows : undefined;
      }, 20_000, 100);
      assert.match(reset!.last_error ?? '', /expired/);
      assert.equal(confirmation!.status, 'pending', 'the confirmation, valid a day, is still being retried');

      const list = await runCli(['outbox', 'list', '--status', 'failed'], { DATABASE_URL: server.database.url, SECRET_KEY: testSecretKey, LOG_LEVEL: 'warn' });
      assert.equal(list.code, 0, list.stderr);
      const lines = list.stdout.trim().split('\n');
      assert.equal(lines.length, 2, `a header and the one failed message:\n${list.stdout}`);
      const line = lines[1]!;
      assert.ok(line.startsWith(`${reset!.id}\t`), line);
      assert.ok(line.includes(email), `the line names the recipient: ${line}`);
      assert.match(line, /expired before delivery/, 'the line gives the reason');
    });
  });
}
