// A code beside every link (issue 15, API.md "Links and codes"): the codes
// of the confirmation, reset and email-change mails each finish their flow
// over the API and on the pages (forms without JavaScript), on both
// databases; then the same, and signing in by link and code, in headless
// Chromium with JavaScript off.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { codeOf, createAccount, linkStartingWith, linkTo, logIn, signUp, strongPassword, uniqueEmail } from './support/accounts.ts';
import { assertMessage, assertProblem, assertUser, assertValidation } from './support/assertions.ts';
import { launchChromium, skipUnlessChromium, startBrowserServer } from './support/browser.ts';
import { eachDatabase } from './support/databases.ts';
import { FormClient, setCookie } from './support/forms.ts';
import { startServer, testBaseUrl, type TestServer } from './support/latchkey.ts';
import { tokenFromLink, type ReceivedMail } from './support/smtp-sink.ts';

/** POST `path` (202 expected) and the next mail to `mailbox`. */
async function mailFrom(server: TestServer, path: string, body: unknown, mailbox: string, token?: string): Promise<ReceivedMail> {
  const before = server.smtp.to(mailbox).length;
  assertMessage(await server.request('POST', path, token === undefined ? { body } : { body, token }), 202);
  return server.smtp.waitForMailTo(mailbox, before);
}

const codeInput = /<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="\[0-9\]\{6\}"/;

