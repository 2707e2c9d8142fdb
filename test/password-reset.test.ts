// API.md, POST /api/reset-password-request and POST /api/reset-password.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { carriesToken, createAccount, linkStartingWith, linkTo, logIn, requestReset, strongPassword, uniqueEmail } from './support/accounts.ts';
import { assertLinkMail, assertMessage, assertProblem, assertSentTo, assertValidation, assertWellFormedMail, headersButDate } from './support/assertions.ts';
import { eachDatabase } from './support/databases.ts';
import { startServer, testBaseUrl, type TestServer } from './support/latchkey.ts';
import { assertNoNewMail, mailCounts } from './support/mail-barrier.ts';
import { rawRequest } from './support/raw-request.ts';
import { tokenFromLink } from './support/smtp-sink.ts';

const appOrigin = 'https://app.example.test';

eachDatabase((kind, skip) => {
  describe(`password reset on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind, { ALLOWED_ORIGINS: appOrigin });
    });

    after(() => server?.stop());

    const ask = (body: unknown, headers: Record<string, string> = {}) => server.request('POST', '/api/reset-password-request', { body, headers });
    const reset = (token: unknown, password: unknown) => server.request('POST', '/api/reset-password', { body: { token, password } });
    const logInStatus = async (email: string, password: string) =>
      (await server.request('POST', '/api/sessions', { body: { email, password } })).status;

    describe('POST /api/reset-password-request', () => {
      test('a known and an unknown address get the byte-identical 202 {message}', async () => {
        const account = await createAccount(server);
        const known = await ask({ email: account.email });
        const unknown = await ask({ email: uniqueEmail('nobody') });
        assertMessage(known, 202);
        assert.equal(unknown.status, known.status);
        assert.equal(unknown.text, known.text);
        assert.deepEqual(headersButDate(unknown), headersButDate(known));
      });

      test('a known address gets a reset mail; an unknown one gets none', async () => {
        const account = await createAccount(server);
        const nobody = uniqueEmail('nobody');
        const before = server.smtp.to(account.email).length;
        assertMessage(await ask({ email: nobody }), 202);
        assertMessage(await ask({ email: account.email }), 202);
        const mail = await server.smtp.waitForMailTo(account.email, before);
        linkTo(mail, '/reset-password');
        await assertNoNewMail(server, [nobody]);
      });

      test('the reset mail is well-formed and carries BASE_URL/reset-password?token=… in both parts with its expiry', async () => {
        const account = await createAccount(server);
        const before = server.smtp.to(account.email).length;
        assertMessage(await ask({ email: account.email }), 202);
        const mail = await server.smtp.waitForMailTo(account.email, before);
        assertWellFormedMail(mail, { appName: 'Latchkey' });
        const link = linkTo(mail, '/reset-password');
        assert.match(link, /\/reset-password\?token=[A-Za-z0-9_-]{43,}$/);
        assertLinkMail(mail, link);
      });

      test('an unconfirmed account gets a reset link too', async () => {
        const pending = await createAccount(server, { confirmed: false });
        const token = await requestReset(server, pending.email);
        assert.ok(token.length >= 43);
      });

      test('the link goes to the address stored on the account, not the string typed', async () => {
        const local = uniqueEmail('Typed').split('@')[0]!;
        const stored = `${local}@Example.com`;
        await createAccount(server, { email: stored });
        const before = server.smtp.to(stored).length;
        assertMessage(await ask({ email: `\t${local.toLowerCase()}@EXAMPLE.com ` }), 202);
        assertSentTo(await server.smtp.waitForMailTo(stored, before), stored);
      });

      test('a newer link voids the older one', async () => {
        const account = await createAccount(server);
        const older = await requestReset(server, account.email);
        const newer = await requestReset(server, account.email);
        assert.notEqual(older, newer);
        assertProblem(await reset(older, strongPassword()), 400, 'invalid_token');
        assertMessage(await reset(newer, strongPassword()), 200);
      });

      test('a reset_url on an allowed origin receives the token as ?token=, keeping its own query', async () => {
        const account = await createAccount(server);
        const before = server.smtp.to(account.email).length;
        assertMessage(await ask({ email: account.email, reset_url: `${appOrigin}/account/reset?from=mail` }), 202);
        const mail = await server.smtp.waitForMailTo(account.email, before);
        const link = linkStartingWith(mail, `${appOrigin}/account/reset?`);
        assertLinkMail(mail, link);
        const url = new URL(link);
        assert.equal(url.searchParams.get('from'), 'mail');
        assertMessage(await reset(url.searchParams.get('token'), strongPassword()), 200);
      });

      test('a reset_url with {token} receives the token in its place', async () => {
        const account = await createAccount(server);
        const before = server.smtp.to(account.email).length;
        assertMessage(await ask({ email: account.email, reset_url: `${appOrigin}/reset/{token}` }), 202);
        const link = linkStartingWith(await server.smtp.waitForMailTo(account.email, before), `${appOrigin}/reset/`);
        const match = /^https:\/\/app\.example\.test\/reset\/([A-Za-z0-9_-]{43,})$/.exec(link);
        assert.ok(match, link);
        assertMessage(await reset(match[1], strongPassword()), 200);
      });

      test('a reset_url on another origin is 422 naming reset_url and mails nothing', async () => {
        const account = await createAccount(server);
        const counts = mailCounts(server, [account.email]);
        for (const reset_url of ['https://evil.example/reset', `${testBaseUrl}:8080/reset`, 'https://app.example.test.evil.example/reset', 'http://app.example.test/reset']) {
          assertValidation(await ask({ email: account.email, reset_url }), ['reset_url']);
        }
        await assertNoNewMail(server, [account.email], counts);
      });

      test('the link is built from BASE_URL, never from the Host or X-Forwarded-Host of the request', async () => {
        const account = await createAccount(server);
        const before = server.smtp.to(account.email).length;
        const response = await rawRequest(server.url, 'POST', '/api/reset-password-request', {
          body: JSON.stringify({ email: account.email }),
          headers: { 'content-type': 'application/json', host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
        });
        assert.equal(response.status, 202, response.text);
        const mail = await server.smtp.waitForMailTo(account.email, before);
        linkTo(mail, '/reset-password');
        assert.doesNotMatch(mail.text + mail.html, /evil\.example/);
      });

      test('a malformed or missing email is 422 naming email', async () => {
        assertValidation(await ask({ email: 'nope' }), ['email']);
        assertValidation(await ask({ email: 'ünïcode@example.com' }), ['email']);
        assertValidation(await ask({}), ['email']);
      });
    });

    describe('POST /api/reset-password', () => {
      test('it answers 200 {message}, sets the password and logs nobody in', async () => {
        const account = await createAccount(server);
        const token = await requestReset(server, account.email);
        const password = strongPassword();
        const response = await reset(token, password);
        assertMessage(response, 200);
        assert.equal(response.headers.get('set-cookie'), null, 'no session cookie');
        assert.equal(await logInStatus(account.email, password), 201);
        assert.equal(await logInStatus(account.email, account.password), 401);
      });

      test('it spends the token', async () => {
        const account = await createAccount(server);
        const token = await requestReset(server, account.email);
        assertMessage(await reset(token, strongPassword()), 200);
        const again = strongPassword();
        assertProblem(await reset(token, again), 400, 'invalid_token');
        assert.equal(await logInStatus(account.email, again), 401);
      });

      test('it ends every session of the user', async () => {
        const account = await createAccount(server);
        const sessions = [await logIn(server, account.email, account.password), await logIn(server, account.email, account.password)];
        const other = await createAccount(server);
        const bystander = await logIn(server, other.email, other.password);
        assertMessage(await reset(await requestReset(server, account.email), strongPassword()), 200);
        for (const token of sessions) assertProblem(await server.request('GET', '/api/me', { token }), 401, 'unauthenticated');
        assert.equal((await server.request('GET', '/api/me', { token: bystander })).status, 200, "another user's session survives");
      });

      test('it confirms an unconfirmed account', async () => {
        const pending = await createAccount(server, { confirmed: false });
        const token = await requestReset(server, pending.email);
        const password = strongPassword();
        assertMessage(await reset(token, password), 200);
        const response = await server.request('POST', '/api/sessions', { body: { email: pending.email, password } });
        assert.equal(response.status, 201, response.text);
        assert.equal(response.json.user.confirmed, true);
      });

      test('it mails a "password changed" notice without a link that carries a token', async () => {
        const account = await createAccount(server);
        const token = await requestReset(server, account.email);
        const before = server.smtp.to(account.email).length;
        assertMessage(await reset(token, strongPassword()), 200);
        const notice = await server.smtp.waitForMailTo(account.email, before);
        assertWellFormedMail(notice, { appName: 'Latchkey' });
        assert.equal(carriesToken(notice), false);
        assert.match(notice.subject + notice.text, /password/i);
      });

      test('a weak password is 422 naming password and leaves the token usable', async () => {
        const account = await createAccount(server);
        const token = await requestReset(server, account.email);
        for (const weak of ['short', 'password123', 'qwertyuiop', 'my-latchkey-pass', account.email, 'x'.repeat(129)]) {
          assertValidation(await reset(token, weak), ['password']);
        }
        assert.equal(await logInStatus(account.email, account.password), 201, 'the password is unchanged');
        const password = strongPassword();
        assertMessage(await reset(token, password), 200);
        assert.equal(await logInStatus(account.email, password), 201);
      });

      test('an unknown token is 400 invalid_token, and a missing field is 422', async () => {
        assertProblem(await reset('no-such-token', strongPassword()), 400, 'invalid_token');
        assertValidation(await server.request('POST', '/api/reset-password', { body: { token: 'x' } }), ['password']);
        assertValidation(await server.request('POST', '/api/reset-password', { body: { password: strongPassword() } }), ['token']);
      });
    });
  });
});
