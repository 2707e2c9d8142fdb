// Issue 10, point 5 (API.md v2, "HTML pages"): /login?next= sends a visitor
// only to a path on this site or to an allowed origin. Written as the attack:
// a `next` that looks like a path until dot segments are resolved or it is
// decoded ("/.//evil.example/p" is "//evil.example/p", another host), given to
// GET /login with a session and to POST /login as a form would.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, type Account } from './support/accounts.ts';
import { FormClient, csrfOf, type PageResponse } from './support/forms.ts';
import { startServer, testBaseUrl, type TestServer } from './support/latchkey.ts';

const appOrigin = 'https://app.example.test';

/** Every one of these would leave the site; each must land on /account. */
const hostile = [
  '/.//evil.example/p',
  '/..//evil.example/p',
  '/%2e//evil.example/p',
  '/%2E%2E//evil.example/p',
  '/.%2e//evil.example/p',
  '/a/..//evil.example/p',
  '/a/b/../..//evil.example/p',
  '/./\\evil.example/p',
  '/.\\/evil.example/p',
  '/\t/evil.example/p',
  '/\r\n/evil.example/p',
  '/%2F/evil.example/p',
  '/%2f%2fevil.example/p',
  '/%5Cevil.example/p',
  '/%5c%5cevil.example/p',
  '/.%2F/evil.example/p',
  '//evil.example/p',
  '/\\evil.example/p',
  '\\\\evil.example/p',
  'https://evil.example/p',
  'http://evil.example/p',
  '//app.example.test.evil.example/p',
  'https://app.example.test.evil.example/p',
  'https://app.example.test:444/p',
  'http://app.example.test/p',
  'https://app.example.test@evil.example/p',
  'https://user:pw@app.example.test/p',
  'https:evil.example/p',
  'javascript:alert(document.cookie)',
  'data:text/html,<script>alert(1)</script>',
  'evil.example/p',
  ' //evil.example/p',
];

/** Safe targets, and the Location each must produce: the resolved, serialized form. */
const safe: [string, string][] = [
  ['/account?tab=email', '/account?tab=email'],
  ['/a/../account', '/account'],
  ['/x/./y/%2e/z', '/x/y/z'],
  ['/account#sessions', '/account#sessions'],
  ['/caf\u00e9', '/caf%C3%A9'],
  [`${appOrigin}/after?x=1#top`, `${appOrigin}/after?x=1#top`],
  ['HTTPS://APP.example.test:443/after', `${appOrigin}/after`],
  [`${testBaseUrl}/account`, `${testBaseUrl}/account`],
];

describe('the next parameter of /login', () => {
  let server: TestServer;
  let account: Account;
  let signedIn: FormClient;

  before(async () => {
    server = await startServer('sqlite', { ALLOWED_ORIGINS: appOrigin });
    account = await createAccount(server);
    signedIn = new FormClient(server.url);
    const response = await signedIn.submit('/login', { email: account.email, password: account.password });
    assert.equal(response.status, 303, 'logged in');
  });

  after(() => server?.stop());

  function assertRedirect(response: PageResponse, expected: string, label: string): void {
    assert.equal(response.status, 303, `${label}: ${response.status}`);
    assert.equal(response.location, expected, `${label} → ${response.location}`);
  }

  test('GET /login with a session and a hostile next goes to /account', async () => {
    for (const next of hostile) assertRedirect(await signedIn.get(`/login?next=${encodeURIComponent(next)}`), '/account', `GET next=${JSON.stringify(next)}`);
  });

  test('GET /login with a session follows a path on this site or an allowed origin, re-serialized', async () => {
    for (const [next, expected] of safe) assertRedirect(await signedIn.get(`/login?next=${encodeURIComponent(next)}`), expected, `GET next=${JSON.stringify(next)}`);
  });

  test('POST /login with a hostile next goes to /account', async () => {
    for (const next of hostile) {
      const client = new FormClient(server.url);
      const form = await client.get('/login');
      const response = await client.post('/login', { _csrf: csrfOf(form.text, '/login'), email: account.email, password: account.password, next });
      assertRedirect(response, '/account', `POST next=${JSON.stringify(next)}`);
    }
  });

  test('POST /login follows an allowed absolute URL and a resolved path', async () => {
    for (const [next, expected] of [[`${appOrigin}/after?x=1`, `${appOrigin}/after?x=1`], ['/a/../account?from=next', '/account?from=next']] as const) {
      const client = new FormClient(server.url);
      const form = await client.get('/login');
      const response = await client.post('/login', { _csrf: csrfOf(form.text, '/login'), email: account.email, password: account.password, next });
      assertRedirect(response, expected, `POST next=${next}`);
    }
  });

  test('an absolute URL on an allowed origin is followed; the same path on another origin is not', async () => {
    assertRedirect(await signedIn.get(`/login?next=${encodeURIComponent(`${appOrigin}/dashboard`)}`), `${appOrigin}/dashboard`, 'allowed origin');
    assertRedirect(await signedIn.get(`/login?next=${encodeURIComponent('https://other.example.test/dashboard')}`), '/account', 'another origin');
  });

  test('the login form carries no hidden next for a hostile one, and only the serialized safe one otherwise', async () => {
    const visitor = new FormClient(server.url);
    const nextField = (html: string) => [...html.matchAll(/<input type="hidden" name="next" value="([^"]*)">/g)].map((m) => m[1]);
    for (const next of hostile) {
      const page = await visitor.get(`/login?next=${encodeURIComponent(next)}`);
      assert.equal(page.status, 200);
      assert.deepEqual(nextField(page.text), [], `no hidden next for ${JSON.stringify(next)}`);
      // The language links keep the query (itself judged again when followed); every link stays on this site.
      for (const [, target] of page.text.matchAll(/(?:href|action)="([^"]*)"/g)) {
        assert.match(target!, /^\/(?![/\\])/, `a same-site link on the page for ${JSON.stringify(next)}: ${target}`);
      }
    }
    for (const [next, expected] of safe) {
      const page = await visitor.get(`/login?next=${encodeURIComponent(next)}`);
      assert.deepEqual(nextField(page.text), [expected.replaceAll('&', '&amp;')], `hidden next for ${JSON.stringify(next)}`);
    }
  });
});
