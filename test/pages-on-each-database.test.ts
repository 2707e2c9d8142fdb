// The HTML pages (API.md, HTML pages) on both databases: test/pages.test.ts
// runs them on SQLite only, and the pages reach the store through paths of
// their own (the session cookie, CSRF, flashes after each redirect). A short
// walk through the forms, as a person without JavaScript takes it: register,
// confirm, log in, the account page, log out, forgot and reset the password,
// log in with the new one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { linkTo, strongPassword, uniqueEmail } from './support/accounts.ts';
import { skipUnlessPostgres, type DatabaseKind } from './support/databases.ts';
import { FormClient, csrfOf, visibleText, type PageResponse } from './support/forms.ts';
import { startServer, type TestServer } from './support/latchkey.ts';

const postgresSkip = await skipUnlessPostgres();

function pathOf(link: string): string {
  const url = new URL(link);
  return url.pathname + url.search;
}

function assertFlash(page: PageResponse, role: 'status' | 'alert', text: string): void {
  assert.equal(page.status, 200, page.text.slice(0, 300));
  assert.ok(new RegExp(`role="${role}"[^>]*>${text.replace(/[.?*+()[\]]/g, '\\$&')}`).test(page.text), `a ${role} saying "${text}":\n${visibleText(page.text).slice(0, 500)}`);
}

for (const kind of ['sqlite', 'postgres'] as DatabaseKind[]) {
  describe(`the pages on ${kind}`, { skip: kind === 'postgres' ? postgresSkip : false }, () => {
    let server: TestServer;
    before(async () => {
      server = await startServer(kind);
    });
    after(() => server?.stop());

    test('register, confirm, log in, account, log out, forgot and reset, log in with the new password — all through the forms with CSRF', async () => {
      const browser = new FormClient(server.url);
      const email = uniqueEmail(`pages-${kind}`);
      const password = strongPassword();

      const registered = await browser.submit('/register', { email, password, password_confirmation: password });
      assert.equal(registered.location, '/login');
      assertFlash(await browser.follow(registered), 'status', 'Check your inbox: we sent a message to that address to finish signing up.');

      const confirmPath = pathOf(linkTo(await server.smtp.waitForMailTo(email), '/confirm'));
      const confirmed = await browser.submit(confirmPath, { token: new URL(confirmPath, server.url).searchParams.get('token')! }, '/confirm');
      assert.equal(confirmed.location, '/login');
      assertFlash(await browser.follow(confirmed), 'status', 'Your email address is confirmed. You can log in now.');

      const wrong = await browser.submit('/login', { email, password: strongPassword() });
      assert.equal(wrong.status, 401);
      assert.match(wrong.text, /role="alert">The email address or password is not correct/);

      const loggedIn = await browser.submit('/login', { email, password });
      assert.equal(loggedIn.location, '/account');
      const account = await browser.follow(loggedIn);
      assertFlash(account, 'status', 'You are logged in.');
      assert.ok(visibleText(account.text).includes(email), 'the account page shows the address');

      const loggedOut = await browser.post('/logout', { _csrf: csrfOf(account.text, '/logout') });
      assert.equal(loggedOut.location, '/login');
      assertFlash(await browser.follow(loggedOut), 'status', 'You have been logged out.');
      assert.equal((await browser.get('/account')).status, 303, 'logged out: the account page sends to log in');

      const asked = await browser.submit('/forgot-password', { email });
      assert.equal(asked.location, '/login');
      assertFlash(await browser.follow(asked), 'status', 'If an account uses this address, a link to reset its password is on its way.');
      const resetPath = pathOf(linkTo(await server.smtp.waitForMailTo(email, 1), '/reset-password'));
      const newPassword = strongPassword();
      const reset = await browser.submit(resetPath, { token: new URL(resetPath, server.url).searchParams.get('token')!, password: newPassword, password_confirmation: newPassword }, '/reset-password');
      assert.equal(reset.location, '/login');
      assertFlash(await browser.follow(reset), 'status', 'Your password has been changed. Log in with your new password.');

      assert.equal((await browser.submit('/login', { email, password })).status, 401, 'the old password no longer works');
      const again = await browser.submit('/login', { email, password: newPassword });
      assert.equal(again.location, '/account');
      assert.ok(visibleText((await browser.follow(again)).text).includes(email));
    });
  });
}
