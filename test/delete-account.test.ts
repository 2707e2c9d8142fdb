// API.md, DELETE /api/me (leaving) and PATCH /api/me (the name), over HTTP
// against the real server, its outbox and a real SMTP sink.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createAccount, linkTo, logIn, requestReset, signUp, strongPassword } from './support/accounts.ts';
import { assertProblem, assertUser, assertValidation } from './support/assertions.ts';
import { eachDatabase } from './support/databases.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { executeSql, selectRows } from './support/sql.ts';

const hour = 3_600_000;

/** A message waiting in the outbox for `recipient`, not due for an hour: unsent when the account goes. */
async function pendingMailTo(server: TestServer, recipient: string): Promise<string> {
  const id = randomUUID();
  const now = Date.now();
  const values = [id, 'password_changed', recipient, '{"name":null}', `<${id}@test>`, now + hour, now];
  const columns = 'id, kind, recipient, params, message_id, status, attempts, next_attempt_at, created_at';
  await executeSql(server.database, {
    sqlite: `insert into outbox (${columns}) values (?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
    postgres: `insert into outbox (${columns}) values ($1, $2, $3, $4, $5, 'pending', 0, $6, $7)`,
  }, values);
  return id;
}

async function outboxIds(server: TestServer, ids: string[]): Promise<string[]> {
  const rows = await selectRows<{ id: string }>(server.database, `select id from outbox where id in (${ids.map((id) => `'${id}'`).join(', ')})`);
  return rows.map((row) => row.id).sort();
}

eachDatabase((kind, skip) => {
  describe(`DELETE /api/me on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      // Rate limits on, with room for the test's own requests: the failed log-in count is under test.
      server = await startServer(kind, { RATE_LIMITS: 'on', RATE_LIMIT_IP_PER_MINUTE: '1000', RATE_LIMIT_LOGIN_FAILURES: '3', RATE_LIMIT_MAIL_PER_ADDRESS: '100' });
    });

    after(() => server?.stop());

    const deleteMe = (token: string | undefined, body: unknown) => server.request('DELETE', '/api/me', token === undefined ? { body } : { token, body });

    test('needs a session, a JSON body and a password string', async () => {
      const account = await createAccount(server);
      const token = await logIn(server, account.email, account.password);
      assertProblem(await deleteMe(undefined, { password: account.password }), 401, 'unauthenticated');
      assertProblem(await server.request('DELETE', '/api/me', { token, body: `password=${account.password}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type');
      assertValidation(await deleteMe(token, { password: 12345678 }), ['password']);
      assertValidation(await deleteMe(token, {}), ['password']);
      assert.equal((await server.request('GET', '/api/me', { token })).status, 200, 'still there');
    });

    test('a wrong password is 401 invalid_credentials and counts as a failed log-in: past the limit even the right one is refused', async () => {
      const account = await createAccount(server);
      const token = await logIn(server, account.email, account.password);
      for (let i = 0; i < 3; i += 1) assertProblem(await deleteMe(token, { password: strongPassword() }), 401, 'invalid_credentials');
      assertProblem(await deleteMe(token, { password: account.password }), 429, 'rate_limited');
      assertProblem(await server.request('POST', '/api/sessions', { body: account }), 429, 'rate_limited');
      assert.equal((await server.request('GET', '/api/me', { token })).status, 200, 'the account is still there');
    });

    test('the right password deletes the account, ends every session, voids its links, drops its unsent mail, mails the notice and frees the address', async () => {
      const account = await createAccount(server, { name: 'Lee Leaving' });
      const sessions = [await logIn(server, account.email, account.password), await logIn(server, account.email, account.password)];
      const resetToken = await requestReset(server, account.email);
      const other = await createAccount(server);
      const waiting = await pendingMailTo(server, account.email);
      const othersMail = await pendingMailTo(server, other.email);
      const before = server.smtp.to(account.email).length;

      const response = await deleteMe(sessions[0], { password: account.password });
      assert.equal(response.status, 204, response.text);
      assert.equal(response.text, '');

      for (const token of sessions) assertProblem(await server.request('GET', '/api/me', { token }), 401, 'unauthenticated');
      assertProblem(await server.request('POST', '/api/sessions', { body: account }), 401, 'invalid_credentials');
      assertProblem(await server.request('POST', '/api/reset-password', { body: { token: resetToken, password: strongPassword() } }), 400, 'invalid_token');
      assert.deepEqual(await outboxIds(server, [waiting, othersMail]), [othersMail], 'the unsent mail to it is gone, another account\'s stays');

      const notice = await server.smtp.waitForMailTo(account.email, before);
      assert.match(notice.subject, /deleted/i);
      assert.match(notice.text, /Hi Lee Leaving/);
      assert.doesNotMatch(notice.text + notice.html, /token=/, 'a notice carries no link that opens anything');

      // The address is free: a sign-up makes a new account (a confirmation link, not "account exists").
      const password = strongPassword();
      const mail = await signUp(server, { email: account.email, password });
      const confirmed = await server.request('POST', '/api/confirm', { body: { token: new URL(linkTo(mail, '/confirm')).searchParams.get('token') } });
      assert.equal(confirmed.status, 200, confirmed.text);
      assertUser(confirmed.json.user, { email: account.email, name: null, confirmed: true });
      await logIn(server, account.email, password);
    });
  });

  describe(`PATCH /api/me on ${kind}`, { skip }, () => {
    let server: TestServer;
    let token: string;

    before(async () => {
      server = await startServer(kind);
      const account = await createAccount(server, { name: 'Old Name' });
      token = await logIn(server, account.email, account.password);
    });

    after(() => server?.stop());

    const patch = (body: unknown) => server.request('PATCH', '/api/me', { token, body });

    test('sets the name (trimmed) and answers {user}; GET /api/me shows it', async () => {
      const response = await patch({ name: '  Zoë Renamed ' });
      assert.equal(response.status, 200, response.text);
      assert.deepEqual(Object.keys(response.json), ['user']);
      assertUser(response.json.user, { name: 'Zoë Renamed', confirmed: true });
      assert.equal((await server.request('GET', '/api/me', { token })).json.user.name, 'Zoë Renamed');
    });

    test('null and "" clear it', async () => {
      for (const name of [null, '']) {
        assert.equal((await patch({ name: 'Someone' })).json.user.name, 'Someone');
        const response = await patch({ name });
        assert.equal(response.status, 200, response.text);
        assert.equal(response.json.user.name, null);
        assert.equal((await server.request('GET', '/api/me', { token })).json.user.name, null);
      }
    });

    test('the rules of sign-up and strict types: 422 naming the field', async () => {
      for (const name of ['x'.repeat(101), 'bad\u0007name', 42, ['a'], { a: 1 }, true]) assertValidation(await patch({ name }), ['name']);
      assertValidation(await patch({}), ['name']);
      assertProblem(await server.request('PATCH', '/api/me', { body: { name: 'Nobody' } }), 401, 'unauthenticated');
      assertProblem(await server.request('PATCH', '/api/me', { token, body: 'name=Plain', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
      assertProblem(await server.request('PATCH', '/api/me', { token, body: '{"name": ' }), 400, 'invalid_json');
    });
  });
});
