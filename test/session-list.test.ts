// API.md, Sessions: GET /api/sessions, DELETE /api/sessions/{id},
// DELETE /api/sessions (all others), and `session` in GET /api/me.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, logIn, type Account } from './support/accounts.ts';
import { assertProblem, isIsoTime } from './support/assertions.ts';
import { eachDatabase } from './support/databases.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { sleep } from './support/process.ts';

eachDatabase((kind, skip) => {
  describe(`listing and ending sessions on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind);
    });

    after(() => server?.stop());

    /** Logs in with this User-Agent; returns the token. */
    async function logInAs(account: Account, userAgent: string): Promise<string> {
      const response = await server.request('POST', '/api/sessions', { body: { email: account.email, password: account.password }, headers: { 'user-agent': userAgent } });
      assert.equal(response.status, 201, response.text);
      return response.json.token;
    }
    const list = async (token: string) => {
      const response = await server.request('GET', '/api/sessions', { token });
      assert.equal(response.status, 200, response.text);
      return response.json.sessions as any[];
    };
    const sessionId = async (token: string): Promise<string> => (await server.request('GET', '/api/me', { token })).json.session.id;
    const status = async (token: string) => (await server.request('GET', '/api/me', { token })).status;

    test('GET /api/sessions lists the live sessions, newest first, with the IP and User-Agent seen at log-in', async () => {
      const account = await createAccount(server);
      const first = await logInAs(account, 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0');
      await sleep(1100);
      const second = await logInAs(account, 'curl/8.0');
      const sessions = await list(first);
      assert.equal(sessions.length, 2);
      for (const session of sessions) {
        assert.deepEqual(Object.keys(session), ['id', 'created_at', 'last_used_at', 'expires_at', 'current', 'ip', 'user_agent']);
        for (const time of ['created_at', 'last_used_at', 'expires_at']) assert.ok(isIsoTime(session[time]), `${time}: ${session[time]}`);
        assert.match(session.ip, /^(::ffff:)?127\.0\.0\.1$|^::1$/);
      }
      assert.deepEqual(sessions.map((s) => s.user_agent), ['curl/8.0', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0']);
      assert.deepEqual(sessions.map((s) => s.current), [false, true]);
      assert.deepEqual(sessions.map((s) => s.id), [await sessionId(second), await sessionId(first)]);
      assert.ok(sessions.every((s) => !first.includes(s.id) && !second.includes(s.id)), 'no id is (part of) a token');
    });

    test('a User-Agent is kept to 200 characters, and none is null', async () => {
      const account = await createAccount(server);
      const long = await logInAs(account, `Agent/${'x'.repeat(400)}`);
      const [session] = await list(long);
      assert.equal(session.user_agent, `Agent/${'x'.repeat(194)}`);
      const raw = await fetch(new URL('/api/sessions', server.url), { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': '' }, body: JSON.stringify({ email: account.email, password: account.password }) });
      const token = ((await raw.json()) as { token: string }).token;
      assert.equal((await list(token)).find((s) => s.current).user_agent, null);
    });

    test('sessions ended by log-out are not listed, and another user\'s sessions never are', async () => {
      const account = await createAccount(server);
      const stranger = await createAccount(server);
      const mine = await logIn(server, account.email, account.password);
      const gone = await logIn(server, account.email, account.password);
      await logIn(server, stranger.email, stranger.password);
      assert.equal((await server.request('DELETE', '/api/sessions/current', { token: gone })).status, 204);
      const sessions = await list(mine);
      assert.deepEqual(sessions.map((s) => s.id), [await sessionId(mine)]);
    });

    test('DELETE /api/sessions/{id} ends that session at once; the others go on', async () => {
      const account = await createAccount(server);
      const mine = await logIn(server, account.email, account.password);
      const other = await logIn(server, account.email, account.password);
      const third = await logIn(server, account.email, account.password);
      const response = await server.request('DELETE', `/api/sessions/${await sessionId(other)}`, { token: mine });
      assert.equal(response.status, 204);
      assert.equal(response.text, '');
      assert.equal(await status(other), 401);
      assert.equal(await status(mine), 200);
      assert.equal(await status(third), 200);
      assert.equal((await list(mine)).length, 2);
    });

    test("another user's session id is 404 not_found and that session is untouched", async () => {
      const account = await createAccount(server);
      const stranger = await createAccount(server);
      const mine = await logIn(server, account.email, account.password);
      const theirs = await logIn(server, stranger.email, stranger.password);
      const theirId = await sessionId(theirs);
      assertProblem(await server.request('DELETE', `/api/sessions/${theirId}`, { token: mine }), 404, 'not_found');
      assert.equal(await status(theirs), 200);
      assert.deepEqual((await list(theirs)).map((s) => s.id), [theirId]);
    });

    test('an unknown id, an ended session\'s id or a token in place of an id is 404 not_found', async () => {
      const account = await createAccount(server);
      const mine = await logIn(server, account.email, account.password);
      const ended = await logIn(server, account.email, account.password);
      const endedId = await sessionId(ended);
      await server.request('DELETE', '/api/sessions/current', { token: ended });
      for (const id of ['0123456789abcdef0123456789abcdef', endedId, encodeURIComponent(mine), 'x'.repeat(500)]) {
        assertProblem(await server.request('DELETE', `/api/sessions/${id}`, { token: mine }), 404, 'not_found');
      }
      assert.equal(await status(mine), 200);
    });

    test('the current session may end itself by its id', async () => {
      const account = await createAccount(server);
      const mine = await logIn(server, account.email, account.password);
      assert.equal((await server.request('DELETE', `/api/sessions/${await sessionId(mine)}`, { token: mine })).status, 204);
      assert.equal(await status(mine), 401);
    });

    test('DELETE /api/sessions ends every other session of the user and keeps this one; other users keep theirs', async () => {
      const account = await createAccount(server);
      const stranger = await createAccount(server);
      const mine = await logIn(server, account.email, account.password);
      const others = [await logIn(server, account.email, account.password), await logIn(server, account.email, account.password)];
      const theirs = await logIn(server, stranger.email, stranger.password);
      const response = await server.request('DELETE', '/api/sessions', { token: mine });
      assert.equal(response.status, 204);
      for (const token of others) assert.equal(await status(token), 401);
      assert.equal(await status(mine), 200);
      assert.equal(await status(theirs), 200);
      assert.deepEqual((await list(mine)).map((s) => s.current), [true]);
    });

    test('DELETE /api/sessions with no other session ends nothing and records no user.signed_out', async () => {
      const account = await createAccount(server);
      const mine = await logIn(server, account.email, account.password);
      const signedOut = async () => (await server.request('GET', '/api/me/events', { token: mine })).json.events.filter((e: { type: string }) => e.type === 'user.signed_out').length;
      assert.equal((await server.request('DELETE', '/api/sessions', { token: mine })).status, 204);
      assert.equal(await signedOut(), 0);
      await logIn(server, account.email, account.password);
      assert.equal((await server.request('DELETE', '/api/sessions', { token: mine })).status, 204);
      assert.equal(await signedOut(), 1);
    });

    test('each needs a session: 401 unauthenticated without one', async () => {
      assertProblem(await server.request('GET', '/api/sessions'), 401, 'unauthenticated');
      assertProblem(await server.request('DELETE', '/api/sessions'), 401, 'unauthenticated');
      assertProblem(await server.request('DELETE', '/api/sessions/0123456789abcdef0123456789abcdef'), 401, 'unauthenticated');
      assertProblem(await server.request('GET', '/api/sessions', { token: 'forged' }), 401, 'unauthenticated');
    });
  });
});