eachDatabase((kind, skip) => {
  describe(`codes in every link mail, over the API, on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind);
    });

    after(() => server?.stop());

    test('confirmation: the mail\'s code confirms the account; its link is spent with it', async () => {
      const account = { email: uniqueEmail('confirm'), password: strongPassword() };
      const mail = await signUp(server, account);
      const code = codeOf(mail);
      assert.match(mail.text, /expire/);
      const wrong = await server.request('POST', '/api/confirm', { body: { email: account.email, code: code === '000000' ? '000001' : '000000' } });
      assertProblem(wrong, 400, 'invalid_token');
      const confirmed = await server.request('POST', '/api/confirm', { body: { email: account.email, code } });
      assert.equal(confirmed.status, 200, confirmed.text);
      assertUser(confirmed.json.user, { email: account.email, confirmed: true });
      assertProblem(await server.request('POST', '/api/confirm', { body: { token: tokenFromLink(linkTo(mail, '/confirm')) } }), 400, 'invalid_token');
      await logIn(server, account.email, account.password);
    });

    test('confirmation: a newer mail voids the older code (the older link still proves the address)', async () => {
      const account = { email: uniqueEmail('resent'), password: strongPassword() };
      const older = await signUp(server, account);
      const newer = await mailFrom(server, '/api/resend-confirm', { email: account.email }, account.email);
      if (codeOf(older) !== codeOf(newer)) assertProblem(await server.request('POST', '/api/confirm', { body: { email: account.email, code: codeOf(older) } }), 400, 'invalid_token');
      assert.equal((await server.request('POST', '/api/confirm', { body: { email: account.email, code: codeOf(newer) } })).status, 200);
    });

    test('reset: a weak password is 422 and leaves the code unspent; then the code sets the password, once', async () => {
      const account = await createAccount(server);
      const mail = await mailFrom(server, '/api/reset-password-request', { email: account.email }, account.email);
      const code = codeOf(mail);
      assertValidation(await server.request('POST', '/api/reset-password', { body: { email: account.email, code, password: 'short' } }), ['password']);
      const password = strongPassword();
      assertMessage(await server.request('POST', '/api/reset-password', { body: { email: account.email, code, password } }), 200);
      await logIn(server, account.email, password);
      assertProblem(await server.request('POST', '/api/reset-password', { body: { email: account.email, code, password: strongPassword() } }), 400, 'invalid_token');
      assertProblem(await server.request('POST', '/api/reset-password', { body: { token: tokenFromLink(linkTo(mail, '/reset-password')), password: strongPassword() } }), 400, 'invalid_token');
    });

    test('email change: the code is tried with the new address (the old one is refused) and moves the account', async () => {
      const account = await createAccount(server);
      const session = await logIn(server, account.email, account.password);
      const newEmail = uniqueEmail('moved');
      const mail = await mailFrom(server, '/api/update-email', { new_email: newEmail, password: account.password }, newEmail, session);
      const code = codeOf(mail);
      assertProblem(await server.request('POST', '/api/confirm', { body: { email: account.email, code } }), 400, 'invalid_token');
      const moved = await server.request('POST', '/api/confirm', { body: { email: newEmail, code } });
      assert.equal(moved.status, 200, moved.text);
      assertUser(moved.json.user, { email: newEmail });
      assertProblem(await server.request('POST', '/api/confirm', { body: { token: tokenFromLink(linkTo(mail, '/confirm-email')) } }), 400, 'invalid_token');
    });

    test('a right code with a weak password is no wrong code: six refused passwords leave it working', async () => {
      const account = await createAccount(server);
      const code = codeOf(await mailFrom(server, '/api/reset-password-request', { email: account.email }, account.email));
      for (let i = 0; i < 6; i += 1) assertValidation(await server.request('POST', '/api/reset-password', { body: { email: account.email, code, password: 'short' } }), ['password']);
      assertMessage(await server.request('POST', '/api/reset-password', { body: { email: account.email, code, password: strongPassword() } }), 200);
    });

    test('five wrong codes void a reset code and its link', async () => {
      const account = await createAccount(server);
      const mail = await mailFrom(server, '/api/reset-password-request', { email: account.email }, account.email);
      const code = codeOf(mail);
      for (let i = 1; i <= 5; i += 1) {
        const guess = String((Number(code) + i) % 1_000_000).padStart(6, '0');
        assertProblem(await server.request('POST', '/api/reset-password', { body: { email: account.email, code: guess, password: strongPassword() } }), 400, 'invalid_token');
      }
      assertProblem(await server.request('POST', '/api/reset-password', { body: { email: account.email, code, password: strongPassword() } }), 400, 'invalid_token');
      assertProblem(await server.request('POST', '/api/reset-password', { body: { token: tokenFromLink(linkTo(mail, '/reset-password')), password: strongPassword() } }), 400, 'invalid_token');
    });
  });

  describe(`codes on the pages (no JavaScript), on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind);
    });

    after(() => server?.stop());

    test('/confirm takes the address and the code; a wrong code is a 400 form keeping the address, never the code', async () => {
      const account = { email: uniqueEmail('page-confirm'), password: strongPassword() };
      const code = codeOf(await signUp(server, account));
      const client = new FormClient(server.url);
      const form = await client.get('/confirm');
      assert.equal(form.status, 200);
      assert.match(form.text, codeInput);
      const wrongCode = code === '987654' ? '987653' : '987654';
      const refused = await client.submit('/confirm', { email: account.email, code: wrongCode });
      assert.equal(refused.status, 400);
      assert.match(refused.text, /role="alert"/);
      assert.ok(refused.text.includes(`value="${account.email}"`), 'the address is kept');
      assert.ok(!refused.text.includes(wrongCode), 'the code is not');
      const done = await client.submit('/confirm', { email: account.email, code });
      assert.equal(done.status, 303);
      assert.match((await client.follow(done)).text, /role="status"/);
      await logIn(server, account.email, account.password);
    });

    test('/reset-password takes the address, the code and a new password', async () => {
      const account = await createAccount(server);
      const mail = await mailFrom(server, '/api/reset-password-request', { email: account.email }, account.email);
      const client = new FormClient(server.url);
      const password = strongPassword();
      const done = await client.submit('/reset-password', { email: account.email, code: codeOf(mail), password, password_confirmation: password });
      assert.equal(done.status, 303, done.text.slice(0, 300));
      await logIn(server, account.email, password);
    });

    test('/login emails a log-in link (the same flash for an unknown address); /login/code signs in and honours next', async () => {
      const account = await createAccount(server);
      const already = server.smtp.to(account.email).length;
      for (const email of [uniqueEmail('nobody'), account.email]) {
        const client = new FormClient(server.url);
        const asked = await client.submit('/login', { email }, '/login/email-link');
        assert.equal(asked.status, 303);
        assert.equal(asked.location, '/login/code');
        const page = await client.follow(asked);
        assert.match(page.text, /role="status"[^>]*>[^<]*link to log in is on its way/);
        assert.match(page.text, codeInput);
      }
      const mail = await server.smtp.waitForMailTo(account.email, already);
      const client = new FormClient(server.url);
      const signedIn = await client.submit('/login/code?next=/account%3Ftab%3D1', { email: account.email, code: codeOf(mail), next: '/account?tab=1' }, '/login/code');
      assert.equal(signedIn.status, 303, signedIn.text.slice(0, 300));
      assert.equal(signedIn.location, '/account?tab=1');
      assert.ok(setCookie(signedIn, 'latchkey_session') !== undefined, 'the session cookie is set');
    });

    test('/login/link?token= shows a button and spends nothing; its POST signs in; a dead link is a 400 page pointing to /login', async () => {
      const account = await createAccount(server);
      const mail = await mailFrom(server, '/api/login-links', { email: account.email }, account.email);
      const link = linkStartingWith(mail, `${testBaseUrl}/login/link?token=`);
      const path = new URL(link).pathname + new URL(link).search;
      const client = new FormClient(server.url);
      assert.equal((await client.get(path)).status, 200);
      assert.equal((await client.get(path)).status, 200, 'opening it twice still shows the button');
      const signedIn = await client.submit(path, { token: tokenFromLink(link) }, '/login/link');
      assert.equal(signedIn.status, 303);
      assert.ok(setCookie(signedIn, 'latchkey_session') !== undefined);
      const dead = await new FormClient(server.url).get(path);
      assert.equal(dead.status, 400);
      assert.match(dead.text, /href="\/login"/);
    });
  });
});

