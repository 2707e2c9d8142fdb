// The `latchkey` command as an operator runs it: a child process with an
// explicit environment (nothing inherited but PATH), in a temporary working
// directory so no stray .env or data/ is read.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { createDatabase, skipUnlessPostgres, testSecretKey } from './support/databases.ts';
import { request } from './support/latchkey.ts';
import { freePort } from './support/process.ts';
import { listeningAddresses, onlyAddress, startCli, type CliProcess, type Exit } from './support/serve-process.ts';
import { SmtpSink, tokenFromLink } from './support/smtp-sink.ts';

const password = 'correct horse battery staple';

type Env = Record<string, string>;
type Finished = Exit & { stdout: string; stderr: string };

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
}

type Child = CliProcess;

/** `latchkey ARGS` in `cwd` (which the test removes). */
function newChild(args: string[], env: Env, cwd: string): Child {
  return startCli(args, env, { cwd });
}

/** Runs the CLI to completion (killed after timeoutMs). */
async function run(args: string[], env: Env, cwd: string, timeoutMs = 20_000): Promise<Finished> {
  const child = newChild(args, env, cwd);
  const timer = setTimeout(() => void child.kill(), timeoutMs);
  try {
    const exit = await child.exited;
    return { ...exit, stdout: child.stdout(), stderr: child.stderr() };
  } finally {
    clearTimeout(timer);
  }
}

