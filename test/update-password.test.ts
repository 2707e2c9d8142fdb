// API.md, POST /api/update-password.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { carriesToken, createAccount, logIn, requestReset, strongPassword } from './support/accounts.ts';
import { assertMessage, assertProblem, assertValidation, assertWellFormedMail } from './support/assertions.ts';
import { eachDatabase } from './support/databases.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { assertNoNewMail, mailCounts } from './support/mail-barrier.ts';

eachDatabase((kind, skip) => {
  describe(`POST /api/update-password on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind);
    });

    after(() => server?.stop());

    const update = (token: string | undefined, body: unknown) =>
      server.request('POST', '/api/update-password', token === undefined ? { body } : { body, token });
    const logInStatus = async (email: string, password: string) =>
      (await server.request('POST', '/api/sessions', { body: { email, password } })).status;

    test('without a session it is 401 unauthenticated and changes nothing', async () => {
      const account = await createAccount(server);
      const body = { current_password: account.password, new_password: strongPassword() };
      assertProblem(await update(undefined, body), 401, 'unauthenticated');
      assertProblem(await update('not-a-session', body), 401, 'unauthenticated');
      assert.equal(await logInStatus(account.email, account.password), 201);
    });

    test('a logged-out session is 401 unauthenticated', async () => {
      const account = await createAccount(server);
      const session = await logIn(server, account.email, account.password);
      assert.equal((await server.request('DELETE', '/api/sessions/current', { token: session })).status, 204);
      assertProblem(await update(session, { current_password: account.password, new_password: strongPassword() }), 401, 'unauthenticated');
    });

    test('a wrong current password is 401 invalid_credentials, keeps the password and mails nothing', async () => {
      const account = await createAccount(server);
      const session = await logIn(server, account.email, account.password);
      const counts = mailCounts(server, [account.email]);
      const newPassword = strongPassword();
      assertProblem(await update(session, { current_password: strongPassword(), new_password: newPassword }), 401, 'invalid_credentials');
      await assertNoNewMail(server, [account.email], counts);
      assert.equal(await logInStatus(account.email, account.password), 201);
      assert.equal(await logInStatus(account.email, newPassword), 401);
      assert.equal((await server.request('GET', '/api/me', { token: session })).status, 200, 'the session survives the mistake');
    });

    test('the right current password answers 200 {message} and sets the new password', async () => {
      const account = await createAccount(server);
      const session = await logIn(server, account.email, account.password);
      const newPassword = strongPassword();
      assertMessage(await update(session, { current_password: account.password, new_password: newPassword }), 200);
      assert.equal(await logInStatus(account.email, newPassword), 201);
      assert.equal(await logInStatus(account.email, account.password), 401);
    });

    test('it ends every other session of the user and keeps this one', async () => {
      const account = await createAccount(server);
      const others = [await logIn(server, account.email, account.password), await logIn(server, account.email, account.password)];
      const session = await logIn(server, account.email, account.password);
      const bystander = await createAccount(server);
      const bystanderSession = await logIn(server, bystander.email, bystander.password);
      assertMessage(await update(session, { current_password: account.password, new_password: strongPassword() }), 200);
      assert.equal((await server.request('GET', '/api/me', { token: session })).status, 200);
      for (const token of others) assertProblem(await server.request('GET', '/api/me', { token }), 401, 'unauthenticated');
      assert.equal((await server.request('GET', '/api/me', { token: bystanderSession })).status, 200);
    });

    test('it voids the outstanding reset link', async () => {
      const account = await createAccount(server);
      const resetToken = await requestReset(server, account.email);
      const session = await logIn(server, account.email, account.password);
      const newPassword = strongPassword();
      assertMessage(await update(session, { current_password: account.password, new_password: newPassword }), 200);
      assertProblem(await server.request('POST', '/api/reset-password', { body: { token: resetToken, password: strongPassword() } }), 400, 'invalid_token');
      assert.equal(await logInStatus(account.email, newPassword), 201);
    });

    test('it mails a "password changed" notice without a token', async () => {
      const account = await createAccount(server);
      const session = await logIn(server, account.email, account.password);
      const before = server.smtp.to(account.email).length;
      assertMessage(await update(session, { current_password: account.password, new_password: strongPassword() }), 200);
      const notice = await server.smtp.waitForMailTo(account.email, before);
      assertWellFormedMail(notice, { appName: 'Latchkey' });
      assert.equal(carriesToken(notice), false);
      assert.match(notice.subject + notice.text, /password/i);
    });

    test('a weak new password is 422 naming new_password and changes nothing', async () => {
      const account = await createAccount(server);
      const session = await logIn(server, account.email, account.password);
      for (const weak of ['short', 'password123', 'qwertyuiop', 'LatchKey-rules-99', account.email, 'y'.repeat(129)]) {
        assertValidation(await update(session, { current_password: account.password, new_password: weak }), ['new_password']);
      }
      assert.equal(await logInStatus(account.email, account.password), 201);
    });

    test('missing fields are 422 naming each', async () => {
      const account = await createAccount(server);
      const session = await logIn(server, account.email, account.password);
      assertValidation(await update(session, {}), ['current_password', 'new_password']);
      assertValidation(await update(session, { current_password: account.password }), ['new_password']);
      assertValidation(await update(session, { new_password: strongPassword() }), ['current_password']);
    });
  });
});
