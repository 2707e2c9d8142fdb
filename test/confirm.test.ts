// API.md, POST /api/confirm and POST /api/resend-confirm.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, linkStartingWith, linkTo, logIn, signUp, strongPassword, uniqueEmail } from './support/accounts.ts';
import { assertLinkMail, assertMessage, assertProblem, assertSentTo, assertUser, assertValidation, assertWellFormedMail } from './support/assertions.ts';
import { eachDatabase } from './support/databases.ts';
import { startServer, testBaseUrl, type TestServer } from './support/latchkey.ts';
import { assertNoNewMail, mailCounts } from './support/mail-barrier.ts';
import { tokenFromLink } from './support/smtp-sink.ts';

const appOrigin = 'https://app.example.test';

eachDatabase((kind, skip) => {
  describe(`confirmation on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind, { ALLOWED_ORIGINS: appOrigin });
    });

    after(() => server?.stop());

    const confirm = (token: unknown) => server.request('POST', '/api/confirm', { body: { token } });
    const resend = (body: unknown) => server.request('POST', '/api/resend-confirm', { body });

    describe('POST /api/confirm', () => {
      test('the mailed token answers 200 {message, user} with the user confirmed', async () => {
        const email = uniqueEmail('confirm');
        const mail = await signUp(server, { email, password: strongPassword(), name: 'Carla' });
        const response = await confirm(tokenFromLink(linkTo(mail, '/confirm')));
        assert.equal(response.status, 200, response.text);
        assert.deepEqual(Object.keys(response.json).sort(), ['message', 'user']);
        assert.equal(typeof response.json.message, 'string');
        assertUser(response.json.user, { email, name: 'Carla', confirmed: true });
      });

      test('after confirming, the account logs in and /api/me shows the same user', async () => {
        const email = uniqueEmail('confirm');
        const password = strongPassword();
        const mail = await signUp(server, { email, password });
        assertProblem(await server.request('POST', '/api/sessions', { body: { email, password } }), 403, 'email_not_confirmed');
        const confirmed = await confirm(tokenFromLink(linkTo(mail, '/confirm')));
        assert.equal(confirmed.status, 200, confirmed.text);
        const session = await logIn(server, email, password);
        const me = await server.request('GET', '/api/me', { token: session });
        assert.equal(me.status, 200);
        assert.deepEqual(me.json.user, confirmed.json.user);
      });

      test('the token is spent: using it again is 400 invalid_token', async () => {
        const mail = await signUp(server, { email: uniqueEmail('spent'), password: strongPassword() });
        const token = tokenFromLink(linkTo(mail, '/confirm'));
        assert.equal((await confirm(token)).status, 200);
        assertProblem(await confirm(token), 400, 'invalid_token');
      });

      test('an unknown, empty, huge or odd token is 400 invalid_token', async () => {
        for (const token of ['', ' ', 'no-such-token', 'A'.repeat(43), 'x'.repeat(20_000), '../../etc/passwd', "' or 1=1 --", '🔑'.repeat(20), 'tok\u0000en']) {
          assertProblem(await confirm(token), 400, 'invalid_token');
        }
      });

      test('a token that is not a string is 422 naming token', async () => {
        for (const token of [123, ['a', 'b'], { token: 'x' }, null, true]) {
          assertValidation(await confirm(token), ['token']);
        }
        assertValidation(await server.request('POST', '/api/confirm', { body: {} }), ['token']);
      });
    });

    describe('POST /api/resend-confirm', () => {
      test('an unconfirmed account gets 202 {message} and a fresh link that confirms it', async () => {
        const email = uniqueEmail('resend');
        const password = strongPassword();
        await signUp(server, { email, password });
        const before = server.smtp.to(email).length;
        assertMessage(await resend({ email }), 202);
        const mail = await server.smtp.waitForMailTo(email, before);
        assertWellFormedMail(mail, { appName: 'Latchkey' });
        const link = linkTo(mail, '/confirm');
        assertLinkMail(mail, link);
        assert.equal((await confirm(tokenFromLink(link))).status, 200);
        assert.equal(typeof (await logIn(server, email, password)), 'string');
      });

      test('an unknown address gets the same 202 and no mail', async () => {
        const pending = uniqueEmail('pending');
        await signUp(server, { email: pending, password: strongPassword() });
        const known = await resend({ email: pending });
        const unknownEmail = uniqueEmail('nobody');
        const unknown = await resend({ email: unknownEmail });
        assert.equal(unknown.status, 202);
        assert.equal(unknown.text, known.text);
        await assertNoNewMail(server, [unknownEmail]);
      });

      test('a confirmed account gets the same 202 and no mail', async () => {
        const account = await createAccount(server);
        const counts = mailCounts(server, [account.email]);
        assertMessage(await resend({ email: account.email }), 202);
        await assertNoNewMail(server, [account.email], counts);
      });

      test('the link goes to the address stored on the account, not the string typed', async () => {
        const local = uniqueEmail('Stored').split('@')[0]!;
        const stored = `${local}@Example.com`;
        await signUp(server, { email: stored, password: strongPassword() });
        const before = server.smtp.to(stored).length;
        assertMessage(await resend({ email: `  ${local.toLowerCase()}@EXAMPLE.COM  ` }), 202);
        const mail = await server.smtp.waitForMailTo(stored, before);
        assertSentTo(mail, stored);
        linkTo(mail, '/confirm');
      });

      test('a confirm_url on an allowed origin receives the token, as ?token= or in place of {token}', async () => {
        const email = uniqueEmail('spa');
        await signUp(server, { email, password: strongPassword() });
        let before = server.smtp.to(email).length;
        assertMessage(await resend({ email, confirm_url: `${appOrigin}/confirm` }), 202);
        const queryLink = linkStartingWith(await server.smtp.waitForMailTo(email, before), `${appOrigin}/confirm?token=`);
        before = server.smtp.to(email).length;
        assertMessage(await resend({ email, confirm_url: `${appOrigin}/c/{token}` }), 202);
        const pathLink = linkStartingWith(await server.smtp.waitForMailTo(email, before), `${appOrigin}/c/`);
        assert.match(pathLink, /^https:\/\/app\.example\.test\/c\/[A-Za-z0-9_-]{43,}$/);
        assert.notEqual(tokenFromLink(pathLink), tokenFromLink(queryLink));
        assert.equal((await confirm(tokenFromLink(pathLink))).status, 200);
      });

      test('a confirm_url on another origin is 422 naming confirm_url and mails nothing', async () => {
        const email = uniqueEmail('foreign');
        await signUp(server, { email, password: strongPassword() });
        const counts = mailCounts(server, [email]);
        assertValidation(await resend({ email, confirm_url: 'https://evil.example/confirm' }), ['confirm_url']);
        assertValidation(await resend({ email, confirm_url: `${testBaseUrl}.evil.example/confirm` }), ['confirm_url']);
        await assertNoNewMail(server, [email], counts);
      });

      test('a malformed or missing email is 422 naming email', async () => {
        assertValidation(await resend({ email: 'not-an-address' }), ['email']);
        assertValidation(await resend({ email: 'jürgen@example.com' }), ['email']);
        assertValidation(await resend({}), ['email']);
      });
    });
  });
});