/** Polls until `check` returns a value; fails early if the child exits. */
function eventually<T>(child: Child, what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<Exclude<T, undefined | false>> {
  return child.waitFor(what, check, timeoutMs);
}

/** Waits until GET /api/health answers 200. */
function waitForHealth(child: Child, base: string): Promise<true> {
  return eventually(child, `GET ${base}/api/health`, async () => {
    try {
      const response = await fetch(`${base}/api/health`);
      await response.arrayBuffer();
      return response.status === 200 ? true : undefined;
    } catch {
      return undefined;
    }
  });
}

describe('latchkey serve refuses bad configuration with one line naming the variable', () => {
  const cases: Array<[string, Env, string]> = [
    ['DATABASE_URL with an unknown scheme', { DATABASE_URL: 'mysql://localhost/latchkey' }, 'DATABASE_URL'],
    ['MAIL_PORT=abc', { MAIL_SERVER: '127.0.0.1', MAIL_PORT: 'abc' }, 'MAIL_PORT'],
    ['BASE_URL that is not a URL', { BASE_URL: 'not a url' }, 'BASE_URL'],
    ['MAIL_USE_TLS and MAIL_USE_SSL both on', { MAIL_SERVER: '127.0.0.1', MAIL_USE_TLS: 'true', MAIL_USE_SSL: 'true' }, 'MAIL_USE_TLS'],
    ['PORT=70000', { PORT: '70000' }, 'PORT'],
  ];

  for (const [label, env, variable] of cases) {
    test(`serve with ${label} exits non-zero with exactly one stderr line naming ${variable}`, { timeout: 30_000 }, async () => {
      const cwd = tempDir();
      try {
        const result = await run(['serve'], { DATABASE_URL: `sqlite:${join(cwd, 'db.sqlite')}`, ...env }, cwd);
        assert.notEqual(result.code, 0, 'exit code');
        assert.equal(result.signal, null, 'it exits by itself rather than hanging');
        assert.ok(result.stderr.endsWith('\n'), `stderr ends its line: ${JSON.stringify(result.stderr)}`);
        const lines = result.stderr.trimEnd().split('\n');
        assert.equal(lines.length, 1, `exactly one line on stderr: ${JSON.stringify(result.stderr)}`);
        assert.match(lines[0]!, new RegExp(`\\b${variable}\\b`));
        assert.equal(result.stdout, '', 'nothing else is printed');
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    });
  }

  test('serve with a bad DATABASE_URL mysql://user:s3cret@h/db does not print the password', { timeout: 30_000 }, async () => {
    const cwd = tempDir();
    try {
      const result = await run(['serve'], { DATABASE_URL: 'mysql://user:s3cret@h/db' }, cwd);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /DATABASE_URL/);
      assert.ok(!`${result.stdout}${result.stderr}`.includes('s3cret'), result.stderr);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('a bad value in the working directory .env file stops serve and is named', { timeout: 30_000 }, async () => {
    const cwd = tempDir();
    try {
      writeFileSync(join(cwd, '.env'), 'MAIL_SERVER=127.0.0.1\nMAIL_PORT=abc\n');
      const result = await run(['serve'], { DATABASE_URL: `sqlite:${join(cwd, 'db.sqlite')}` }, cwd);
      assert.notEqual(result.code, 0);
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, /\bMAIL_PORT\b/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('latchkey migrate', () => {
  test('migrate on a fresh SQLite file applies the migration, and a second run says it is up to date', { timeout: 60_000 }, async () => {
    const cwd = tempDir();
    const file = join(cwd, 'nested', 'latchkey.db');
    try {
      const env = { DATABASE_URL: `sqlite:${file}`, LOG_LEVEL: 'silent' };
      const first = await run(['migrate'], env, cwd);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /applied: .*0001-initial/);

      const db = new DatabaseSync(file);
      try {
        const tables = db.prepare("select name from sqlite_master where type = 'table'").all().map((r) => r.name);
        assert.ok(tables.includes('users'), `tables: ${tables.join(', ')}`);
      } finally {
        db.close();
      }

      const second = await run(['migrate'], env, cwd);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /up to date/);
      assert.doesNotMatch(second.stdout, /applied:/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('migrate reads DATABASE_URL from a .env file in the working directory', { timeout: 30_000 }, async () => {
    const cwd = tempDir();
    try {
      writeFileSync(join(cwd, '.env'), `DATABASE_URL=sqlite:${join(cwd, 'from-dotenv.db')}\n`);
      const result = await run(['migrate'], { LOG_LEVEL: 'silent' }, cwd);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(existsSync(join(cwd, 'from-dotenv.db')));
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('an environment variable wins over the same variable in .env', { timeout: 30_000 }, async () => {
    const cwd = tempDir();
    try {
      writeFileSync(join(cwd, '.env'), `DATABASE_URL=sqlite:${join(cwd, 'from-dotenv.db')}\n`);
      const result = await run(['migrate'], { LOG_LEVEL: 'silent', DATABASE_URL: `sqlite:${join(cwd, 'from-env.db')}` }, cwd);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(existsSync(join(cwd, 'from-env.db')), 'the environment database is migrated');
      assert.ok(!existsSync(join(cwd, 'from-dotenv.db')), 'the .env database is not touched');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('latchkey mail test', () => {
  test('mail test --to delivers a multipart text+HTML message through MAIL_SERVER and prints the SMTP answer', { timeout: 30_000 }, async () => {
    const cwd = tempDir();
    const sink = await new SmtpSink().start();
    try {
      const result = await run(['mail', 'test', '--to', 'someone@example.com'], {
        MAIL_SERVER: '127.0.0.1',
        MAIL_PORT: String(sink.port),
        DATABASE_URL: `sqlite:${join(cwd, 'db.sqlite')}`,
        LOG_LEVEL: 'silent',
      }, cwd);
      assert.equal(result.code, 0, result.stderr);

      assert.equal(sink.received.length, 1, 'exactly one message reached the SMTP server');
      const mail = sink.received[0]!;
      assert.deepEqual(mail.rcptTo, ['someone@example.com']);
      const contentType = mail.parsed.headers.get('content-type') as { value: string };
      assert.equal(contentType.value, 'multipart/alternative');
      assert.match(mail.text, /\S/, 'a text part');
      assert.match(mail.html, /<p>/, 'an HTML part');
      assert.match(mail.subject, /^Latchkey/, 'Subject prefixed by APP_NAME');

      // smtp-server answers a queued message with "250 OK: message queued".
      assert.match(result.stdout, /^sent: 250 .*queued/m);
    } finally {
      await sink.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('mail test without --to exits non-zero and sends nothing', { timeout: 30_000 }, async () => {
    const cwd = tempDir();
    const sink = await new SmtpSink().start();
    try {
      const result = await run(['mail', 'test'], {
        MAIL_SERVER: '127.0.0.1',
        MAIL_PORT: String(sink.port),
        DATABASE_URL: `sqlite:${join(cwd, 'db.sqlite')}`,
        LOG_LEVEL: 'silent',
      }, cwd);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /--to/);
      assert.equal(sink.received.length, 0);
    } finally {
      await sink.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('mail test --to with an invalid address exits non-zero and sends nothing', { timeout: 30_000 }, async () => {
    const cwd = tempDir();
    const sink = await new SmtpSink().start();
    try {
      const result = await run(['mail', 'test', '--to', 'not-an-address'], {
        MAIL_SERVER: '127.0.0.1',
        MAIL_PORT: String(sink.port),
        DATABASE_URL: `sqlite:${join(cwd, 'db.sqlite')}`,
        LOG_LEVEL: 'silent',
      }, cwd);
      assert.notEqual(result.code, 0);
      assert.equal(sink.received.length, 0);
    } finally {
      await sink.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('latchkey serve without MAIL_SERVER: the dev mailbox', () => {
  let cwd: string;
  let child: Child | undefined;
  let base: string;

  before(async () => {
    cwd = tempDir();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = newChild(['serve'], { PORT: String(port), BASE_URL: base, DATABASE_URL: `sqlite:${join(cwd, 'latchkey.db')}` }, cwd);
    await waitForHealth(child, base);
  });

  after(async () => {
    await child?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  async function mailboxMessages(): Promise<Array<{ to: string; subject: string; text: string; html: string }>> {
    // The page is HTML for people; /dev/mailbox.json is the same list for scripts.
    const response = await request(base, 'GET', '/dev/mailbox.json');
    assert.equal(response.status, 200, response.text);
    assert.ok(Array.isArray(response.json?.messages), response.text);
    return response.json.messages;
  }

  test('a registration confirmation shows up in /dev/mailbox and on the console, and its link confirms the account', { timeout: 60_000 }, async () => {
    const email = 'dev.user@example.com';
    const registered = await request(base, 'POST', '/api/users', { body: { email, password } });
    assert.equal(registered.status, 202, registered.text);

    const message = await eventually(child!, 'the confirmation in /dev/mailbox', async () => (await mailboxMessages()).find((m) => m.to.includes(email)));
    const link = message.text.match(/https?:\/\/\S+/)?.[0];
    assert.ok(link !== undefined, message.text);
    assert.ok(link.startsWith(`${base}/confirm?token=`), `link built from BASE_URL: ${link}`);

    await eventually(child!, 'the link on the console', () => (child!.stdout().includes(link) ? true : undefined), 10_000);

    const confirmed = await request(base, 'POST', '/api/confirm', { body: { token: tokenFromLink(link) } });
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.equal(confirmed.json.user.email, email);
    assert.equal(confirmed.json.user.confirmed, true);

    // The account really is confirmed: the right password now logs in.
    const login = await request(base, 'POST', '/api/sessions', { body: { email, password } });
    assert.equal(login.status, 201, login.text);
    assert.equal(login.json.user.confirmed, true);
  });

  test('/dev/mailbox lists the newest message first', { timeout: 60_000 }, async () => {
    for (const email of ['first.in.line@example.com', 'second.in.line@example.com']) {
      const registered = await request(base, 'POST', '/api/users', { body: { email, password } });
      assert.equal(registered.status, 202, registered.text);
      await eventually(child!, `mail to ${email}`, async () => ((await mailboxMessages()).some((m) => m.to.includes(email)) ? true : undefined));
    }
    const messages = await mailboxMessages();
    const first = messages.findIndex((m) => m.to.includes('first.in.line@example.com'));
    const second = messages.findIndex((m) => m.to.includes('second.in.line@example.com'));
    assert.ok(second < first, `newest first: second at ${second}, first at ${first}`);
  });
});

describe('latchkey serve with MAIL_SERVER', () => {
  test('/dev/mailbox is 404 when MAIL_SERVER is set', { timeout: 60_000 }, async () => {
    const cwd = tempDir();
    const sink = await new SmtpSink().start();
    const child = newChild(['serve'], {
      PORT: '0',
      BASE_URL: 'http://127.0.0.1',
      DATABASE_URL: `sqlite:${join(cwd, 'latchkey.db')}`,
      MAIL_SERVER: '127.0.0.1',
      MAIL_PORT: String(sink.port),
    }, cwd);
    try {
      const base = await child.listening;
      await waitForHealth(child, base);
      const response = await request(base, 'GET', '/dev/mailbox');
      assert.equal(response.status, 404, response.text);
      assert.equal(response.json?.code, 'not_found');
    } finally {
      await child.stop();
      await sink.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('serve exits 0 on SIGTERM', { timeout: 60_000 }, async () => {
    const cwd = tempDir();
    const sink = await new SmtpSink().start();
    const child = newChild(['serve'], {
      PORT: '0',
      BASE_URL: 'http://127.0.0.1',
      DATABASE_URL: `sqlite:${join(cwd, 'latchkey.db')}`,
      MAIL_SERVER: '127.0.0.1',
      MAIL_PORT: String(sink.port),
    }, cwd);
    try {
      const base = await child.listening;
      await waitForHealth(child, base);
      const exit = await child.stop();
      assert.deepEqual(exit, { code: 0, signal: null }, child.output());
    } finally {
      await child.stop();
      await sink.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

// At the top level: a describe callback that throws (CI=true without
// PostgreSQL) is printed as ✖ but does not fail the run (Node 24.9).
const postgresSkip = await skipUnlessPostgres();

describe('latchkey serve on PostgreSQL', () => {
  const skip = postgresSkip;

  test('two serve processes started at the same moment on one fresh database both come up and answer /api/health', { skip, timeout: 90_000 }, async () => {
    const database = await createDatabase('postgres');
    const cwd = tempDir();
    const children = [1, 2].map(() => newChild(['serve'], {
      PORT: '0',
      BASE_URL: 'http://127.0.0.1',
      DATABASE_URL: database.url,
      // Required with PostgreSQL, the same on every instance.
      SECRET_KEY: testSecretKey,
    }, cwd));
    try {
      const bases = await Promise.all(children.map((child) => child.listening));
      await Promise.all(children.map((child, i) => waitForHealth(child, bases[i]!)));
      for (const [i, base] of bases.entries()) {
        const health = await request(base, 'GET', '/api/health');
        assert.equal(health.status, 200, `serve #${i + 1}: ${health.text}`);
        assert.equal(health.json.status, 'ok');
      }
    } finally {
      await Promise.all(children.map((child) => child.stop()));
      rmSync(cwd, { recursive: true, force: true });
      await database.drop();
    }
  });
});

const canReadProc = existsSync(`/proc/${process.pid}/fd`) && existsSync('/proc/net/tcp') ? false : 'needs Linux /proc';

/** Resolves true when something accepts a TCP connection on 127.0.0.1:port. */
function accepts(port: number | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port!, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

function oneLine(stderr: string): string {
  assert.ok(stderr.endsWith('\n'), `stderr ends its line: ${JSON.stringify(stderr)}`);
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `exactly one line on stderr: ${JSON.stringify(stderr)}`);
  return lines[0]!;
}

describe('the management listener of latchkey serve and worker', () => {
  test('serve without MANAGEMENT_HOST listens on HOST:PORT and on 127.0.0.1:MANAGEMENT_PORT, nothing else; /metrics and /health answer there', { skip: canReadProc, timeout: 60_000 }, async () => {
    const cwd = tempDir();
    const [port, managementPort] = await Promise.all([freePort(), freePort()]);
    const child = newChild(['serve'], { PORT: String(port), BASE_URL: `http://127.0.0.1:${port}`, DATABASE_URL: `sqlite:${join(cwd, 'latchkey.db')}`, MANAGEMENT_PORT: String(managementPort) }, cwd);
    try {
      await waitForHealth(child, `http://127.0.0.1:${port}`);
      assert.deepEqual(listeningAddresses(child.child.pid!), [`127.0.0.1:${port}`, `127.0.0.1:${managementPort}`].sort());
      const management = `http://127.0.0.1:${managementPort}`;
      const metrics = await request(management, 'GET', '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.text, /^# TYPE latchkey_mail_deliveries_total counter$/m);
      const health = await request(management, 'GET', '/health');
      assert.equal(health.status, 200, health.text);
      assert.equal(health.json.status, 'ok');
    } finally {
      await child.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('serve with MANAGEMENT_PORT=off listens on HOST:PORT only', { skip: canReadProc, timeout: 60_000 }, async () => {
    const cwd = tempDir();
    const port = await freePort();
    const child = newChild(['serve'], { PORT: String(port), BASE_URL: `http://127.0.0.1:${port}`, DATABASE_URL: `sqlite:${join(cwd, 'latchkey.db')}`, MANAGEMENT_PORT: 'off' }, cwd);
    try {
      await waitForHealth(child, `http://127.0.0.1:${port}`);
      assert.deepEqual(listeningAddresses(child.child.pid!), [`127.0.0.1:${port}`]);
    } finally {
      await child.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('serve whose MANAGEMENT_PORT is taken exits non-zero with one line naming MANAGEMENT_PORT', { timeout: 30_000 }, async () => {
    const cwd = tempDir();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = await freePort();
    try {
      const result = await run(['serve'], { PORT: String(port), DATABASE_URL: `sqlite:${join(cwd, 'db.sqlite')}`, MANAGEMENT_PORT: String((taken.address() as AddressInfo).port) }, cwd);
      assert.notEqual(result.code, 0);
      assert.equal(result.signal, null, 'it exits by itself');
      assert.match(oneLine(result.stderr), /\bMANAGEMENT_PORT\b/);
      assert.equal(await accepts(port), false, 'the public port is not left open');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('worker serves its own /metrics and /health on MANAGEMENT_PORT', { timeout: 60_000 }, async () => {
    const cwd = tempDir();
    const sink = await new SmtpSink().start();
    const managementPort = await freePort();
    const management = `http://127.0.0.1:${managementPort}`;
    const child = newChild(['worker'], { DATABASE_URL: `sqlite:${join(cwd, 'latchkey.db')}`, MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(sink.port), MANAGEMENT_PORT: String(managementPort) }, cwd);
    try {
      const health = await eventually(child, `GET ${management}/health`, async () => {
        try {
          return await request(management, 'GET', '/health');
        } catch {
          return undefined;
        }
      });
      assert.equal(health.status, 200, health.text);
      assert.deepEqual(health.json.outbox, { pending: 0, due: 0, failed: 0, oldest_due_seconds: 0 });
      const metrics = await request(management, 'GET', '/metrics');
      assert.match(metrics.text, /^# TYPE latchkey_mail_deliveries_total counter$/m);
    } finally {
      await child.stop();
      await sink.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('the dev mailbox stays on a developer machine (start-up refusals)', () => {
  test('serve with BASE_URL=https://accounts.example.com and no MAIL_SERVER exits non-zero with one line naming MAIL_SERVER; nothing listens', { timeout: 30_000 }, async () => {
    const cwd = tempDir();
    const [port, managementPort] = await Promise.all([freePort(), freePort()]);
    try {
      const result = await run(['serve'], {
        PORT: String(port),
        BASE_URL: 'https://accounts.example.com',
        DATABASE_URL: `sqlite:${join(cwd, 'db.sqlite')}`,
        MANAGEMENT_PORT: String(managementPort),
      }, cwd);
      assert.notEqual(result.code, 0);
      assert.equal(result.signal, null, 'it exits by itself rather than serving');
      assert.match(oneLine(result.stderr), /\bMAIL_SERVER\b/);
      assert.equal(result.stdout, '');
      assert.equal(await accepts(port), false, 'nothing on PORT');
      assert.equal(await accepts(managementPort), false, 'nothing on MANAGEMENT_PORT');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('worker without MAIL_SERVER exits non-zero with one line naming MAIL_SERVER (instead of losing every message)', { timeout: 30_000 }, async () => {
    const cwd = tempDir();
    const managementPort = await freePort();
    try {
      const result = await run(['worker'], { DATABASE_URL: `sqlite:${join(cwd, 'db.sqlite')}`, MANAGEMENT_PORT: String(managementPort) }, cwd, 15_000);
      assert.notEqual(result.code, 0);
      assert.equal(result.signal, null, 'it exits by itself rather than running');
      assert.match(oneLine(result.stderr), /\bMAIL_SERVER\b/);
      assert.equal(result.stdout, '');
      assert.equal(await accepts(managementPort), false, 'nothing on MANAGEMENT_PORT');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('look-alike variables', () => {
  test('serve with MAIL_SEVRER=x starts (dev mailbox) and warns, naming MAIL_SEVRER and MAIL_SERVER', { timeout: 60_000 }, async () => {
    const cwd = tempDir();
    const child = newChild(['serve'], { PORT: '0', BASE_URL: 'http://127.0.0.1', DATABASE_URL: `sqlite:${join(cwd, 'latchkey.db')}`, MAIL_SEVRER: 'x', LOG_LEVEL: 'warn' }, cwd);
    try {
      // LOG_LEVEL=warn hides the "Server listening" line: the port is read from /proc.
      await waitForHealth(child, await onlyAddress(child));
      const warnings = child.stdout().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: number; msg: string })
        .filter((entry) => entry.level === 40 && entry.msg.includes('MAIL_SEVRER'));
      assert.equal(warnings.length, 1, child.output());
      assert.match(warnings[0]!.msg, /\bMAIL_SERVER\b/);
    } finally {
      await child.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
