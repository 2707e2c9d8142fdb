// API.md, POST /api/sessions, DELETE /api/sessions/current and GET /api/me.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, logIn, strongPassword, uniqueEmail, type Account } from './support/accounts.ts';
import { assertProblem, assertUser, assertValidation, headersButDate, isIsoTime } from './support/assertions.ts';
import { eachDatabase } from './support/databases.ts';
import { answeredBefore, conclusively, sessionTimes, waitPast } from './support/expiry.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { sleep } from './support/process.ts';

const day = 86_400_000;

eachDatabase((kind, skip) => {
  describe(`sessions on ${kind}`, { skip }, () => {
    let server: TestServer;
    let account: Account;

    before(async () => {
      server = await startServer(kind);
      account = await createAccount(server, { name: 'Sam Session' });
    });

    after(() => server?.stop());

    const logInRaw = (email: unknown, password: unknown) => server.request('POST', '/api/sessions', { body: { email, password } });
    const me = (token?: string, headers?: Record<string, string>) =>
      server.request('GET', '/api/me', token === undefined ? { headers: headers ?? {} } : { token, headers: headers ?? {} });

    describe('POST /api/sessions', () => {
      test('the right email and password answer 201 {token, expires_at, user}', async () => {
        const response = await logInRaw(account.email, account.password);
        assert.equal(response.status, 201, response.text);
        assert.deepEqual(Object.keys(response.json).sort(), ['expires_at', 'token', 'user']);
        assert.equal(typeof response.json.token, 'string');
        assert.ok(response.json.token.length >= 32, 'a token with enough entropy to be unguessable');
        assert.ok(isIsoTime(response.json.expires_at), `expires_at is an ISO time: ${response.json.expires_at}`);
        assertUser(response.json.user, { email: account.email, name: 'Sam Session', confirmed: true });
      });

      test('the session lasts SESSION_TTL (default 30 days) from log-in', async () => {
        const response = await logInRaw(account.email, account.password);
        const expires = Date.parse(response.json.expires_at);
        const expected = Date.now() + 30 * day;
        assert.ok(Math.abs(expires - expected) < 5 * 60_000, `expires_at ${response.json.expires_at} is 30 days ahead`);
      });

      test('the token opens /api/me, which answers 200 {user, session: {id, expires_at}}', async () => {
        const response = await logInRaw(account.email, account.password);
        const answer = await me(response.json.token);
        assert.equal(answer.status, 200, answer.text);
        assert.deepEqual(Object.keys(answer.json), ['user', 'session']);
        assert.deepEqual(answer.json.user, response.json.user);
        assert.deepEqual(Object.keys(answer.json.session), ['id', 'expires_at']);
        assert.equal(answer.json.session.expires_at, response.json.expires_at);
        assert.ok(!response.json.token.includes(answer.json.session.id), 'the public id is not the token');
      });

      test('the address is matched in its canonical form', async () => {
        const [local, domain] = account.email.split('@') as [string, string];
        const response = await logInRaw(`  ${local.toUpperCase()}@${domain.toUpperCase()} `, account.password);
        assert.equal(response.status, 201, response.text);
        assert.equal(response.json.user.email, account.email);
      });

      test('an unknown email and a wrong password give byte-identical 401 invalid_credentials answers', async () => {
        const unknown = await logInRaw(uniqueEmail('nobody'), account.password);
        const wrong = await logInRaw(account.email, strongPassword());
        assertProblem(unknown, 401, 'invalid_credentials');
        assertProblem(wrong, 401, 'invalid_credentials');
        assert.equal(unknown.text, wrong.text);
        assert.deepEqual(headersButDate(unknown), headersButDate(wrong));
      });

      test('the password is not matched case-insensitively or trimmed', async () => {
        assertProblem(await logInRaw(account.email, account.password.toUpperCase()), 401, 'invalid_credentials');
        assertProblem(await logInRaw(account.email, ` ${account.password}`), 401, 'invalid_credentials');
        assertProblem(await logInRaw(account.email, ''), 401, 'invalid_credentials');
      });

      test('an unconfirmed account with the right password is 403 email_not_confirmed', async () => {
        const pending = await createAccount(server, { confirmed: false });
        assertProblem(await logInRaw(pending.email, pending.password), 403, 'email_not_confirmed');
      });

      test('an unconfirmed account with a wrong password is the same 401 as an unknown address', async () => {
        const pending = await createAccount(server, { confirmed: false });
        const wrong = await logInRaw(pending.email, strongPassword());
        const unknown = await logInRaw(uniqueEmail('nobody'), strongPassword());
        assertProblem(wrong, 401, 'invalid_credentials');
        assert.equal(wrong.text, unknown.text);
      });

      test('each log-in issues a new token, and all of them work', async () => {
        const tokens = [];
        for (let i = 0; i < 3; i += 1) tokens.push(await logIn(server, account.email, account.password));
        assert.equal(new Set(tokens).size, 3);
        for (const token of tokens) assert.equal((await me(token)).status, 200);
      });

      test('a missing or non-string email or password is 422 naming it', async () => {
        assertValidation(await server.request('POST', '/api/sessions', { body: { email: account.email } }), ['password']);
        assertValidation(await server.request('POST', '/api/sessions', { body: { password: account.password } }), ['email']);
        assertValidation(await logInRaw([account.email], account.password), ['email']);
        assertValidation(await logInRaw(account.email, [account.password]), ['password']);
      });
    });

    describe('DELETE /api/sessions/current', () => {
      test('log-out answers 204 with no body and the token stops working at once', async () => {
        const token = await logIn(server, account.email, account.password);
        assert.equal((await me(token)).status, 200);
        const response = await server.request('DELETE', '/api/sessions/current', { token });
        assert.equal(response.status, 204);
        assert.equal(response.text, '');
        assertProblem(await me(token), 401, 'unauthenticated');
        assertProblem(await server.request('DELETE', '/api/sessions/current', { token }), 401, 'unauthenticated');
      });

      test('log-out ends only the session it is sent with', async () => {
        const kept = await logIn(server, account.email, account.password);
        const ended = await logIn(server, account.email, account.password);
        assert.equal((await server.request('DELETE', '/api/sessions/current', { token: ended })).status, 204);
        assert.equal((await me(kept)).status, 200);
      });

      test('log-out without a valid session is 401 unauthenticated', async () => {
        assertProblem(await server.request('DELETE', '/api/sessions/current'), 401, 'unauthenticated');
        assertProblem(await server.request('DELETE', '/api/sessions/current', { token: 'not-a-session' }), 401, 'unauthenticated');
      });
    });

    describe('GET /api/me', () => {
      test('without Authorization it is 401 unauthenticated', async () => {
        assertProblem(await me(), 401, 'unauthenticated');
      });

      test('with a bad, altered or malformed token it is 401 unauthenticated', async () => {
        const token = await logIn(server, account.email, account.password);
        const altered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
        for (const bad of ['nonsense', altered, `${token}x`, token.slice(1)]) assertProblem(await me(bad), 401, 'unauthenticated');
        assertProblem(await me(undefined, { authorization: `Basic ${Buffer.from(`${account.email}:${account.password}`).toString('base64')}` }), 401, 'unauthenticated');
        assertProblem(await me(undefined, { authorization: 'Bearer' }), 401, 'unauthenticated');
        assertProblem(await me(undefined, { authorization: token }), 401, 'unauthenticated');
      });
    });
  });

  describe(`session lifetime on ${kind}`, { skip }, () => {
    let server: TestServer;
    let account: Account;

    before(async () => {
      server = await startServer(kind, { SESSION_TTL: '7200', SESSION_IDLE_TTL: '1' });
      account = await createAccount(server);
    });

    after(() => server?.stop());

    test('expires_at is SESSION_TTL after log-in', async () => {
      const response = await server.request('POST', '/api/sessions', { body: { email: account.email, password: account.password } });
      assert.equal(response.status, 201, response.text);
      const expected = Date.now() + 7200_000;
      assert.ok(Math.abs(Date.parse(response.json.expires_at) - expected) < 60_000, `expires_at ${response.json.expires_at} is two hours ahead`);
    });

    test('a session unused for SESSION_IDLE_TTL ends', async () => {
      // The first use must come within the idle window of the log-in (read
      // from the session row); a use answered later proves nothing, so that
      // attempt starts again with a fresh session.
      await conclusively('a use inside the idle window', async () => {
        const token = await logIn(server, account.email, account.password);
        const { lastUsedAt } = await sessionTimes(server, token);
        const { answer, inTime } = await answeredBefore(lastUsedAt + 1000, () => server.request('GET', '/api/me', { token }));
        if (!inTime && answer.status !== 200) return false;
        assert.equal(answer.status, 200, answer.text);
        await waitPast((await sessionTimes(server, token)).lastUsedAt + 1000);
        assertProblem(await server.request('GET', '/api/me', { token }), 401, 'unauthenticated');
        return true;
      });
    });

    test('a session used more often than SESSION_IDLE_TTL stays alive past it', async () => {
      // Never a full second without use, for twice the idle limit. Each use
      // must be answered 200 if it was answered inside the idle window of the
      // last recorded use; a use the machine delayed past it proves nothing.
      await conclusively('uses inside the idle window', async () => {
        const token = await logIn(server, account.email, account.password);
        const loggedIn = (await sessionTimes(server, token)).lastUsedAt;
        for (let use = 0; use < 4; use += 1) {
          await sleep(550);
          const { lastUsedAt } = await sessionTimes(server, token);
          const { answer, inTime } = await answeredBefore(lastUsedAt + 1000, () => server.request('GET', '/api/me', { token }));
          if (!inTime && answer.status !== 200) return false;
          assert.equal(answer.status, 200, `use ${use + 1}, ${Date.now() - loggedIn} ms after log-in: ${answer.text}`);
        }
        assert.ok(Date.now() - loggedIn > 2000, 'alive for more than twice the idle limit');
        return true;
      });
    });
  });

  describe(`absolute session lifetime on ${kind}`, { skip }, () => {
    let server: TestServer;
    let account: Account;

    before(async () => {
      server = await startServer(kind, { SESSION_TTL: '1', SESSION_IDLE_TTL: '3600' });
      account = await createAccount(server);
    });

    after(() => server?.stop());

    test('a session ends SESSION_TTL after log-in even while it is being used', async () => {
      // The end is the session row's expires_at: uses answered before it must
      // work, a use sent after it must not (idle is an hour, never the reason).
      await conclusively('uses before the session ends', async () => {
        const token = await logIn(server, account.email, account.password);
        const { expiresAt } = await sessionTimes(server, token);
        for (const pause of [0, 600]) {
          await sleep(pause);
          const { answer, inTime } = await answeredBefore(expiresAt, () => server.request('GET', '/api/me', { token }));
          if (!inTime && answer.status !== 200) return false;
          assert.equal(answer.status, 200, answer.text);
        }
        await waitPast(expiresAt);
        assertProblem(await server.request('GET', '/api/me', { token }), 401, 'unauthenticated');
        return true;
      });
    });
  });
});
