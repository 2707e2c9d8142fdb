// An SMTP outage must show in the log an operator keeps (issue 10, point 12):
// before v2 every delivery outcome was logged at info, so with LOG_LEVEL=warn
// a mail server refusing everything left no line at all. Now a delivery that
// will be retried is a warning, a failed one an error, and neither line holds
// the link or its token. `latchkey serve` runs as a child process, its log
// read from stdout as an operator's collector would.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { strongPassword, uniqueEmail } from './support/accounts.ts';
import { request, testBaseUrl } from './support/latchkey.ts';
import { onlyAddress, startServe, type ServeProcess } from './support/serve-process.ts';
import { SmtpSink } from './support/smtp-sink.ts';

type LogLine = { level: number; msg: string; kind?: string; err?: string; [key: string]: unknown };

describe('latchkey serve at LOG_LEVEL=warn while the mail server refuses', () => {
  let smtp: SmtpSink;
  let serve: ServeProcess | undefined;
  let base: string;
  const delayed = uniqueEmail('delayed');
  const refused = uniqueEmail('refused');
  const stdout = () => serve?.stdout() ?? '';

  before(async () => {
    smtp = await new SmtpSink({
      // Every message that reaches DATA: "try again later".
      decide: () => ({ code: 421, message: '4.3.2 Service not available, try again later' }),
      // Addresses starting with "refused": no such mailbox, for good.
      server: {
        onRcptTo(address, _session, callback) {
          callback(address.address.startsWith('refused') ? Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 }) : null);
        },
      },
    }).start();
    serve = startServe({ BASE_URL: testBaseUrl, MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(smtp.port), LOG_LEVEL: 'warn', RATE_LIMITS: 'off' });
    // LOG_LEVEL=warn hides the "Server listening" line: its port is read from /proc.
    base = await onlyAddress(serve);
    await serve.waitFor('GET /api/health answers', () => fetch(`${base}/api/health`).then((r) => r.ok, () => false));
  });

  after(async () => {
    await serve?.stop();
    await smtp?.stop();
  });

  function logLines(): LogLine[] {
    return stdout().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);
  }

  function logLine(what: string, match: (line: LogLine) => boolean): Promise<LogLine> {
    return serve!.waitFor(`${what} in the log`, () => logLines().find(match), 15_000);
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
    assert.ok(!stdout().includes(token), 'the token is in no log line');
    for (const line of logLines()) assert.doesNotMatch(JSON.stringify(line), /token=|https?:\/\//i, 'no link in any log line');
    assert.deepEqual(logLines().filter((line) => line.level < 40), [], 'LOG_LEVEL=warn: nothing below warn');
  });
});
