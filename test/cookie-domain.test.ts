// COOKIE_DOMAIN (API.md, Configuration): the session cookie is shared with the
// parent domain's hosts — `__Secure-latchkey_session` with that Domain on
// https, `latchkey_session` with it over http — while the CSRF anchor stays
// host-only; log-out clears the cookie with the same attributes, and the
// reverse-proxy endpoints read it (or a host-only one left from before).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { linkStartingWith, signUp, strongPassword, uniqueEmail, type Account } from './support/accounts.ts';
import { eachDatabase } from './support/databases.ts';
import { FormClient, setCookie, type PageResponse } from './support/forms.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { tokenFromLink } from './support/smtp-sink.ts';

const setups = [
  { label: 'https with COOKIE_DOMAIN', baseUrl: 'https://accounts.example.com', domain: 'example.com', session: '__Secure-latchkey_session', csrf: '__Host-latchkey_csrf', hostOnly: '__Host-latchkey_session' },
  { label: 'http with COOKIE_DOMAIN', baseUrl: 'http://accounts.example.test', domain: 'example.test', session: 'latchkey_session', csrf: 'latchkey_csrf', hostOnly: 'latchkey_session' },
  { label: 'https without COOKIE_DOMAIN', baseUrl: 'https://accounts.example.com', domain: undefined, session: '__Host-latchkey_session', csrf: '__Host-latchkey_csrf', hostOnly: '__Host-latchkey_session' },
];

eachDatabase((kind, skip) => {
  for (const setup of setups) {
    describe(`the session cookie, ${setup.label}, on ${kind}`, { skip }, () => {
      let server: TestServer;
      let account: Account;

      before(async () => {
        // An https BASE_URL only names the cookies; the test talks plain HTTP to the listener.
        server = await startServer(kind, { BASE_URL: setup.baseUrl, ...(setup.domain === undefined ? {} : { COOKIE_DOMAIN: setup.domain }) });
        account = { email: uniqueEmail('cookie'), password: strongPassword() };
        const mail = await signUp(server, account);
        const confirmed = await server.request('POST', '/api/confirm', { body: { token: tokenFromLink(linkStartingWith(mail, `${setup.baseUrl}/confirm?token=`)) } });
        assert.equal(confirmed.status, 200, confirmed.text);
      });

      after(() => server?.stop());

      async function logInWithForm(client: FormClient): Promise<PageResponse> {
        const response = await client.submit('/login', { email: account.email, password: account.password });
        assert.equal(response.status, 303, response.text.slice(0, 300));
        return response;
      }

      function assertSessionAttributes(response: PageResponse): string {
        const cookie = setCookie(response, setup.session);
        assert.ok(cookie !== undefined, `Set-Cookie ${setup.session}: ${response.setCookies.join(' | ')}`);
        const { attributes } = cookie;
        assert.equal(attributes.get('domain'), setup.domain, 'Domain');
        assert.equal(attributes.get('path'), '/');
        assert.ok(attributes.has('httponly'), 'HttpOnly');
        assert.equal(attributes.get('samesite')?.toLowerCase(), 'lax');
        assert.equal(attributes.has('secure'), setup.baseUrl.startsWith('https:'), 'Secure exactly on https');
        return cookie.value;
      }

      test('log-in sets the session cookie with its Domain; the CSRF anchor stays host-only', async () => {
        const client = new FormClient(server.url);
        const form = await client.get('/login');
        const csrf = setCookie(form, setup.csrf);
        assert.ok(csrf !== undefined, `Set-Cookie ${setup.csrf}: ${form.setCookies.join(' | ')}`);
        assert.equal(csrf.attributes.get('domain'), undefined, 'the CSRF cookie has no Domain');
        const token = assertSessionAttributes(await logInWithForm(client));
        assert.equal((await client.get('/account')).status, 200, 'the cookie opens /account');
        for (const path of ['/api/authz/auth-request', '/api/authz/forward-auth']) {
          const answer = await fetch(new URL(path, server.url), { headers: { cookie: `${setup.session}=${token}` } });
          assert.equal(answer.status, 200, `${path} reads ${setup.session}`);
          assert.equal(answer.headers.get('x-latchkey-email'), account.email);
        }
      });

      test('the authz endpoints also read a host-only cookie set before COOKIE_DOMAIN', async () => {
        const client = new FormClient(server.url);
        const token = assertSessionAttributes(await logInWithForm(client));
        const answer = await fetch(new URL('/api/authz/auth-request', server.url), { headers: { cookie: `${setup.hostOnly}=${token}` } });
        assert.equal(answer.status, 200);
        const unknown = await fetch(new URL('/api/authz/auth-request', server.url), { headers: { cookie: `latchkey_session_other=${token}` } });
        assert.equal(unknown.status, 401, 'any other cookie name is not a session');
      });

      test('log-out clears the cookie with the same Domain and Path', async () => {
        const client = new FormClient(server.url);
        await logInWithForm(client);
        const response = await client.submit('/account', {}, '/logout');
        assert.equal(response.status, 303);
        const cleared = setCookie(response, setup.session);
        assert.ok(cleared !== undefined, `a clearing Set-Cookie: ${response.setCookies.join(' | ')}`);
        assert.equal(cleared.value, '');
        assert.equal(cleared.attributes.get('domain'), setup.domain);
        assert.equal(cleared.attributes.get('path'), '/');
        assert.ok(Date.parse(cleared.attributes.get('expires') ?? '') <= Date.now() || cleared.attributes.get('max-age') === '0', 'expired');
      });

      test('a dead session cookie is cleared with the same Domain', async () => {
        const client = new FormClient(server.url);
        client.cookies.set(setup.session, 'no-such-session');
        const response = await client.get('/login');
        const cleared = setCookie(response, setup.session);
        assert.ok(cleared !== undefined);
        assert.equal(cleared.attributes.get('domain'), setup.domain);
      });
    });
  }
});
