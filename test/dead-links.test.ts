// Issue 10, point 11c (API.md v2, "Tokens" and "HTML pages"): opening a
// confirm, reset or confirm-email link with GET checks its token without
// spending it. A live one shows the form; a dead one (unknown, expired, spent,
// or for another purpose) is a 400 page that says so and links to where a new
// one is asked for, instead of a form that can only fail after it is filled in.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createAccount, linkTo, logIn, requestEmailChange, requestReset, signUp, strongPassword, uniqueEmail } from './support/accounts.ts';
import { eachDatabase } from './support/databases.ts';
import { FormClient, visibleText, type PageResponse } from './support/forms.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { tokenFromLink } from './support/smtp-sink.ts';


type TokenPage = { path: '/confirm' | '/reset-password' | '/confirm-email'; askAgain: string };
const confirmPage: TokenPage = { path: '/confirm', askAgain: '/resend-confirmation' };
const resetPage: TokenPage = { path: '/reset-password', askAgain: '/forgot-password' };
const emailPage: TokenPage = { path: '/confirm-email', askAgain: '/account' };

/** A token of the right shape that was never issued. */
function unknownToken(): string {
  return randomBytes(32).toString('base64url');
}

function assertDeadPage(response: PageResponse, page: TokenPage, label: string): void {
  assert.equal(response.status, 400, `${label}: ${response.status}`);
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/, label);
  assert.match(visibleText(response.text), /This link does not work/, `${label}: says the link does not work`);
  assert.match(response.text, new RegExp(`<a [^>]*href="${page.askAgain}"`), `${label}: links to ${page.askAgain}`);
  assert.doesNotMatch(response.text, new RegExp(`action="${page.path}"`), `${label}: no form to fill in for nothing`);
  assert.doesNotMatch(response.text, /type="password"/, `${label}: asks for no password`);
}

function assertLivePage(response: PageResponse, page: TokenPage, token: string, label: string): void {
  assert.equal(response.status, 200, `${label}: ${response.status} ${visibleText(response.text).slice(0, 200)}`);
  assert.match(response.text, new RegExp(`action="${page.path}"`), `${label}: the form`);
  assert.ok(response.text.includes(`name="token" value="${token}"`), `${label}: the form carries its token`);
}

eachDatabase((kind, skip) => {
  describe(`token pages opened with GET on ${kind}`, { skip }, () => {
    let server: TestServer;
    let browser: FormClient;

    before(async () => {
      server = await startServer(kind);
      browser = new FormClient(server.url);
    });

    after(() => server?.stop());

    const open = (page: TokenPage, token: string) => browser.get(`${page.path}?token=${encodeURIComponent(token)}`);

    /** Ends the live tokens of an account as time would: their expiry moves into the past. */
    async function expireTokens(email: string): Promise<void> {
      const user = await server.running.store.findUserByEmail(email.toLowerCase());
      assert.ok(user !== undefined, email);
      await server.running.store.db.updateTable('tokens').set({ expires_at: Date.now() - 60_000 })
        .where('user_id', '=', user.id).where('spent_at', 'is', null).execute();
    }

    async function pendingConfirmToken(): Promise<{ email: string; password: string; token: string }> {
      const email = uniqueEmail('pending');
      const password = strongPassword();
      const mail = await signUp(server, { email, password });
      return { email, password, token: tokenFromLink(linkTo(mail, '/confirm')) };
    }

    test('a live confirm link shows its button twice without spending it; once spent it is a 400 page', async () => {
      const { email, password, token } = await pendingConfirmToken();
      assertLivePage(await open(confirmPage, token), confirmPage, token, 'first GET');
      assertLivePage(await open(confirmPage, token), confirmPage, token, 'second GET');
      assert.equal((await server.request('POST', '/api/sessions', { body: { email, password } })).status, 403, 'still unconfirmed after the GETs');
      assert.equal((await server.request('POST', '/api/confirm', { body: { token } })).status, 200, 'the token still works after the GETs');
      assertDeadPage(await open(confirmPage, token), confirmPage, 'spent confirm token');
    });

    test('an unknown, an expired or another purpose\'s token on /confirm is a 400 page linking to /resend-confirmation', async () => {
      assertDeadPage(await open(confirmPage, unknownToken()), confirmPage, 'unknown token');
      assertDeadPage(await open(confirmPage, 'x'), confirmPage, 'malformed token');
      const expired = await pendingConfirmToken();
      await expireTokens(expired.email);
      assertDeadPage(await open(confirmPage, expired.token), confirmPage, 'expired confirm token');
      const account = await createAccount(server);
      const resetToken = await requestReset(server, account.email);
      assertDeadPage(await open(confirmPage, resetToken), confirmPage, 'a reset token on /confirm');
    });

    test('a live reset link shows its form without spending it; once used it is a 400 page', async () => {
      const account = await createAccount(server);
      const token = await requestReset(server, account.email);
      assertLivePage(await open(resetPage, token), resetPage, token, 'first GET');
      assertLivePage(await open(resetPage, token), resetPage, token, 'second GET');
      const newPassword = strongPassword();
      assert.equal((await server.request('POST', '/api/reset-password', { body: { token, password: newPassword } })).status, 200, 'the token still works after the GETs');
      await logIn(server, account.email, newPassword);
      assertDeadPage(await open(resetPage, token), resetPage, 'spent reset token');
    });

    test('an unknown, an expired or another purpose\'s token on /reset-password is a 400 page linking to /forgot-password', async () => {
      assertDeadPage(await open(resetPage, unknownToken()), resetPage, 'unknown token');
      const account = await createAccount(server);
      const token = await requestReset(server, account.email);
      await expireTokens(account.email);
      assertDeadPage(await open(resetPage, token), resetPage, 'expired reset token');
      const pending = await pendingConfirmToken();
      assertDeadPage(await open(resetPage, pending.token), resetPage, 'a confirm token on /reset-password');
      // A newer link voids the older one (API.md, POST /api/reset-password-request).
      const older = await requestReset(server, account.email);
      await requestReset(server, account.email);
      assertDeadPage(await open(resetPage, older), resetPage, 'a reset link voided by a newer one');
    });

    test('a live email-change link shows its button without spending it; once used it is a 400 page', async () => {
      const account = await createAccount(server);
      const session = await logIn(server, account.email, account.password);
      const newEmail = uniqueEmail('moved');
      const token = await requestEmailChange(server, session, newEmail, account.password);
      assertLivePage(await open(emailPage, token), emailPage, token, 'first GET');
      assertLivePage(await open(emailPage, token), emailPage, token, 'second GET');
      assert.equal((await server.request('POST', '/api/confirm', { body: { token } })).status, 200, 'the token still works after the GETs');
      await logIn(server, newEmail, account.password);
      assertDeadPage(await open(emailPage, token), emailPage, 'spent email-change token');
    });

    test('an unknown, an expired or another purpose\'s token on /confirm-email is a 400 page linking to /account', async () => {
      assertDeadPage(await open(emailPage, unknownToken()), emailPage, 'unknown token');
      const account = await createAccount(server);
      const session = await logIn(server, account.email, account.password);
      const token = await requestEmailChange(server, session, uniqueEmail('late'), account.password);
      await expireTokens(account.email);
      assertDeadPage(await open(emailPage, token), emailPage, 'expired email-change token');
      const pending = await pendingConfirmToken();
      assertDeadPage(await open(emailPage, pending.token), emailPage, 'a confirm token on /confirm-email');
    });
  });
});
