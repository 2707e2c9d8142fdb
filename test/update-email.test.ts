// API.md, POST /api/update-email, and POST /api/confirm with an email-change token.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { carriesToken, createAccount, linkTo, logIn, requestEmailChange, signUp, strongPassword, uniqueEmail } from './support/accounts.ts';
import { assertLinkMail, assertMessage, assertProblem, assertSentTo, assertUser, assertValidation, assertWellFormedMail } from './support/assertions.ts';
import { eachDatabase } from './support/databases.ts';
import { startServer, testBaseUrl, type TestServer } from './support/latchkey.ts';
import { assertNoNewMail, mailBarrier, mailCounts } from './support/mail-barrier.ts';
import { tokenFromLink } from './support/smtp-sink.ts';

eachDatabase((kind, skip) => {
  describe(`POST /api/update-email on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind);
    });

    after(() => server?.stop());

    const change = (session: string | undefined, body: unknown) =>
      server.request('POST', '/api/update-email', session === undefined ? { body } : { body, token: session });
    const confirm = (token: string) => server.request('POST', '/api/confirm', { body: { token } });
    const me = (token: string) => server.request('GET', '/api/me', { token });
    const logInStatus = async (email: string, password: string) =>
      (await server.request('POST', '/api/sessions', { body: { email, password } })).status;

    async function loggedIn() {
      const account = await createAccount(server);
      return { ...account, session: await logIn(server, account.email, account.password) };
    }

    test('it answers 202 {message} and mails a confirmation link to the new address', async () => {
      const { password, session } = await loggedIn();
      const newEmail = uniqueEmail('new');
      assertMessage(await change(session, { new_email: newEmail, password }), 202);
      const mail = await server.smtp.waitForMailTo(newEmail);
      assertWellFormedMail(mail, { appName: 'Latchkey' });
      assertSentTo(mail, newEmail);
      const link = linkTo(mail, '/confirm-email');
      assert.match(link, new RegExp(`^${testBaseUrl.replaceAll('.', '\\.')}/confirm-email\\?token=[A-Za-z0-9_-]{43,}$`));
      assertLinkMail(mail, link);
    });

    test('the old address gets a notice without a link that could confirm the change', async () => {
      const { email, password, session } = await loggedIn();
      const newEmail = uniqueEmail('new');
      const before = server.smtp.to(email).length;
      assertMessage(await change(session, { new_email: newEmail, password }), 202);
      const notice = await server.smtp.waitForMailTo(email, before);
      assertWellFormedMail(notice, { appName: 'Latchkey' });
      assertSentTo(notice, email);
      assert.equal(carriesToken(notice), false);
    });

    test('the address changes only when the link is used with POST /api/confirm', async () => {
      const { email, password, session } = await loggedIn();
      const newEmail = uniqueEmail('New');
      const token = await requestEmailChange(server, session, newEmail, password);
      assert.equal((await me(session)).json.user.email, email, 'unchanged before the link is used');
      assert.equal(await logInStatus(email, password), 201);
      assert.equal(await logInStatus(newEmail, password), 401);
      const confirmed = await confirm(token);
      assert.equal(confirmed.status, 200, confirmed.text);
      assertUser(confirmed.json.user, { email: newEmail, confirmed: true });
      assert.equal((await me(session)).json.user.email, newEmail);
    });

    test('after the change the new address logs in and the old one does not', async () => {
      const { email, password, session } = await loggedIn();
      const newEmail = uniqueEmail('moved');
      assert.equal((await confirm(await requestEmailChange(server, session, newEmail, password))).status, 200);
      assert.equal(await logInStatus(newEmail, password), 201);
      assert.equal(await logInStatus(newEmail.toUpperCase(), password), 201);
      assert.equal(await logInStatus(email, password), 401);
    });

    test('sessions survive the change', async () => {
      const { email, password, session } = await loggedIn();
      const other = await logIn(server, email, password);
      const newEmail = uniqueEmail('moved');
      assert.equal((await confirm(await requestEmailChange(server, session, newEmail, password))).status, 200);
      for (const token of [session, other]) {
        const answer = await me(token);
        assert.equal(answer.status, 200, answer.text);
        assert.equal(answer.json.user.email, newEmail);
      }
    });

    test('the new address is stored as typed (trimmed) and used for later mail', async () => {
      const { password, session } = await loggedIn();
      const local = uniqueEmail('Typed').split('@')[0]!;
      const typed = `  ${local}@Example.com `;
      const stored = `${local}@Example.com`;
      assertMessage(await change(session, { new_email: typed, password }), 202);
      const mail = await server.smtp.waitForMailTo(stored);
      assertSentTo(mail, stored);
      assert.equal((await confirm(tokenFromLink(linkTo(mail, '/confirm-email')))).status, 200);
      assert.equal((await me(session)).json.user.email, stored);
      const before = server.smtp.to(stored).length;
      assertMessage(await server.request('POST', '/api/reset-password-request', { body: { email: stored.toLowerCase() } }), 202);
      assertSentTo(await server.smtp.waitForMailTo(stored, before), stored);
    });

    test('the old address is free for a new account after the change', async () => {
      const { email, password, session } = await loggedIn();
      assert.equal((await confirm(await requestEmailChange(server, session, uniqueEmail('moved'), password))).status, 200);
      // The old address's notice of the change may still be on its way: let it land first.
      await mailBarrier(server);
      const mail = await signUp(server, { email, password: strongPassword() });
      linkTo(mail, '/confirm');
    });

    test('a taken address gets the same 202, and its holder an "already has an account" mail with no link', async () => {
      const holder = await createAccount(server);
      const { email, password, session } = await loggedIn();
      const free = await change(session, { new_email: uniqueEmail('free'), password });
      const before = server.smtp.to(holder.email).length;
      const taken = await change(session, { new_email: holder.email.toUpperCase(), password });
      assert.equal(taken.status, 202);
      assert.equal(taken.text, free.text);
      const mail = await server.smtp.waitForMailTo(holder.email, before);
      assertWellFormedMail(mail, { appName: 'Latchkey' });
      assertSentTo(mail, holder.email);
      assert.equal(carriesToken(mail), false, 'no link that could move an account here');
      await assertNoNewMail(server, [holder.email], [before + 1]);
      assert.equal((await me(session)).json.user.email, email);
      assert.equal(await logInStatus(holder.email, holder.password), 201, "the holder's account is untouched");
    });

    test('a wrong password is 401 invalid_credentials and mails nobody', async () => {
      const { email, session } = await loggedIn();
      const newEmail = uniqueEmail('never');
      const counts = mailCounts(server, [email, newEmail]);
      assertProblem(await change(session, { new_email: newEmail, password: strongPassword() }), 401, 'invalid_credentials');
      await assertNoNewMail(server, [email, newEmail], counts);
      assert.equal((await me(session)).json.user.email, email);
    });

    test('without a session it is 401 unauthenticated and mails nobody', async () => {
      const account = await createAccount(server);
      const newEmail = uniqueEmail('never');
      assertProblem(await change(undefined, { new_email: newEmail, password: account.password }), 401, 'unauthenticated');
      assertProblem(await change('not-a-session', { new_email: newEmail, password: account.password }), 401, 'unauthenticated');
      await assertNoNewMail(server, [newEmail]);
    });

    test('a malformed new_email is 422 naming new_email, a missing password 422 naming password', async () => {
      const { password, session } = await loggedIn();
      for (const new_email of ['not-an-address', 'jürgen@example.com', '']) {
        assertValidation(await change(session, { new_email, password }), ['new_email']);
      }
      assertValidation(await change(session, { new_email: uniqueEmail() }), ['password']);
    });

    test('using one change link voids the other outstanding one', async () => {
      const { password, session } = await loggedIn();
      const first = uniqueEmail('first');
      const second = uniqueEmail('second');
      const older = await requestEmailChange(server, session, first, password);
      const newer = await requestEmailChange(server, session, second, password);
      assert.equal((await confirm(newer)).status, 200);
      assertProblem(await confirm(older), 400, 'invalid_token');
      assert.equal((await me(session)).json.user.email, second);
    });
  });
});
