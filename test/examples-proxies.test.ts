// examples/ as a person uses them (issue 13): the real nginx and Caddy with
// the example site files, Latchkey and the example Flask app behind them, and
// headless Chromium in front. Only ports and the site address are changed
// from the files in examples/ (test/support/proxies.ts).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { strongPassword, uniqueEmail, type Account } from './support/accounts.ts';
import { launchChromium, skipUnlessChromium } from './support/browser.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { freePort } from './support/process.ts';
import { adaptExample, skipUnless, startCaddy, startFlaskApp, startNginx, type Service } from './support/proxies.ts';
import { tokenFromLink } from './support/smtp-sink.ts';

// At the top level: a describe callback must not throw, and CI=true must fail on a missing tool.
const flaskSkip = skipUnless('flask');
const chromiumSkip = skipUnlessChromium();

type Front = { name: string; skip: false | string; start(port: number, latchkey: string, app: string): Promise<Service> };

const hostPort = (url: string) => new URL(url).host;

const fronts: Front[] = [
  {
    name: 'examples/nginx/app.conf',
    skip: skipUnless('nginx') || flaskSkip,
    start: (port, latchkey, app) => startNginx(adaptExample('nginx/app.conf', {
      'listen 80;': `listen 127.0.0.1:${port};`,
      '127.0.0.1:3000': hostPort(latchkey),
      '127.0.0.1:5000': hostPort(app),
    }), port),
  },
  {
    name: 'examples/caddy/Caddyfile',
    skip: skipUnless('caddy') || flaskSkip,
    start: (port, latchkey, app) => startCaddy(adaptExample('caddy/Caddyfile', {
      'app.example.com {': `http://127.0.0.1:${port} {`,
      '127.0.0.1:3000': hostPort(latchkey),
      '127.0.0.1:5000': hostPort(app),
    }), port),
  },
];

/** A confirmed account, made through Latchkey's API directly (the walk under test starts after it). */
async function confirmedAccount(latchkey: TestServer): Promise<Account> {
  const account = { email: uniqueEmail('proxied'), password: strongPassword() };
  const already = latchkey.smtp.to(account.email).length;
  assert.equal((await latchkey.request('POST', '/api/users', { body: account })).status, 202);
  const mail = await latchkey.smtp.waitForMailTo(account.email, already);
  const link = mail.links.find((l) => l.includes('/confirm?token='));
  assert.ok(link !== undefined, `a confirmation link in ${JSON.stringify(mail.links)}`);
  assert.equal((await latchkey.request('POST', '/api/confirm', { body: { token: tokenFromLink(link) } })).status, 200);
  return account;
}

/** Every spelling of the three headers that a client might try, with a value of its own. */
const forged = {
  'X-Latchkey-Email': 'forged@attacker.example',
  'X_Latchkey_Email': 'forged-underscore@attacker.example',
  'x-latchkey-user-id': 'forged-user-id',
  'X-Latchkey-Session_Id': 'forged-session-id',
};

