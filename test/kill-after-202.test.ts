// API.md, Email: "A request answered 202 has its mail delivered even if the
// process dies right after answering." For a sign-up and for a reset request:
// `latchkey serve` is killed with SIGKILL the moment the 202 arrives, started
// again on the same database, and the mail arrives at the SMTP sink, once.
// Before the kill the server's SMTP port is a listener the test controls that
// cuts every connection, so nothing can have been delivered before the kill:
// only the outbox row can carry the mail over.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { linkTo, strongPassword, uniqueEmail } from './support/accounts.ts';
import { createDatabase, skipUnlessPostgres, testSecretKey, type DatabaseKind, type TestDatabase } from './support/databases.ts';
import { request, testBaseUrl } from './support/latchkey.ts';
import { until } from './support/process.ts';
import { SmtpSink } from './support/smtp-sink.ts';

const postgresSkip = await skipUnlessPostgres();
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

type Serve = { url: string; child: ChildProcess; output: () => string };

/** `latchkey serve` on `database`, mailing to 127.0.0.1:`smtpPort`; resolves once it listens. */
async function serve(database: TestDatabase, smtpPort: number): Promise<Serve> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', cli, 'serve'], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      PORT: '0', HOST: '127.0.0.1', BASE_URL: testBaseUrl, DATABASE_URL: database.url, SECRET_KEY: testSecretKey,
      MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(smtpPort), RATE_LIMITS: 'off', MANAGEMENT_PORT: 'off', LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  try {
    const url = await until('latchkey serve listening', () => {
      if (child.exitCode !== null) throw new Error(`latchkey serve exited with ${child.exitCode}:\n${output}`);
      return /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(output)?.[1];
    }, 30_000);
    return { url, child, output: () => output };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

async function end(serveProcess: Serve, signal: NodeJS.Signals): Promise<void> {
  if (serveProcess.child.exitCode !== null || serveProcess.child.signalCode !== null) return;
  const exited = once(serveProcess.child, 'exit');
  serveProcess.child.kill(signal);
  await exited;
}

/** A TCP listener in place of an SMTP server that is down: it takes each connection and cuts it at once. */
async function deadSmtp(): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => { connections += 1; socket.destroy(); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, connections: () => connections };
}

for (const kind of ['sqlite', 'postgres'] as DatabaseKind[]) {
  describe(`SIGKILL right after a 202 on ${kind}`, { skip: kind === 'postgres' ? postgresSkip : false }, () => {
    let database: TestDatabase;
    let sink: SmtpSink;
    let dead: Awaited<ReturnType<typeof deadSmtp>>;
    const running: Serve[] = [];
    before(async () => {
      database = await createDatabase(kind);
      sink = await new SmtpSink().start();
      dead = await deadSmtp();
    });
    after(async () => {
      for (const started of running) await end(started, 'SIGKILL');
      await sink?.stop();
      dead?.server.close();
      await database?.drop();
    });

    /** Starts serve, sends the request, kills it with SIGKILL as soon as the 202 is in; starts it again mailing to the sink. */
    async function answerThenKill(path: string, body: Record<string, string>): Promise<void> {
      const first = await serve(database, dead.port);
      running.push(first);
      const answer = await request(first.url, 'POST', path, { body });
      first.child.kill('SIGKILL');
      assert.equal(answer.status, 202, answer.text);
      await once(first.child, 'exit');
      assert.equal(first.child.signalCode, 'SIGKILL');
      const second = await serve(database, sink.port);
      running.push(second);
    }

    test('a sign-up: the confirmation mail arrives after the restart, once', { timeout: 60_000 }, async () => {
      const email = uniqueEmail('killed-sign-up');
      await answerThenKill('/api/users', { email, password: strongPassword() });
      // A kill during an attempt leaves the row leased (15 s) and one after it retrying (backoff up to 7.5 s): either way it comes.
      const mail = await sink.waitForMailTo(email, 0, 40_000);
      linkTo(mail, '/confirm');
      await end(running.at(-1)!, 'SIGTERM');
      assert.equal(sink.to(email).length, 1, 'delivered once');
    });

    test('a reset request: the reset mail arrives after the restart, once', { timeout: 60_000 }, async () => {
      // The account exists (and its own mail is out of the way) before the reset request.
      const email = uniqueEmail('killed-reset');
      const setup = await serve(database, sink.port);
      running.push(setup);
      assert.equal((await request(setup.url, 'POST', '/api/users', { body: { email, password: strongPassword() } })).status, 202);
      await sink.waitForMailTo(email, 0, 20_000);
      await end(setup, 'SIGTERM');

      await answerThenKill('/api/reset-password-request', { email });
      const mail = await sink.waitForMailTo(email, 1, 40_000);
      linkTo(mail, '/reset-password');
      await end(running.at(-1)!, 'SIGTERM');
      assert.equal(sink.to(email).length, 2, 'the confirmation and the reset mail, each once');
    });
  });
}