const skipBrowser = skipUnlessChromium();

describe('codes and log-in links in headless Chromium, JavaScript off', { skip: skipBrowser }, () => {
  let browser: Browser;
  let server: TestServer;

  before(async () => {
    browser = await launchChromium();
    server = await startBrowserServer();
  });

  after(async () => {
    await server?.stop();
    await browser?.close();
  });

  /** A confirmed account on this server (whose links are not testBaseUrl's): confirmed by its code. */
  async function confirmedAccount(): Promise<{ email: string; password: string }> {
    const account = { email: uniqueEmail('chromium'), password: strongPassword() };
    const code = codeOf(await signUp(server, account));
    assert.equal((await server.request('POST', '/api/confirm', { body: { email: account.email, code } })).status, 200);
    return account;
  }

  async function page(): Promise<Page> {
    const context = await browser.newContext({ javaScriptEnabled: false, locale: 'en-US' });
    return context.newPage();
  }

  async function typeCode(tab: Page, email: string, code: string, button: string): Promise<void> {
    await tab.getByLabel('Email address', { exact: true }).fill(email);
    const input = tab.getByLabel('Code from the email', { exact: true });
    assert.equal(await input.getAttribute('inputmode'), 'numeric');
    assert.equal(await input.getAttribute('autocomplete'), 'one-time-code');
    await input.fill(code);
    await tab.getByRole('button', { name: button, exact: true }).click();
  }

  async function flash(tab: Page): Promise<string> {
    return ((await tab.getByRole('status').textContent()) ?? '').trim();
  }

  test('confirmation by code on /confirm', async () => {
    const account = { email: uniqueEmail('chromium-confirm'), password: strongPassword() };
    const code = codeOf(await signUp(server, account));
    const tab = await page();
    await tab.goto(`${server.url}/confirm`);
    await typeCode(tab, account.email, code, 'Confirm my email address');
    assert.match(await flash(tab), /confirmed/);
    await logIn(server, account.email, account.password);
  });

  test('reset by code on /reset-password', async () => {
    const account = await confirmedAccount();
    const mail = await mailFrom(server, '/api/reset-password-request', { email: account.email }, account.email);
    const tab = await page();
    await tab.goto(`${server.url}/reset-password`);
    const password = strongPassword();
    await tab.getByLabel('New password', { exact: true }).fill(password);
    await tab.getByLabel('Repeat the new password', { exact: true }).fill(password);
    await typeCode(tab, account.email, codeOf(mail), 'Set my new password');
    assert.match(await flash(tab), /password has been changed/);
    await logIn(server, account.email, password);
  });

  test('email change by code on /confirm, typed with the new address', async () => {
    const account = await confirmedAccount();
    const session = await logIn(server, account.email, account.password);
    const newEmail = uniqueEmail('chromium-moved');
    const mail = await mailFrom(server, '/api/update-email', { new_email: newEmail, password: account.password }, newEmail, session);
    const tab = await page();
    await tab.goto(`${server.url}/confirm`);
    await typeCode(tab, newEmail, codeOf(mail), 'Confirm my email address');
    assert.equal((await tab.getByRole('status').count()), 1);
    await logIn(server, newEmail, account.password);
  });

  test('log-in link asked on /login, signed in by typing the code on another "device"', async () => {
    const account = await confirmedAccount();
    const tab = await page();
    await tab.goto(`${server.url}/login`);
    const before = server.smtp.to(account.email).length;
    await tab.getByLabel('Email address', { exact: true }).fill(account.email);
    await tab.getByRole('button', { name: 'Email me a log-in link', exact: true }).click();
    assert.match(await flash(tab), /link to log in is on its way/);
    const mail = await server.smtp.waitForMailTo(account.email, before);
    const other = await page();
    await other.goto(`${server.url}/login/code`);
    await typeCode(other, account.email, codeOf(mail), 'Log in');
    assert.match(new URL(other.url()).pathname, /^\/account/);
  });

  test('log-in link opened from the mail: a button, pressed, signs in', async () => {
    const account = await confirmedAccount();
    const mail = await mailFrom(server, '/api/login-links', { email: account.email }, account.email);
    const tab = await page();
    await tab.goto(linkStartingWith(mail, `${server.url}/login/link?token=`));
    await tab.getByRole('button', { name: 'Log me in', exact: true }).click();
    assert.match(new URL(tab.url()).pathname, /^\/account/);
    assert.match(await flash(tab), /logged in/);
  });
});