for (const front of fronts) {
  describe(`${front.name} in front of examples/flask-app`, { skip: front.skip }, () => {
    let latchkey: TestServer;
    let app: Service;
    let proxy: Service;
    let account: Account;
    let base: string;

    before(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      latchkey = await startServer('sqlite', { BASE_URL: base, TRUST_PROXY: '127.0.0.1' });
      app = await startFlaskApp(latchkey.url);
      proxy = await front.start(port, latchkey.url, app.url);
      account = await confirmedAccount(latchkey);
    });

    after(async () => {
      await proxy?.stop();
      await app?.stop();
      await latchkey?.stop();
    });

    /** Whether the app logged a request for `path` (Werkzeug logs each request line). */
    const appSaw = (path: string) => app.output().includes(path);

    test('without a session: a browser opening a page goes to /login?next=<that page>, an API call is 401, and neither reaches the app', { timeout: 60_000 }, async () => {
      const page = `/notes?probe=${randomUUID()}&sort=new`;
      const navigation = await fetch(base + page, { redirect: 'manual', headers: { accept: 'text/html,application/xhtml+xml', ...forged } });
      assert.equal(navigation.status, 302);
      const location = new URL(navigation.headers.get('location')!, base);
      assert.equal(location.origin + location.pathname, `${base}/login`);
      assert.equal(location.searchParams.get('next'), base + page, 'the whole URL, query included, comes back');

      const api = `/notes?probe=${randomUUID()}`;
      const call = await fetch(base + api, { redirect: 'manual', headers: { accept: 'application/json', ...forged } });
      assert.equal(call.status, 401);
      const post = await fetch(base + api, { method: 'POST', redirect: 'manual', headers: { accept: 'text/html', ...forged } });
      assert.equal(post.status, 401, 'only a GET or HEAD navigation is redirected');
      assert.ok(!appSaw(page.split('&')[0]!) && !appSaw(api), `the app was reached:\n${app.output()}`);
    });

    test('a client\'s own X-Latchkey-* headers never reach the app, with a session or without, nor through the log-in pages', { timeout: 60_000 }, async () => {
      const login = await fetch(`${base}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json', ...forged }, body: JSON.stringify(account) });
      assert.equal(login.status, 201, await login.clone().text());
      const { token } = await login.json() as { token: string };
      const me = await (await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${token}` } })).json() as { user: { id: string }; session: { id: string } };

      const seen = await fetch(`${base}/debug/headers`, { headers: { authorization: `Bearer ${token}`, ...forged } });
      assert.equal(seen.status, 200);
      const { received, environ } = await seen.json() as { received: Record<string, string>; environ: Record<string, string> };
      assert.deepEqual(environ, {
        HTTP_X_LATCHKEY_USER_ID: me.user.id,
        HTTP_X_LATCHKEY_EMAIL: account.email,
        HTTP_X_LATCHKEY_SESSION_ID: me.session.id,
      }, 'exactly the values Latchkey gave, nothing the client sent');
      assert.ok(!JSON.stringify(received).includes('forged'));

      const probe = `probe=${randomUUID()}`;
      const pageWithForgery = await fetch(`${base}/login?${probe}`, { headers: forged });
      assert.equal(pageWithForgery.status, 200, 'the log-in page is Latchkey\'s, through the proxy');
      assert.ok(!appSaw(probe), 'and never the app\'s');
    });

    test('in Chromium: the app sends a visitor to log in and back, greets them by the email from the headers, and "sign out everywhere else" elsewhere sends them back to log in', { skip: chromiumSkip, timeout: 120_000 }, async () => {
      const browser: Browser = await launchChromium();
      try {
        const logIn = async (page: Page, path: string) => {
          await page.goto(base + path);
          assert.ok(page.url().startsWith(`${base}/login?next=`), `sent to log in: ${page.url()}`);
          await page.getByLabel('Email address', { exact: true }).fill(account.email);
          await page.getByLabel('Password', { exact: true }).fill(account.password);
          await page.getByRole('button', { name: 'Log in', exact: true }).click();
          await page.waitForURL(base + path);
        };
        const first = await (await browser.newContext()).newPage();
        await logIn(first, '/');
        assert.equal((await first.locator('#greeting').textContent())?.trim(), `Hello, ${account.email}!`);

        const second = await (await browser.newContext()).newPage();
        await logIn(second, '/notes');
        assert.equal(JSON.parse(await second.locator('body').textContent() ?? '{}').owner, account.email);
        await second.goto(`${base}/account`);
        await second.getByRole('button', { name: 'Sign out everywhere else', exact: true }).click({ timeout: 10_000 });
        await second.goto(`${base}/`);
        assert.equal(second.url(), `${base}/`, 'the browser that signed the others out stays in');

        await first.goto(`${base}/`);
        assert.ok(first.url().startsWith(`${base}/login?next=`), `the other browser is sent to log in: ${first.url()}`);
      } finally {
        await browser.close();
      }
    });
  });
}

describe('examples/flask-app without a proxy: latchkey_user_required checks the bearer token with GET /api/me', { skip: flaskSkip }, () => {
  let latchkey: TestServer;
  let app: Service;

  before(async () => {
    latchkey = await startServer('sqlite');
    app = await startFlaskApp(latchkey.url);
  });

  after(async () => {
    await app?.stop();
    await latchkey?.stop();
  });

  test('a live token is let in as its user; none, a forged header or an ended session is 401', { timeout: 60_000 }, async () => {
    const account = await confirmedAccount(latchkey);
    const login = await latchkey.request('POST', '/api/sessions', { body: account });
    const token = login.json.token as string;
    const notes = await fetch(`${app.url}/token/notes`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(notes.status, 200);
    assert.equal((await notes.json() as { owner: string }).owner, account.email);

    assert.equal((await fetch(`${app.url}/token/notes`, { headers: forged })).status, 401);
    assert.equal((await fetch(`${app.url}/token/notes`, { headers: { authorization: 'Bearer not-a-token' } })).status, 401);
    assert.equal((await latchkey.request('DELETE', '/api/sessions/current', { token })).status, 204);
    assert.equal((await fetch(`${app.url}/token/notes`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
  });
});
