// API.md: an account an operator disabled (`latchkey users disable`). Its
// sessions end at once; a log-in is 403 account_disabled only after the right
// password (a wrong one is the 401 anyone gets); it is mailed nothing but
// notices; its links are dead; `users enable` lets it log in again.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, linkTo, logIn, requestEmailChange, requestReset, signUp, strongPassword, uniqueEmail } from './support/accounts.ts';
import { assertProblem } from './support/assertions.ts';
import { eachDatabase, testSecretKey } from './support/databases.ts';
import { startServer, testBaseUrl, type TestServer } from './support/latchkey.ts';
import { assertNoNewMail, mailCounts } from './support/mail-barrier.ts';
import { runCli } from './support/serve-process.ts';
import { tokenFromLink } from './support/smtp-sink.ts';

eachDatabase((kind, skip) => {
  describe(`a disabled account on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind);
    });

    after(() => server?.stop());

    async function users(...args: string[]): Promise<void> {
      const env = { DATABASE_URL: server.database.url, SECRET_KEY: testSecretKey, BASE_URL: testBaseUrl, MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(server.smtp.port), LOG_LEVEL: 'silent' };
      const result = await runCli(['users', ...args], env);
      assert.equal(result.code, 0, result.stderr);
    }

    test('sessions end at disable; 403 only after the right password; links dead; no mail but notices; enable restores log-in', async () => {
      const account = await createAccount(server, { name: 'Dee Disabled' });
      const sessions = [await logIn(server, account.email, account.password), await logIn(server, account.email, account.password)];
      const resetToken = await requestReset(server, account.email);
      const newEmail = uniqueEmail('moving');
      const changeToken = await requestEmailChange(server, sessions[0]!, newEmail, account.password);

      await users('disable', account.email);

      for (const token of sessions) assertProblem(await server.request('GET', '/api/me', { token }), 401, 'unauthenticated');
      assertProblem(await server.request('POST', '/api/sessions', { body: { email: account.email, password: strongPassword() } }), 401, 'invalid_credentials');
      assertProblem(await server.request('POST', '/api/sessions', { body: account }), 403, 'account_disabled');

      assertProblem(await server.request('POST', '/api/reset-password', { body: { token: resetToken, password: strongPassword() } }), 400, 'invalid_token');
      assertProblem(await server.request('POST', '/api/confirm', { body: { token: changeToken } }), 400, 'invalid_token');
      assert.equal((await fetch(new URL(`/reset-password?token=${resetToken}`, server.url))).status, 400, 'the reset page calls the link dead');

      const counts = mailCounts(server, [account.email]);
      assert.equal((await server.request('POST', '/api/reset-password-request', { body: { email: account.email } })).status, 202);
      assert.equal((await server.request('POST', '/api/users', { body: { email: account.email, password: strongPassword() } })).status, 202);
      assert.equal((await server.request('POST', '/api/resend-confirm', { body: { email: account.email } })).status, 202);
      await assertNoNewMail(server, [account.email], counts);

      await users('enable', account.email);
      const token = await logIn(server, account.email, account.password);
      assert.equal((await server.request('GET', '/api/me', { token })).status, 200);
      // What disabling ended stays ended.
      assertProblem(await server.request('GET', '/api/me', { token: sessions[0]! }), 401, 'unauthenticated');
      assertProblem(await server.request('POST', '/api/reset-password', { body: { token: resetToken, password: strongPassword() } }), 400, 'invalid_token');
      // Mail flows again.
      assert.ok(await requestReset(server, account.email));
    });

    test('an unconfirmed disabled account: its confirmation link is dead, resend mails nothing, the right password is 403 account_disabled', async () => {
      const email = uniqueEmail('unconfirmed');
      const password = strongPassword();
      const mail = await signUp(server, { email, password });
      const confirmToken = tokenFromLink(linkTo(mail, '/confirm'));

      await users('disable', email);

      assertProblem(await server.request('POST', '/api/confirm', { body: { token: confirmToken } }), 400, 'invalid_token');
      assert.equal((await fetch(new URL(`/confirm?token=${confirmToken}`, server.url))).status, 400);
      assertProblem(await server.request('POST', '/api/sessions', { body: { email, password } }), 403, 'account_disabled');
      const counts = mailCounts(server, [email]);
      assert.equal((await server.request('POST', '/api/resend-confirm', { body: { email } })).status, 202);
      await assertNoNewMail(server, [email], counts);
    });

    test('a disabled account on the log-in page: the wrong password is the usual error, the right one says it is disabled', async () => {
      const account = await createAccount(server);
      await users('disable', account.email);
      const { FormClient } = await import('./support/forms.ts');
      const browser = new FormClient(server.url);
      const wrong = await browser.submit('/login', { email: account.email, password: strongPassword() });
      assert.equal(wrong.status, 401);
      assert.doesNotMatch(wrong.text, /disabled/i);
      const right = await browser.submit('/login', { email: account.email, password: account.password });
      assert.equal(right.status, 403);
      assert.match(right.text, /role="alert"[^>]*>[^<]*disabled/i);
    });
  });
});
