// COOKIE_DOMAIN in headless Chromium (API.md, Configuration and "Reverse
// proxies"): the session cookie the log-in page sets on accounts.latchkey.test
// reaches an app on the sibling host app.latchkey.test, whose every request
// asks Latchkey's forward-auth; without a session the app's page is sent to
// log in and the log-in brings the browser back to it. Host names are mapped
// to loopback with Chromium's --host-resolver-rules. Without COOKIE_DOMAIN the
// same walk must fail: the cookie stays on the accounts host.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { linkStartingWith, strongPassword, uniqueEmail, type Account } from './support/accounts.ts';
import { launchChromium, skipUnlessChromium } from './support/browser.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { freePort } from './support/process.ts';
import { tokenFromLink } from './support/smtp-sink.ts';

const skip = skipUnlessChromium();

/** An app on app.latchkey.test that trusts only what forward-auth says, as Caddy's forward_auth would. */
async function startApp(port: number, latchkey: string, seen: string[]): Promise<Server> {
  const app = createServer(async (request, response) => {
    const answer = await fetch(`${latchkey}/api/authz/forward-auth`, {
      redirect: 'manual',
      headers: {
        cookie: request.headers.cookie ?? '', accept: request.headers.accept ?? '',
        'x-forwarded-method': request.method ?? 'GET', 'x-forwarded-proto': 'http',
        'x-forwarded-host': request.headers.host ?? '', 'x-forwarded-uri': request.url ?? '/',
      },
    });
    seen.push(`${answer.status} ${request.headers.cookie ?? ''}`);
    if (answer.status === 200) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(`<h1>Hello, ${answer.headers.get('x-latchkey-email')}</h1><p>${request.url}</p>`);
    } else if (answer.status === 302) {
      response.writeHead(302, { location: answer.headers.get('location')! }).end();
    } else {
      response.writeHead(answer.status).end('not signed in');
    }
  });
  await new Promise<void>((resolve) => app.listen(port, '127.0.0.1', resolve));
  return app;
}

for (const shared of [true, false]) {
  describe(`a session cookie ${shared ? 'with' : 'without'} COOKIE_DOMAIN, in headless Chromium`, { skip }, () => {
    let browser: Browser;
    let server: TestServer;
    let app: Server;
    let accounts: string;
    let appOrigin: string;
    let account: Account;
    const seen: string[] = [];

    before(async () => {
      const [port, appPort] = [await freePort(), await freePort()];
      accounts = `http://accounts.latchkey.test:${port}`;
      appOrigin = `http://app.latchkey.test:${appPort}`;
      server = await startServer('sqlite', {
        PORT: String(port), BASE_URL: accounts, ALLOWED_ORIGINS: appOrigin, ...(shared ? { COOKIE_DOMAIN: 'latchkey.test' } : {}),
      });
      app = await startApp(appPort, server.url, seen);
      browser = await launchChromium(['--host-resolver-rules=MAP *.latchkey.test 127.0.0.1']);
      account = { email: uniqueEmail('shared'), password: strongPassword() };
      const response = await server.request('POST', '/api/users', { body: account });
      assert.equal(response.status, 202);
      const mail = await server.smtp.waitForMailTo(account.email);
      const confirmed = await server.request('POST', '/api/confirm', { body: { token: tokenFromLink(linkStartingWith(mail, `${accounts}/confirm?token=`)) } });
      assert.equal(confirmed.status, 200, confirmed.text);
    });

    after(async () => {
      await browser?.close();
      await new Promise((resolve) => app?.close(resolve));
      await server?.stop();
    });

    test(shared
      ? "opening the app sends the browser to log in, which returns it to the app; the app's forward-auth sees the cookie"
      : 'the host-only cookie never reaches the app: after log-in, the app still sends the browser to log in (this suite can fail)', async () => {
      const context = await browser.newContext({ javaScriptEnabled: false });
      const page = await context.newPage();
      await page.goto(`${appOrigin}/reports?year=2026`);
      const login = new URL(page.url());
      assert.equal(`${login.origin}${login.pathname}`, `${accounts}/login`);
      assert.equal(login.searchParams.get('next'), `${appOrigin}/reports?year=2026`);
      // Without a shared cookie, coming back to the app would send the browser to log in again and again: log in for /account instead.
      if (!shared) await page.goto(`${accounts}/login`);

      await page.getByLabel('Email address', { exact: true }).fill(account.email);
      await page.getByLabel('Password', { exact: true }).fill(account.password);
      await page.getByRole('button', { name: 'Log in', exact: true }).click();
      await page.waitForURL(shared ? `${appOrigin}/reports?year=2026` : `${accounts}/account`);

      const cookies = await context.cookies();
      const session = cookies.find((cookie) => cookie.name === 'latchkey_session');
      assert.ok(session !== undefined, `a session cookie: ${JSON.stringify(cookies.map((c) => c.name))}`);
      const csrf = cookies.find((cookie) => cookie.name === 'latchkey_csrf');
      assert.equal(csrf?.domain, 'accounts.latchkey.test', 'the CSRF anchor stays host-only');
      if (shared) {
        assert.equal(session.domain, '.latchkey.test');
        assert.equal(page.url(), `${appOrigin}/reports?year=2026`);
        assert.equal(await page.locator('h1').textContent(), `Hello, ${account.email}`);
        assert.match(seen.at(-1)!, /^200 .*latchkey_session=/);
        // The app's next page works too, and log-out on the accounts host ends it there.
        await page.goto(`${appOrigin}/other`);
        assert.equal(await page.locator('h1').textContent(), `Hello, ${account.email}`);
        await page.goto(`${accounts}/account`);
        await page.getByRole('button', { name: 'Log out of this browser' }).click();
        assert.equal((await context.cookies()).find((cookie) => cookie.name === 'latchkey_session'), undefined, 'log-out cleared the shared cookie');
        await page.goto(`${appOrigin}/again`);
        assert.equal(new URL(page.url()).pathname, '/login');
      } else {
        assert.equal(session.domain, 'accounts.latchkey.test');
        // The app sends the browser to log in, whose signed-in visitor is sent back to the app, and so on: the browser gives up.
        seen.length = 0;
        await assert.rejects(page.goto(`${appOrigin}/reports`), /ERR_TOO_MANY_REDIRECTS/);
        assert.ok(seen.length > 0 && seen.every((entry) => entry.startsWith('302 ') && !entry.includes('latchkey_session')), seen.join('\n'));
      }
      await context.close();
    });
  });
}
