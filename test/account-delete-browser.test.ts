// The name form and "Delete my account" on /account in headless Chromium with
// JavaScript off: the password, a confirmation page, then the account is gone,
// the browser logged out and told so on the home page.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { linkStartingWith, signUp, strongPassword, uniqueEmail, type Account } from './support/accounts.ts';
import { csrfOf, FormClient } from './support/forms.ts';
import { tokenFromLink } from './support/smtp-sink.ts';
import { assertProblem } from './support/assertions.ts';
import { launchChromium, skipUnlessChromium, startBrowserServer } from './support/browser.ts';
import type { TestServer } from './support/latchkey.ts';

const skip = skipUnlessChromium();

// The English words a person reads, written here rather than read from the strings files.
const words = {
  email: 'Email address',
  password: 'Password',
  logIn: 'Log in',
  nameField: 'Name',
  saveName: 'Save the name',
  nameChanged: 'Your name has been changed.',
  deletePassword: 'Your password, to confirm',
  deleteButton: 'Delete my account…',
  confirmHeading: 'Delete your account for good?',
  confirmButton: 'Yes, delete my account',
  keep: 'No, keep my account',
  deleted: 'Your account has been deleted. A confirmation is on its way to your email address.',
  wrongPassword: /not correct|wrong/i,
};

describe('/account in headless Chromium: the name form and deleting the account', () => {
  let browser: Browser;
  let server: TestServer;

  before(async () => {
    if (skip !== false) return;
    browser = await launchChromium();
    server = await startBrowserServer();
  });

  after(async () => {
    await server?.stop();
    await browser?.close();
  });

  /** A confirmed account, through its mailed link (on this server's own BASE_URL). */
  async function confirmedAccount(name?: string): Promise<Account> {
    const account = { email: uniqueEmail('leaver'), password: strongPassword() };
    const mail = await signUp(server, name === undefined ? account : { ...account, name });
    const confirmed = await server.request('POST', '/api/confirm', { body: { token: tokenFromLink(linkStartingWith(mail, `${server.url}/confirm?token=`)) } });
    assert.equal(confirmed.status, 200, confirmed.text);
    return account;
  }

  async function loggedIn(email: string, password: string): Promise<{ page: Page; close: () => Promise<void> }> {
    const context = await browser.newContext({ javaScriptEnabled: false, locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(`${server.url}/login`);
    await page.getByLabel(words.email, { exact: true }).fill(email);
    await page.getByLabel(words.password, { exact: true }).fill(password);
    await page.getByRole('button', { name: words.logIn, exact: true }).click();
    assert.equal(new URL(page.url()).pathname, '/account');
    return { page, close: () => context.close() };
  }

  test('the name form changes the name and clears it', { skip }, async () => {
    const account = await confirmedAccount('Before Name');
    const { page, close } = await loggedIn(account.email, account.password);
    try {
      const field = page.getByLabel(words.nameField, { exact: true });
      assert.equal(await field.inputValue(), 'Before Name', 'the form shows the current name');
      await field.fill('After Name');
      await page.getByRole('button', { name: words.saveName, exact: true }).click();
      assert.equal((await page.getByRole('status').textContent())?.trim(), words.nameChanged);
      assert.ok((await page.textContent('main'))!.includes('After Name'));
      await page.getByLabel(words.nameField, { exact: true }).fill('');
      await page.getByRole('button', { name: words.saveName, exact: true }).click();
      const token = (await server.request('POST', '/api/sessions', { body: account })).json.token as string;
      assert.equal((await server.request('GET', '/api/me', { token })).json.user.name, null);
      await page.getByLabel(words.nameField, { exact: true }).fill('x'.repeat(101));
      await page.getByRole('button', { name: words.saveName, exact: true }).click();
      assert.match((await page.textContent('main'))!, /at most 100 characters/);
    } finally {
      await close();
    }
  });

  test('a wrong password is refused; the right one leads to a confirmation; confirming deletes, logs out and says so', { skip }, async () => {
    const account = await confirmedAccount();
    const other = await server.request('POST', '/api/sessions', { body: account });
    const { page, close } = await loggedIn(account.email, account.password);
    try {
      await page.getByLabel(words.deletePassword, { exact: true }).fill(strongPassword());
      await page.getByRole('button', { name: words.deleteButton, exact: true }).click();
      assert.match((await page.textContent('main'))!, words.wrongPassword);
      assert.equal(new URL(page.url()).pathname, '/account/delete');

      await page.goto(`${server.url}/account`);
      await page.getByLabel(words.deletePassword, { exact: true }).fill(account.password);
      await page.getByRole('button', { name: words.deleteButton, exact: true }).click();
      assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), words.confirmHeading);
      assert.ok((await page.textContent('main'))!.includes(account.email), 'the confirmation names the account');
      assert.equal(await page.getByRole('link', { name: words.keep, exact: true }).count(), 1, 'a way back');
      // Nothing is deleted before the second step.
      assert.equal((await server.request('GET', '/api/me', { token: other.json.token })).status, 200);

      const before = server.smtp.to(account.email).length;
      await page.getByRole('button', { name: words.confirmButton, exact: true }).click();
      assert.equal(new URL(page.url()).pathname, '/');
      assert.equal((await page.getByRole('status').textContent())?.trim(), words.deleted);
      const cookies = await page.context().cookies();
      assert.ok(!cookies.some((c) => c.name === 'latchkey_session'), 'the session cookie is cleared');

      assertProblem(await server.request('GET', '/api/me', { token: other.json.token }), 401, 'unauthenticated');
      assertProblem(await server.request('POST', '/api/sessions', { body: account }), 401, 'invalid_credentials');
      assert.match((await server.smtp.waitForMailTo(account.email, before)).subject, /deleted/i);
      await page.goto(`${server.url}/account`);
      assert.equal(new URL(page.url()).pathname, '/login', 'the account page asks for a log-in again');
    } finally {
      await close();
    }
  });

  test('the confirmation step refuses a forged ticket, and a ticket of another session', { skip }, async () => {
    const account = await confirmedAccount();
    const browsers = [new FormClient(server.url), new FormClient(server.url)];
    for (const client of browsers) assert.equal((await client.submit('/login', account)).status, 303);
    const asked = await browsers[0]!.submit('/account', { delete_password: account.password }, '/account/delete');
    assert.equal(asked.status, 200, asked.text);
    const ticket = /name="ticket" value="([^"]+)"/.exec(asked.text)![1]!;
    const csrf = (client: FormClient) => client.get('/account').then((page) => csrfOf(page.text, '/account/delete'));

    const forged = await browsers[0]!.post('/account/delete/confirm', { _csrf: await csrf(browsers[0]!), ticket: `${Date.now() + 60_000}.forged` });
    assert.equal(forged.status, 400);
    const foreign = await browsers[1]!.post('/account/delete/confirm', { _csrf: await csrf(browsers[1]!), ticket });
    assert.equal(foreign.status, 400, 'a ticket is bound to the session that typed the password');
    const token = (await server.request('POST', '/api/sessions', { body: account })).json.token as string;
    assert.equal((await server.request('GET', '/api/me', { token })).status, 200, 'the account is still there');

    const done = await browsers[0]!.post('/account/delete/confirm', { _csrf: await csrf(browsers[0]!), ticket });
    assert.equal(done.status, 303);
    assertProblem(await server.request('GET', '/api/me', { token }), 401, 'unauthenticated');
  });
});
