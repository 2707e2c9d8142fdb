// API.md: tokens never appear in a log line; nor do passwords. The server runs
// as a child at the most verbose level while every flow that handles a secret
// goes through it, and its whole output is searched for each secret.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDatabase, testSecretKey } from './support/databases.ts';
import { request, testBaseUrl } from './support/latchkey.ts';
import { startServe } from './support/serve-process.ts';
import { SmtpSink, tokenFromLink } from './support/smtp-sink.ts';

test('no token or password reaches the log at LOG_LEVEL=trace', { timeout: 60_000 }, async () => {
  const sink = await new SmtpSink().start();
  const database = await createDatabase('sqlite');
  const serve = startServe({ BASE_URL: testBaseUrl, DATABASE_URL: database.url, MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(sink.port), LOG_LEVEL: 'trace', RATE_LIMITS: 'off', SECRET_KEY: testSecretKey });
  try {
    const base = await serve.listening;
    const email = 'secretive@example.com';
    const password = 'first secret passphrase';
    const newPassword = 'second secret passphrase';
    await request(base, 'POST', '/api/users', { body: { email, password } });
    const confirmToken = tokenFromLink((await sink.waitForMailTo(email)).links[0]!);
    // A link opened with GET puts the token in the URL, which the access log records.
    await request(base, 'GET', `/confirm?token=${confirmToken}`);
    assert.equal((await request(base, 'POST', '/api/confirm', { body: { token: confirmToken } })).status, 200);
    const session = (await request(base, 'POST', '/api/sessions', { body: { email, password } })).json.token as string;
    assert.equal((await request(base, 'GET', '/api/me', { token: session })).status, 200);
    await request(base, 'POST', '/api/reset-password-request', { body: { email } });
    const resetToken = tokenFromLink((await sink.waitForMailTo(email, 1)).links[0]!);
    // The query parser decodes a parameter's name: %74oken and TOKEN reach the page as a token too.
    await request(base, 'GET', `/reset-password?%74oken=${resetToken}`);
    await request(base, 'GET', `/reset-password?lang=en&TOKEN=${resetToken}`);
    assert.equal((await request(base, 'POST', '/api/reset-password', { body: { token: resetToken, password: newPassword } })).status, 200);
    await sink.waitForMailTo(email, 2);
    // A log-in link and its code (issue 15): the link opened, then the code and the token redeemed.
    await request(base, 'POST', '/api/login-links', { body: { email } });
    const loginMail = await sink.waitForMailTo(email, 3);
    const loginToken = tokenFromLink(loginMail.links.find((link) => link.includes('/login/link?'))!);
    const loginCode = /(\d{6})$/m.exec(loginMail.text)![1]!;
    await request(base, 'GET', `/login/link?token=${loginToken}`);
    assert.equal((await request(base, 'POST', '/api/sessions', { body: { email, code: loginCode } })).status, 201);
    assert.equal((await request(base, 'POST', '/api/sessions', { body: { token: loginToken } })).status, 400);

    assert.match(serve.output(), /request completed/, 'requests were logged');
    for (const [name, secret] of Object.entries({ password, newPassword, confirmToken, session, resetToken, loginToken })) {
      assert.ok(!serve.output().includes(secret), `${name} appears in the log`);
    }
    // Six digits occur in timestamps; the code must not occur as a value of its own.
    assert.doesNotMatch(serve.output(), new RegExp(`["=]${loginCode}\\b`), 'the log-in code appears in the log');
  } finally {
    await serve.stop();
    await sink.stop();
    await database.drop();
  }
});
