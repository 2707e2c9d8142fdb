// An SMTP outage must show in the log an operator keeps (issue 10, point 12):
// before v2 every delivery outcome was logged at info, so with LOG_LEVEL=warn
// a mail server refusing everything left no line at all. Now a delivery that
// will be retried is a warning, a failed one an error, and neither line holds
// the link or its token. `latchkey serve` runs as a child process, its log
// read from stdout as an operator's collector would.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { strongPassword, uniqueEmail } from './support/accounts.ts';
import { FaultSmtp } from './support/fault-smtp.ts';
import { request } from './support/latchkey.ts';

const cliPath = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

type LogLine = { level: number; msg: string; kind?: string; err?: string; [key: string]: unknown };

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('latchkey serve at LOG_LEVEL=warn while the mail server refuses', () => {
  let smtp: FaultSmtp;
  let child: ChildProcess;
  let stdout = '';
  let base: string;
  let cwd: string;
  const delayed = uniqueEmail('delayed');
  const refused = uniqueEmail('refused');

  before(async () => {
    smtp = await new FaultSmtp({
      // Every message that reaches DATA: "try again later".
      decide: () => ({ code: 421, message: '4.3.2 Service not available, try again later' }),
      // Addresses starting with "refused": no such mailbox, for good.
      server: {
        onRcptTo(address, _session, callback) {
          callback(address.address.startsWith('refused') ? Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 }) : null);
        },
      },
    }).start();
    cwd = mkdtempSync(join(tmpdir(), 'latchkey-outage-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', cliPath, 'serve'], {
      cwd,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        BASE_URL: base,
        DATABASE_URL: `sqlite:${join(cwd, 'latchkey.db')}`,
        MAIL_SERVER: '127.0.0.1',
        MAIL_PORT: String(smtp.port),
        LOG_LEVEL: 'warn',
        RATE_LIMITS: 'off',
        MANAGEMENT_PORT: 'off',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const up = await fetch(`${base}/api/health`).then((r) => r.ok, () => false);
      if (up) break;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`serve did not come up\n${stdout}`);
      await sleep(100);
    }
  });

  after(async () => {
    if (child?.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await smtp?.stop();
    if (cwd !== undefined) rmSync(cwd, { recursive: true, force: true });
  });

  function logLines(): LogLine[] {
    return stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);
  }

  async function logLine(what: string, match: (line: LogLine) => boolean): Promise<LogLine> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = logLines().find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) assert.fail(`no ${what} in the log:\n${stdout}`);
      await sleep(50);
    }
  }

  test('a delivery answered 421 is logged as a warning, a recipient refused with 550 as an error; neither line holds the link or its token', { timeout: 60_000 }, async () => {
    for (const email of [delayed, refused]) {
      const response = await request(base, 'POST', '/api/users', { body: { email, password: strongPassword() } });
      assert.equal(response.status, 202, response.text);
    }

    const retried = await logLine('warning for the retried delivery', (line) => line.level === 40 && /retried/.test(line.msg));
    assert.equal(retried.kind, 'confirm');
    assert.match(String(retried.err), /\b421\b/);
    const failed = await logLine('error for the refused recipient', (line) => line.level === 50 && /failed/.test(line.msg));
    assert.equal(failed.kind, 'confirm');
    assert.match(String(failed.err), /\b550\b/);

    // The link the server tried to deliver (its DATA reached the SMTP server), unfolded from quoted-printable.
    const raw = smtp.arrivals.find((a) => a.rcptTo.includes(delayed))?.raw.replace(/=\r?\n/g, '') ?? '';
    const token = /token=([A-Za-z0-9_-]{16,})/.exec(raw)?.[1];
    assert.ok(token !== undefined, `a link with a token in the attempted message:\n${raw}`);
    assert.ok(!stdout.includes(token), 'the token is in no log line');
    for (const line of logLines()) assert.doesNotMatch(JSON.stringify(line), /token=|https?:\/\//i, 'no link in any log line');
    assert.deepEqual(logLines().filter((line) => line.level < 40), [], 'LOG_LEVEL=warn: nothing below warn');
  });
});
