// API.md, Tokens: single use, one purpose, expiry, exactly one winner among
// concurrent redemptions, and the tokens a password or email change voids.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, linkTo, logIn, requestEmailChange, requestReset, signUp, strongPassword, uniqueEmail } from './support/accounts.ts';
import { assertMessage, assertProblem, assertValidation } from './support/assertions.ts';
import { eachDatabase } from './support/databases.ts';
import { answeredBefore, conclusively, createAccountInTime, mailInTime, tokenExpiry, waitPast } from './support/expiry.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { tokenFromLink } from './support/smtp-sink.ts';

const base64url = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The token with one character changed, still URL-safe and the same length:
 * the lowest bit of that character flips. In the last character of a 256-bit
 * token that bit is padding, so a server that decoded tokens instead of
 * comparing them exactly would take the altered token for the real one.
 */
function altered(token: string, at = Math.floor(token.length / 2)): string {
  const index = base64url.indexOf(token[at]!);
  assert.ok(index >= 0, `token characters are URL-safe base64: ${token}`);
  return token.slice(0, at) + base64url[index ^ 1] + token.slice(at + 1);
}

eachDatabase((kind, skip) => {
  describe(`tokens on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind);
    });

    after(() => server?.stop());

    const confirm = (token: unknown) => server.request('POST', '/api/confirm', { body: { token } });
    const reset = (token: unknown, password: unknown) => server.request('POST', '/api/reset-password', { body: { token, password } });
    const logInStatus = async (email: string, password: string) =>
      (await server.request('POST', '/api/sessions', { body: { email, password } })).status;
    const me = (token: string) => server.request('GET', '/api/me', { token });

    async function confirmToken(): Promise<{ email: string; password: string; token: string }> {
      const email = uniqueEmail('unconfirmed');
      const password = strongPassword();
      const mail = await signUp(server, { email, password });
      return { email, password, token: tokenFromLink(linkTo(mail, '/confirm')) };
    }

    async function loggedIn() {
      const account = await createAccount(server);
      return { ...account, session: await logIn(server, account.email, account.password) };
    }

    describe('single use', () => {
      test('a spent confirm token is 400 invalid_token', async () => {
        const { token } = await confirmToken();
        assert.equal((await confirm(token)).status, 200);
        assertProblem(await confirm(token), 400, 'invalid_token');
      });

      test('a spent reset token is 400 invalid_token and does not change the password again', async () => {
        const account = await createAccount(server);
        const token = await requestReset(server, account.email);
        const first = strongPassword();
        assertMessage(await reset(token, first), 200);
        assertProblem(await reset(token, strongPassword()), 400, 'invalid_token');
        assert.equal(await logInStatus(account.email, first), 201);
      });

      test('a spent email-change token is 400 invalid_token', async () => {
        const { password, session } = await loggedIn();
        const token = await requestEmailChange(server, session, uniqueEmail('moved'), password);
        assert.equal((await confirm(token)).status, 200);
        assertProblem(await confirm(token), 400, 'invalid_token');
      });
    });

    describe('one purpose', () => {
      test('a reset token is invalid_token at /api/confirm, confirms nothing, and still resets', async () => {
        const pending = await createAccount(server, { confirmed: false });
        const token = await requestReset(server, pending.email);
        assertProblem(await confirm(token), 400, 'invalid_token');
        assert.equal(await logInStatus(pending.email, pending.password), 403, 'still unconfirmed');
        assertMessage(await reset(token, strongPassword()), 200);
      });

      test('a confirm token is invalid_token at /api/reset-password, sets no password, and still confirms', async () => {
        const { email, password, token } = await confirmToken();
        const other = strongPassword();
        assertProblem(await reset(token, other), 400, 'invalid_token');
        assert.equal(await logInStatus(email, other), 401);
        assert.equal(await logInStatus(email, password), 403, 'still unconfirmed');
        assert.equal((await confirm(token)).status, 200);
        assert.equal(await logInStatus(email, password), 201);
      });

      test('an email-change token is invalid_token at /api/reset-password and still changes the address', async () => {
        const { email, password, session } = await loggedIn();
        const newEmail = uniqueEmail('moved');
        const token = await requestEmailChange(server, session, newEmail, password);
        assertProblem(await reset(token, strongPassword()), 400, 'invalid_token');
        assert.equal(await logInStatus(email, password), 201);
        assert.equal((await confirm(token)).status, 200);
        assert.equal((await me(session)).json.user.email, newEmail);
      });

      test('a session token is not a link token', async () => {
        const { session } = await loggedIn();
        assertProblem(await confirm(session), 400, 'invalid_token');
        assertProblem(await reset(session, strongPassword()), 400, 'invalid_token');
      });
    });

    describe('tampering', () => {
      test('a confirm token with one character changed is invalid_token, and the real one still works', async () => {
        const { token } = await confirmToken();
        for (const at of [0, Math.floor(token.length / 2), token.length - 1]) assertProblem(await confirm(altered(token, at)), 400, 'invalid_token');
        assertProblem(await confirm(token.toUpperCase()), 400, 'invalid_token');
        assertProblem(await confirm(token.slice(0, -1)), 400, 'invalid_token');
        assertProblem(await confirm(`${token}A`), 400, 'invalid_token');
        assert.equal((await confirm(token)).status, 200);
      });

      test('a reset token with one character changed is invalid_token, and the real one still works', async () => {
        const account = await createAccount(server);
        const token = await requestReset(server, account.email);
        for (const at of [0, Math.floor(token.length / 2), token.length - 1]) assertProblem(await reset(altered(token, at), strongPassword()), 400, 'invalid_token');
        assertProblem(await reset(token.slice(0, -1), strongPassword()), 400, 'invalid_token');
        assertMessage(await reset(token, strongPassword()), 200);
      });

      test('an email-change token with one character changed is invalid_token', async () => {
        const { email, password, session } = await loggedIn();
        const token = await requestEmailChange(server, session, uniqueEmail('moved'), password);
        for (const at of [0, Math.floor(token.length / 2), token.length - 1]) assertProblem(await confirm(altered(token, at)), 400, 'invalid_token');
        assert.equal((await me(session)).json.user.email, email);
      });

      test('a token that is not a string is 422 naming token at /api/confirm and /api/reset-password', async () => {
        const { token } = await confirmToken();
        for (const bad of [[token], { token }, 42, null, false]) {
          assertValidation(await confirm(bad), ['token']);
          assertValidation(await reset(bad, strongPassword()), ['token']);
        }
        assert.equal((await confirm(token)).status, 200, 'the refused requests did not spend it');
      });
    });

    describe('concurrent redemption', () => {
      test('20 concurrent redemptions of one reset token: exactly one 200, the rest invalid_token', async () => {
        const account = await createAccount(server);
        const token = await requestReset(server, account.email);
        const passwords = Array.from({ length: 20 }, () => strongPassword());
        const responses = await Promise.all(passwords.map((password) => reset(token, password)));
        const won = responses.map((r, i) => [r, i] as const).filter(([r]) => r.status === 200);
        assert.equal(won.length, 1, `statuses: ${responses.map((r) => r.status).join(',')}`);
        for (const response of responses) if (response.status !== 200) assertProblem(response, 400, 'invalid_token');
        const winner = passwords[won[0]![1]]!;
        assert.equal(await logInStatus(account.email, winner), 201, "the winner's password is the one set");
      });

      test('20 concurrent redemptions of one confirm token: exactly one 200', async () => {
        const { token } = await confirmToken();
        const responses = await Promise.all(Array.from({ length: 20 }, () => confirm(token)));
        assert.equal(responses.filter((r) => r.status === 200).length, 1, `statuses: ${responses.map((r) => r.status).join(',')}`);
        for (const response of responses) if (response.status !== 200) assertProblem(response, 400, 'invalid_token');
      });

      test('20 concurrent redemptions of one email-change token: exactly one 200', async () => {
        const { password, session } = await loggedIn();
        const newEmail = uniqueEmail('race');
        const token = await requestEmailChange(server, session, newEmail, password);
        const responses = await Promise.all(Array.from({ length: 20 }, () => confirm(token)));
        assert.equal(responses.filter((r) => r.status === 200).length, 1, `statuses: ${responses.map((r) => r.status).join(',')}`);
        for (const response of responses) if (response.status !== 200) assertProblem(response, 400, 'invalid_token');
        assert.equal((await me(session)).json.user.email, newEmail);
      });
    });

    describe('links opened with GET', () => {
      test('opening a confirm, reset or email-change link with GET spends none of them', async () => {
        const email = uniqueEmail('scanned');
        const password = strongPassword();
        const confirmLink = linkTo(await signUp(server, { email, password }), '/confirm');
        // Separate accounts: a change of email voids reset links and a reset voids change links.
        const forgetful = await createAccount(server);
        const resetBefore = server.smtp.to(forgetful.email).length;
        assertMessage(await server.request('POST', '/api/reset-password-request', { body: { email: forgetful.email } }), 202);
        const resetLink = linkTo(await server.smtp.waitForMailTo(forgetful.email, resetBefore), '/reset-password');
        const mover = await loggedIn();
        const newEmail = uniqueEmail('scanned-move');
        assertMessage(await server.request('POST', '/api/update-email', { token: mover.session, body: { new_email: newEmail, password: mover.password } }), 202);
        const changeLink = linkTo(await server.smtp.waitForMailTo(newEmail), '/confirm-email');
        // What a mail scanner does: follow each link, twice.
        // API.md: a live link opened with GET is a page with a form that posts its token back, every time.
        for (const link of [confirmLink, resetLink, changeLink, confirmLink, resetLink, changeLink]) {
          const url = new URL(link);
          const response = await server.request('GET', url.pathname + url.search);
          assert.equal(response.status, 200, `GET ${url.pathname}: ${response.status} ${response.text.slice(0, 300)}`);
          assert.match(response.headers.get('content-type') ?? '', /^text\/html\b/);
          const form = [...response.text.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/g)].map((m) => m[0]).find((f) => /\bmethod="post"/i.test(f) && f.includes(`action="${url.pathname}"`));
          assert.ok(form !== undefined, `GET ${url.pathname}: no form posting to ${url.pathname}`);
          assert.ok(form.includes(`name="token" value="${tokenFromLink(link)}"`), `GET ${url.pathname}: the form does not carry the link's token`);
        }
        assert.equal((await confirm(tokenFromLink(confirmLink))).status, 200);
        assert.equal((await confirm(tokenFromLink(changeLink))).status, 200);
        assertMessage(await reset(tokenFromLink(resetLink), strongPassword()), 200);
      });
    });

    describe('voided by a change', () => {
      test('after a reset, no other reset link of the user works, even from concurrent requests', async () => {
        const account = await createAccount(server);
        const before = server.smtp.to(account.email).length;
        const answers = await Promise.all(Array.from({ length: 3 }, () => server.request('POST', '/api/reset-password-request', { body: { email: account.email } })));
        for (const answer of answers) assert.equal(answer.status, 202);
        await server.smtp.waitFor(() => server.smtp.to(account.email).length >= before + 3);
        const tokens = server.smtp.to(account.email).slice(before).map((mail) => tokenFromLink(linkTo(mail, '/reset-password')));
        // Tried one after another: whichever works first, none works after it.
        const statuses = [];
        for (const token of tokens) statuses.push((await reset(token, strongPassword())).status);
        assert.equal(statuses.filter((status) => status === 200).length, 1, `statuses: ${statuses.join(',')}`);
        assert.ok(statuses.every((status) => status === 200 || status === 400), `statuses: ${statuses.join(',')}`);
      });

      test('changing the password while logged in voids the outstanding reset and email-change tokens', async () => {
        const { email, password, session } = await loggedIn();
        const resetToken = await requestReset(server, email);
        const changeToken = await requestEmailChange(server, session, uniqueEmail('moved'), password);
        assertMessage(await server.request('POST', '/api/update-password', { token: session, body: { current_password: password, new_password: strongPassword() } }), 200);
        assertProblem(await reset(resetToken, strongPassword()), 400, 'invalid_token');
        assertProblem(await confirm(changeToken), 400, 'invalid_token');
        assert.equal((await me(session)).json.user.email, email);
      });

      test('a password reset voids the outstanding email-change token', async () => {
        const { email, password, session } = await loggedIn();
        const changeToken = await requestEmailChange(server, session, uniqueEmail('moved'), password);
        const newPassword = strongPassword();
        assertMessage(await reset(await requestReset(server, email), newPassword), 200);
        assertProblem(await confirm(changeToken), 400, 'invalid_token');
        const again = await logIn(server, email, newPassword);
        assert.equal((await me(again)).json.user.email, email);
      });

      test('changing the email voids the outstanding reset token', async () => {
        const { email, password, session } = await loggedIn();
        const resetToken = await requestReset(server, email);
        assert.equal((await confirm(await requestEmailChange(server, session, uniqueEmail('moved'), password))).status, 200);
        assertProblem(await reset(resetToken, strongPassword()), 400, 'invalid_token');
        assert.equal((await me(session)).status, 200);
      });

      test('an email-change link to an address taken since it was sent is refused and moves nobody', async () => {
        const { email, password, session } = await loggedIn();
        const contested = uniqueEmail('contested');
        const token = await requestEmailChange(server, session, contested, password);
        const squatter = await createAccount(server, { email: contested });
        assertProblem(await confirm(token), 400, 'invalid_token');
        assert.equal((await me(session)).json.user.email, email);
        assert.equal(await logInStatus(contested, squatter.password), 201);
      });
    });
  });

  describe(`token expiry on ${kind}`, { skip }, () => {
    let server: TestServer;
    const expired: { confirm?: { email: string; password: string; token: string }; reset?: { email: string; password: string; token: string }; change?: { session: string; email: string; token: string } } = {};

    before(async () => {
      server = await startServer(kind, { RESET_TOKEN_TTL: '1', CONFIRM_TOKEN_TTL: '1' });
      // Every token is asked for first, then one wait, until the last of them
      // is past the expiry its row records, lets them all expire together.
      // The accounts behind them are confirmed within the same short TTL: a
      // confirmation answered too late for its link is tried again.
      await conclusively('every token mailed before it expired', async () => {
        const email = uniqueEmail('late');
        const password = strongPassword();
        const signUpMail = await mailInTime(server, email, () => server.request('POST', '/api/users', { body: { email, password } }));
        if (signUpMail === undefined) return false;
        expired.confirm = { email, password, token: tokenFromLink(linkTo(signUpMail, '/confirm')) };
        const account = await createAccountInTime(server);
        const resetMail = await mailInTime(server, account.email, () => server.request('POST', '/api/reset-password-request', { body: { email: account.email } }));
        if (resetMail === undefined) return false;
        expired.reset = { ...account, token: tokenFromLink(linkTo(resetMail, '/reset-password')) };
        const mover = await createAccountInTime(server);
        const session = await logIn(server, mover.email, mover.password);
        const newEmail = uniqueEmail('late-move');
        const changeMail = await mailInTime(server, newEmail, () => server.request('POST', '/api/update-email', { token: session, body: { new_email: newEmail, password: mover.password } }));
        if (changeMail === undefined) return false;
        expired.change = { session, email: mover.email, token: tokenFromLink(linkTo(changeMail, '/confirm-email')) };
        return true;
      });
      const expiries = await Promise.all([expired.confirm!.token, expired.reset!.token, expired.change!.token].map((token) => tokenExpiry(server, token)));
      await waitPast(Math.max(...expiries));
    });

    after(() => server?.stop());

    test('a confirm token past CONFIRM_TOKEN_TTL is 400 invalid_token', async () => {
      const { email, password, token } = expired.confirm!;
      assertProblem(await server.request('POST', '/api/confirm', { body: { token } }), 400, 'invalid_token');
      assert.equal((await server.request('POST', '/api/sessions', { body: { email, password } })).status, 403);
    });

    test('a reset token past RESET_TOKEN_TTL is 400 invalid_token and leaves the password', async () => {
      const { email, password, token } = expired.reset!;
      assertProblem(await server.request('POST', '/api/reset-password', { body: { token, password: strongPassword() } }), 400, 'invalid_token');
      assert.equal((await server.request('POST', '/api/sessions', { body: { email, password } })).status, 201);
    });

    test('an email-change token past its TTL is 400 invalid_token and leaves the address', async () => {
      const { session, email, token } = expired.change!;
      assertProblem(await server.request('POST', '/api/confirm', { body: { token } }), 400, 'invalid_token');
      assert.equal((await server.request('GET', '/api/me', { token: session })).json.user.email, email);
    });

    test('a fresh token works within its short TTL', async () => {
      // Redeemed before the expiry its row records, it must work; a reset
      // answered after that expiry proves nothing and is tried again.
      await conclusively('a reset before its token expires', async () => {
        const account = await createAccountInTime(server);
        const resetMail = await mailInTime(server, account.email, () => server.request('POST', '/api/reset-password-request', { body: { email: account.email } }));
        if (resetMail === undefined) return false;
        const token = tokenFromLink(linkTo(resetMail, '/reset-password'));
        const { answer, inTime } = await answeredBefore(await tokenExpiry(server, token), () => server.request('POST', '/api/reset-password', { body: { token, password: strongPassword() } }));
        if (!inTime && answer.status !== 200) return false;
        assertMessage(answer, 200);
        return true;
      });
    });
  });
});
