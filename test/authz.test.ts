// API.md, "Reverse proxies": GET /api/authz/auth-request (nginx auth_request)
// and GET /api/authz/forward-auth (Caddy forward_auth, Traefik forwardAuth).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, logIn, type Account } from './support/accounts.ts';
import { eachDatabase } from './support/databases.ts';
import { sessionTimes } from './support/expiry.ts';
import { startServer, testBaseUrl, type TestResponse, type TestServer } from './support/latchkey.ts';
import { sleep } from './support/process.ts';

const appOrigin = 'http://app.example.test';
const navigation = { 'x-forwarded-method': 'GET', accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' };
const endpoints = ['/api/authz/auth-request', '/api/authz/forward-auth'] as const;

function assertEmpty(response: TestResponse, status: number): void {
  assert.equal(response.status, status, response.text);
  assert.equal(response.text, '', 'an empty body');
}

eachDatabase((kind, skip) => {
  describe(`reverse-proxy endpoints on ${kind}`, { skip }, () => {
    let server: TestServer;
    let account: Account;

    before(async () => {
      // A one-second idle check interval (SESSION_IDLE_TTL / 10) lets a test see a use recorded; rate limits on, to see these are not limited.
      server = await startServer(kind, { ALLOWED_ORIGINS: appOrigin, SESSION_IDLE_TTL: '10', RATE_LIMITS: 'on' });
      account = await createAccount(server);
    });

    after(() => server?.stop());

    // Redirects are the answer under test here, never followed.
    const get = async (path: string, headers: Record<string, string> = {}): Promise<TestResponse> => {
      const response = await fetch(new URL(path, server.url), { headers, redirect: 'manual' });
      return { status: response.status, headers: response.headers, text: await response.text(), json: undefined };
    };
    const me = async (token: string) => (await server.request('GET', '/api/me', { token })).json;

    for (const path of endpoints) {
      describe(path, () => {
        test('a bearer token: 200, empty body, the user id, email and session id in headers', async () => {
          const token = await logIn(server, account.email, account.password);
          const answer = await get(path, { authorization: `Bearer ${token}`, ...navigation });
          assertEmpty(answer, 200);
          const { user, session } = await me(token);
          assert.equal(answer.headers.get('x-latchkey-user-id'), user.id);
          assert.equal(answer.headers.get('x-latchkey-email'), account.email);
          assert.equal(answer.headers.get('x-latchkey-session-id'), session.id);
          assert.notEqual(session.id, token);
        });

        test('an address with an internationalised domain: 200, its domain in IDNA (xn--) form, never a 500', async () => {
          const idn = await createAccount(server, { email: `Idn.${Date.now()}@例子.test` });
          const token = await logIn(server, idn.email, idn.password);
          const answer = await get(path, { authorization: `Bearer ${token}` });
          assertEmpty(answer, 200);
          assert.equal(answer.headers.get('x-latchkey-email'), `${idn.email.split('@')[0]}@xn--fsqu00a.test`);
        });

        test('the session cookie: 200 with the same headers', async () => {
          const token = await logIn(server, account.email, account.password);
          const answer = await get(path, { cookie: `other=1; latchkey_session=${token}; x=2` });
          assertEmpty(answer, 200);
          assert.equal(answer.headers.get('x-latchkey-session-id'), (await me(token)).session.id);
        });

        test("a bearer token that is no session (the app's own) does not hide the session cookie", async () => {
          const token = await logIn(server, account.email, account.password);
          const answer = await get(path, { authorization: 'Bearer the-apps-own-api-key', cookie: `latchkey_session=${token}` });
          assertEmpty(answer, 200);
          assert.equal(answer.headers.get('x-latchkey-session-id'), (await me(token)).session.id);
        });

        test('no session, an unknown token or a malformed header: 401, empty body', async () => {
          for (const headers of [{} as Record<string, string>, { authorization: 'Bearer not-a-token' }, { authorization: 'Basic abc' }, { cookie: 'latchkey_session=nope' }, { cookie: 'latchkey_session=' }]) {
            const answer = await get(path, headers);
            assertEmpty(answer, 401);
            assert.equal(answer.headers.get('x-latchkey-user-id'), null);
          }
        });

        test('a session ended by log-out or revoked from another session is 401 at once, here and on /api/me', async () => {
          const loggedOut = await logIn(server, account.email, account.password);
          assertEmpty(await get(path, { authorization: `Bearer ${loggedOut}` }), 200);
          assert.equal((await server.request('DELETE', '/api/sessions/current', { token: loggedOut })).status, 204);
          assertEmpty(await get(path, { authorization: `Bearer ${loggedOut}` }), 401);

          const revoked = await logIn(server, account.email, account.password);
          const other = await logIn(server, account.email, account.password);
          assertEmpty(await get(path, { cookie: `latchkey_session=${revoked}` }), 200);
          const { session } = await me(revoked);
          assert.equal((await server.request('DELETE', `/api/sessions/${session.id}`, { token: other })).status, 204);
          assertEmpty(await get(path, { cookie: `latchkey_session=${revoked}` }), 401);
          assert.equal((await server.request('GET', '/api/me', { token: revoked })).status, 401);
          assertEmpty(await get(path, { authorization: `Bearer ${other}` }), 200);
        });

        test('each 200 counts as a use of the session', async () => {
          const token = await logIn(server, account.email, account.password);
          const before = await sessionTimes(server, token);
          await sleep(1100);
          assertEmpty(await get(path, { authorization: `Bearer ${token}` }), 200);
          const afterUse = await sessionTimes(server, token);
          assert.ok(afterUse.lastUsedAt > before.lastUsedAt, `last use moved from ${before.lastUsedAt} to ${afterUse.lastUsedAt}`);
        });

        test("the protected app's request headers pass through the proxy: a foreign Origin is no 403", async () => {
          const token = await logIn(server, account.email, account.password);
          const origin = { origin: 'http://elsewhere.example.test' };
          assertEmpty(await get(path, { authorization: `Bearer ${token}`, ...origin }), 200);
          assertEmpty(await get(path, origin), 401);
        });

        test('not rate-limited: many requests from one client are all answered', async () => {
          const token = await logIn(server, account.email, account.password);
          for (let i = 0; i < 30; i += 1) {
            assertEmpty(await get(path, { authorization: `Bearer ${token}` }), 200);
            assertEmpty(await get(path), 401);
          }
        });
      });
    }

    describe('forward-auth without a session', () => {
      const forwardAuth = (headers: Record<string, string>) => get('/api/authz/forward-auth', headers);
      const from = (origin: string, uri: string) => {
        const url = new URL(origin);
        return { 'x-forwarded-proto': url.protocol.slice(0, -1), 'x-forwarded-host': url.host, 'x-forwarded-uri': uri };
      };

      test('a browser navigation to an allowed origin is sent to BASE_URL/login?next=<the original URL>', async () => {
        const answer = await forwardAuth({ ...navigation, ...from(appOrigin, '/reports/2026?year=all&x=%2F') });
        assertEmpty(answer, 302);
        const location = new URL(answer.headers.get('location')!);
        assert.equal(`${location.origin}${location.pathname}`, `${testBaseUrl}/login`);
        assert.equal(location.searchParams.get('next'), `${appOrigin}/reports/2026?year=all&x=%2F`);
      });

      test("BASE_URL's own origin is allowed too, and HEAD is a navigation", async () => {
        const answer = await forwardAuth({ ...navigation, 'x-forwarded-method': 'HEAD', ...from(testBaseUrl, '/somewhere') });
        assertEmpty(answer, 302);
        assert.equal(new URL(answer.headers.get('location')!).searchParams.get('next'), `${testBaseUrl}/somewhere`);
      });

      test('the log-in page it sends to takes that next and returns there after log-in', async () => {
        const answer = await forwardAuth({ ...navigation, ...from(appOrigin, '/dashboard') });
        const login = new URL(answer.headers.get('location')!);
        const page = await get(`${login.pathname}${login.search}`);
        assert.equal(page.status, 200);
        assert.match(page.text, /name="next" value="http:\/\/app\.example\.test\/dashboard"/);
      });

      test('an origin that is not allowed is 401, never a redirect', async () => {
        for (const headers of [
          from('http://evil.example.test', '/'),
          from('https://app.example.test', '/'),
          from('http://app.example.test:8080', '/'),
          { ...from(appOrigin, '/'), 'x-forwarded-host': 'evil.example.test@app.example.test' },
          { ...from(appOrigin, '/'), 'x-forwarded-host': 'app.example.test@evil.example.test' },
          { ...from(appOrigin, '/'), 'x-forwarded-host': 'app.example.test/@evil.example.test' },
          { ...from(appOrigin, '/'), 'x-forwarded-proto': 'javascript' },
          { 'x-forwarded-host': 'app.example.test', 'x-forwarded-uri': '/' },
        ]) {
          const answer = await forwardAuth({ ...navigation, ...headers });
          assertEmpty(answer, 401);
          assert.equal(answer.headers.get('location'), null, JSON.stringify(headers));
        }
      });

      test('anything but a browser navigation is 401', async () => {
        const target = from(appOrigin, '/api/data');
        for (const headers of [
          { ...target, 'x-forwarded-method': 'POST', accept: 'text/html' },
          { ...target, 'x-forwarded-method': 'GET', accept: 'application/json' },
          { ...target, 'x-forwarded-method': 'GET' },
          { ...target, accept: 'text/html' },
        ]) {
          assertEmpty(await forwardAuth(headers), 401);
        }
      });

      test('auth-request never redirects', async () => {
        assertEmpty(await get('/api/authz/auth-request', { ...navigation, ...from(appOrigin, '/') }), 401);
      });
    });
  });
});
