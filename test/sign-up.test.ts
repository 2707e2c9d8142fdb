// API.md, POST /api/users: the same 202 for new and known addresses, the
// confirmation mail, canonical addresses, client link targets and the
// password rules.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { carriesToken, createAccount, linkStartingWith, linkTo, logIn, signUp, strongPassword, uniqueEmail } from './support/accounts.ts';
import { assertLinkMail, assertMessage, assertProblem, assertSentTo, assertUser, assertValidation, assertWellFormedMail, headerBlock } from './support/assertions.ts';
import { eachDatabase } from './support/databases.ts';
import { startServer, testBaseUrl, type TestServer } from './support/latchkey.ts';
import { assertNoNewMail, mailCounts } from './support/mail-barrier.ts';
import { tokenFromLink } from './support/smtp-sink.ts';

const appName = 'Pinecone';
const sender = { address: 'accounts@pinecone.test', name: 'Pinecone Accounts' };
const appOrigin = 'https://app.example.test';
const expectedMail = { appName, fromAddress: sender.address, fromName: sender.name };

eachDatabase((kind, skip) => {
  describe(`POST /api/users on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind, {
        APP_NAME: appName,
        MAIL_SENDER: `"${sender.name}" <${sender.address}>`,
        ALLOWED_ORIGINS: appOrigin,
      });
    });

    after(() => server?.stop());

    const register = (body: unknown) => server.request('POST', '/api/users', { body });
    const confirm = (token: string) => server.request('POST', '/api/confirm', { body: { token } });
    const logInStatus = async (email: string, password: string) =>
      (await server.request('POST', '/api/sessions', { body: { email, password } })).status;

    test('a new address gets 202 {message} and an unconfirmed account', async () => {
      const email = uniqueEmail('new');
      const password = strongPassword();
      assertMessage(await register({ email, password }), 202);
      await server.smtp.waitForMailTo(email);
      assertProblem(await server.request('POST', '/api/sessions', { body: { email, password } }), 403, 'email_not_confirmed');
    });

    test('fields the contract does not take, like confirmed or id, do not confirm the account', async () => {
      const email = uniqueEmail('mass');
      const password = strongPassword();
      const response = await register({ email, password, confirmed: true, confirmed_at: 1, id: 'chosen-id' });
      if (response.status === 202) {
        await server.smtp.waitForMailTo(email);
        assertProblem(await server.request('POST', '/api/sessions', { body: { email, password } }), 403, 'email_not_confirmed');
      } else {
        assertProblem(response, 422, 'validation_failed');
      }
    });

    test('the confirmation mail is multipart text and HTML from MAIL_SENDER, with Subject prefixed by APP_NAME, a Message-ID and a Date', async () => {
      const email = uniqueEmail('mail');
      const mail = await signUp(server, { email, password: strongPassword() });
      assertWellFormedMail(mail, expectedMail);
      assertSentTo(mail, email);
    });

    test('the confirmation mail carries BASE_URL/confirm?token=… in both parts, says when it expires and what to do if unasked', async () => {
      const mail = await signUp(server, { email: uniqueEmail('link'), password: strongPassword() });
      const link = linkTo(mail, '/confirm');
      assert.match(link, new RegExp(`^${testBaseUrl.replaceAll('.', '\\.')}/confirm\\?token=[A-Za-z0-9_-]{43,}$`));
      assertLinkMail(mail, link);
    });

    test('the mailed confirmation token confirms the new account', async () => {
      const email = uniqueEmail('confirm');
      const password = strongPassword();
      const mail = await signUp(server, { email, password, name: 'Conny' });
      const response = await confirm(tokenFromLink(linkTo(mail, '/confirm')));
      assert.equal(response.status, 200, response.text);
      assertUser(response.json.user, { email, name: 'Conny', confirmed: true });
      assert.equal(await logInStatus(email, password), 201);
    });

    test('a known confirmed address gets the byte-identical 202 and an "account already exists" mail, and its password still works', async () => {
      const owner = await createAccount(server);
      const fresh = await register({ email: uniqueEmail('other'), password: strongPassword() });
      const before = server.smtp.to(owner.email).length;
      const again = await register({ email: owner.email, password: strongPassword() });
      assert.equal(again.status, fresh.status);
      assert.equal(again.text, fresh.text);
      const mail = await server.smtp.waitForMailTo(owner.email, before);
      assertWellFormedMail(mail, expectedMail);
      assert.equal(carriesToken(mail), false, 'the "account exists" mail confirms nothing');
      assert.ok(mail.links.some((link) => link.startsWith(testBaseUrl) && /password/.test(link)), `a link to reset the password: ${JSON.stringify(mail.links)}`);
      assert.equal(await logInStatus(owner.email, owner.password), 201);
    });

    test('signing up a known address does not change its password', async () => {
      const owner = await createAccount(server);
      const otherPassword = strongPassword();
      const before = server.smtp.to(owner.email).length;
      assertMessage(await register({ email: owner.email, password: otherPassword, name: 'Intruder' }), 202);
      await server.smtp.waitForMailTo(owner.email, before);
      assertProblem(await server.request('POST', '/api/sessions', { body: { email: owner.email, password: otherPassword } }), 401, 'invalid_credentials');
      const session = await logIn(server, owner.email, owner.password);
      const me = await server.request('GET', '/api/me', { token: session });
      assert.equal(me.json.user.name, null, 'the name given by the second sign-up is not applied');
    });

    test('a known unconfirmed address gets the same 202 and an "account already exists" mail, and stays as it was', async () => {
      const email = uniqueEmail('pending');
      const password = strongPassword();
      const first = await signUp(server, { email, password });
      const before = server.smtp.to(email).length;
      const otherPassword = strongPassword();
      assertMessage(await register({ email, password: otherPassword }), 202);
      const mail = await server.smtp.waitForMailTo(email, before);
      assert.equal(carriesToken(mail), false, 'no new confirmation link');
      assert.ok(mail.links.some((link) => /password/.test(link)), `a link to reset the password: ${JSON.stringify(mail.links)}`);
      assertWellFormedMail(mail, expectedMail);
      // Still unconfirmed, still the first password, and the first link still confirms it.
      assert.equal(await logInStatus(email, otherPassword), 401);
      assert.equal(await logInStatus(email, password), 403);
      assert.equal((await confirm(tokenFromLink(linkTo(first, '/confirm')))).status, 200);
      assert.equal(await logInStatus(email, password), 201);
    });

    test('the "account already exists" mail greets the owner by the account\'s name, not the name typed', async () => {
      const owner = await createAccount(server, { name: 'Olivia Owner' });
      const before = server.smtp.to(owner.email).length;
      assertMessage(await register({ email: owner.email, password: strongPassword(), name: 'Ivan Intruder' }), 202);
      const mail = await server.smtp.waitForMailTo(owner.email, before);
      assert.match(mail.text, /Olivia Owner/);
      assert.doesNotMatch(mail.text + mail.html + headerBlock(mail), /Ivan Intruder/);
    });

    test('the mail greets the account by its name in both parts', async () => {
      const mail = await signUp(server, { email: uniqueEmail('named'), password: strongPassword(), name: 'Annabel Quist' });
      assert.match(mail.text, /Annabel Quist/);
      assert.match(mail.html, /Annabel Quist/);
    });

    test('a name like <b>Eve</b> is HTML-escaped in the HTML part', async () => {
      const mail = await signUp(server, { email: uniqueEmail('eve'), password: strongPassword(), name: '<b>Eve</b> & "Co"' });
      assert.equal(mail.html.includes('<b>Eve</b>'), false, 'the name is not markup');
      assert.match(mail.html, /&lt;b&gt;Eve&lt;\/b&gt; &amp;/);
      assert.ok(mail.text.includes('<b>Eve</b> & "Co"'), 'the text part shows the name as typed');
    });

    test('a name never reaches a mail header', async () => {
      const email = uniqueEmail('header');
      const mail = await signUp(server, { email, password: strongPassword(), name: 'Zebulon Headerproof' });
      assert.doesNotMatch(headerBlock(mail), /Zebulon|Headerproof/);
      const injected = await register({ email: uniqueEmail('inject'), password: strongPassword(), name: 'Eve\r\nBcc: victim@example.com' });
      if (injected.status === 202) {
        await assertNoNewMail(server, ['victim@example.com']);
      } else {
        assertValidation(injected, ['name']);
      }
    });

    test('"  Alice@EXAMPLE.com " and "alice@example.com" are one account, kept as first typed (trimmed)', async () => {
      const local = uniqueEmail('Alice').split('@')[0]!;
      const typed = `  ${local}@EXAMPLE.com `;
      const stored = `${local}@EXAMPLE.com`;
      const password = strongPassword();
      const mail = await signUp(server, { email: typed, password });
      assertSentTo(mail, stored);
      const lower = `${local.toLowerCase()}@example.com`;
      const before = server.smtp.to(stored).length;
      assertMessage(await register({ email: lower, password: strongPassword() }), 202);
      const exists = await server.smtp.waitForMailTo(stored, before);
      assert.equal(carriesToken(exists), false, 'the second sign-up found the first account');
      assertSentTo(exists, stored);
      assert.equal((await confirm(tokenFromLink(linkTo(mail, '/confirm')))).status, 200);
      const session = await logIn(server, lower, password);
      const me = await server.request('GET', '/api/me', { token: session });
      assertUser(me.json.user, { email: stored, confirmed: true });
    });

    test('the local part is lower-cased in ASCII: BOB@example.com and bob@example.com are one account', async () => {
      const local = uniqueEmail('BOB').split('@')[0]!.toUpperCase();
      const password = strongPassword();
      await signUp(server, { email: `${local}@example.com`, password });
      assert.equal(await logInStatus(`${local.toLowerCase()}@example.com`, password), 403, 'the right password on the unconfirmed account');
      assert.equal(await logInStatus(`${local.toLowerCase()}@EXAMPLE.COM`, password), 403);
    });

    test('the domain is lower-cased through IDNA: bücher.example and xn--bcher-kva.example are one account', async () => {
      const local = uniqueEmail('idn').split('@')[0]!;
      const password = strongPassword();
      assertMessage(await register({ email: `${local}@Bücher.example`, password }), 202);
      assert.equal(await logInStatus(`${local}@xn--bcher-kva.example`, password), 403);
      assert.equal(await logInStatus(`${local}@BÜCHER.example`, password), 403);
    });

    test('a non-ASCII local part is 422 naming email, and nobody is mailed', async () => {
      for (const email of [`jürgen-${Date.now()}@example.com`, `ıvan-${Date.now()}@example.com`, `ǅemal-${Date.now()}@example.com`]) {
        const before = mailCounts(server, [email]);
        assertValidation(await register({ email, password: strongPassword() }), ['email']);
        await assertNoNewMail(server, [email], before);
      }
    });

    test('a malformed address is 422 naming email', async () => {
      for (const email of ['', '   ', 'not-an-address', '@example.com', 'someone@', 'a@b@example.com', 'some one@example.com']) {
        assertValidation(await register({ email, password: strongPassword() }), ['email']);
      }
    });

    test('a confirm_url on an allowed origin receives the token as ?token=', async () => {
      const mail = await signUp(server, { email: uniqueEmail('spa'), password: strongPassword(), confirm_url: `${appOrigin}/welcome/confirm` });
      const link = linkStartingWith(mail, `${appOrigin}/welcome/confirm?token=`);
      assertLinkMail(mail, link);
      assert.equal((await confirm(tokenFromLink(link))).status, 200);
    });

    test('a confirm_url keeps its own query and adds token', async () => {
      const mail = await signUp(server, { email: uniqueEmail('spa'), password: strongPassword(), confirm_url: `${appOrigin}/confirm?lang=de` });
      const link = linkStartingWith(mail, `${appOrigin}/confirm?`);
      const url = new URL(link);
      assert.equal(url.searchParams.get('lang'), 'de');
      assert.equal((await confirm(url.searchParams.get('token')!)).status, 200);
    });

    test('a confirm_url with {token} receives the token in its place', async () => {
      const mail = await signUp(server, { email: uniqueEmail('spa'), password: strongPassword(), confirm_url: `${appOrigin}/confirm/{token}/now` });
      const link = linkStartingWith(mail, `${appOrigin}/confirm/`);
      const match = /^https:\/\/app\.example\.test\/confirm\/([A-Za-z0-9_-]+)\/now$/.exec(link);
      assert.ok(match, `token in place of {token}: ${link}`);
      assertLinkMail(mail, link);
      assert.equal((await confirm(match[1]!)).status, 200);
    });

    test('a confirm_url on the BASE_URL origin is allowed', async () => {
      const mail = await signUp(server, { email: uniqueEmail('base'), password: strongPassword(), confirm_url: `${testBaseUrl}/custom-confirm` });
      const link = linkStartingWith(mail, `${testBaseUrl}/custom-confirm?token=`);
      assert.equal((await confirm(tokenFromLink(link))).status, 200);
    });

    test('a confirm_url on any other origin is 422 naming confirm_url, with no account and no mail', async () => {
      const foreign = [
        'https://evil.example/confirm',
        'https://app.example.test.evil.example/confirm',
        'http://app.example.test/confirm',
        'https://app.example.test:444/confirm',
        'https://app.example.test@evil.example/confirm',
        'javascript:alert(1)//https://app.example.test/',
        'https://evil.example/{token}',
        'https://app.example.test{token}/confirm',
        '/confirm',
        'not a url',
      ];
      for (const confirm_url of foreign) {
        const email = uniqueEmail('foreign');
        const password = strongPassword();
        assertValidation(await register({ email, password, confirm_url }), ['confirm_url']);
        await assertNoNewMail(server, [email]);
        assert.equal(await logInStatus(email, password), 401, `no account for ${confirm_url}`);
      }
    });

    test('a password shorter than 8 code points is 422 naming password', async () => {
      // Four emoji are eight UTF-16 units but four code points.
      for (const password of ['', 'k3#Qv9!', '😀🦊🌲🚀']) {
        assertValidation(await register({ email: uniqueEmail('short'), password }), ['password']);
      }
    });

    test('a password of exactly 8 code points is accepted', async () => {
      assertMessage(await register({ email: uniqueEmail('eight'), password: 'k3#Qv9!z' }), 202);
    });

    test('a password over 128 code points is 422, and 128 code points (even astral ones) are accepted', async () => {
      const email = uniqueEmail('long');
      assertValidation(await register({ email, password: 'aB3$'.repeat(32) + 'x' }), ['password']);
      assertValidation(await register({ email, password: '🌲🦊'.repeat(64) + '🚀' }), ['password']);
      assertMessage(await register({ email, password: '🌲🦊🚀x'.repeat(32) }), 202);
      assertMessage(await register({ email: uniqueEmail('long'), password: 'aB3$'.repeat(32) }), 202);
    });

    test('password length is counted in code points after NFKC normalisation', async () => {
      // U+FB03 (ﬃ) is one code point that NFKC turns into three: 7 typed, 9 counted.
      assertMessage(await register({ email: uniqueEmail('nfkc'), password: 'k3#Q\uFB03!z' }), 202);
      // e + U+0301 compose into one é: 8 typed, 7 counted.
      assertValidation(await register({ email: uniqueEmail('nfkc'), password: 'k3#Qe\u0301!z' }), ['password']);
      // 129 typed, 128 counted after composition.
      assertMessage(await register({ email: uniqueEmail('nfkc'), password: 'aB3$'.repeat(31) + 'xyze\u0301' }), 202);
    });

    test('a common password is 422 naming password, in any letter case', async () => {
      for (const password of ['password123', 'qwertyuiop', 'iloveyou1', 'QwertyUiop', 'PASSWORD123']) {
        assertValidation(await register({ email: uniqueEmail('common'), password }), ['password']);
      }
    });

    test('a password containing the app name is 422 naming password', async () => {
      for (const password of ['my-pinecone-password', 'XX-PINECONE-2031!', 'Pinecone#98765']) {
        assertValidation(await register({ email: uniqueEmail('appname'), password }), ['password']);
      }
    });

    test('a password equal to the email is 422 naming password', async () => {
      const email = uniqueEmail('same');
      assertValidation(await register({ email, password: email }), ['password']);
      assertValidation(await register({ email: email.toUpperCase(), password: email }), ['password']);
    });

    test('a refused password creates no account and sends no mail', async () => {
      const email = uniqueEmail('refused');
      for (const password of ['short', 'password123', 'pinecone-forever', email]) {
        assertValidation(await register({ email, password }), ['password']);
      }
      await assertNoNewMail(server, [email]);
      // The address is still free: a valid sign-up now gets a confirmation link, not "account exists".
      const mail = await signUp(server, { email, password: strongPassword() });
      linkTo(mail, '/confirm');
    });

    test('concurrent sign-ups of one new address make one account and one confirmation link', async () => {
      const email = uniqueEmail('race');
      const password = strongPassword();
      const responses = await Promise.all(Array.from({ length: 5 }, () => register({ email, password })));
      for (const response of responses) assert.equal(response.status, 202, response.text);
      await server.smtp.waitFor(() => server.smtp.to(email).length >= 5);
      await assertNoNewMail(server, [email], [5]);
      const withLink = server.smtp.to(email).filter(carriesToken);
      assert.equal(withLink.length, 1, 'one confirmation mail, the rest "account exists"');
    });
  });

  describe(`PASSWORD_MIN_LENGTH on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind, { PASSWORD_MIN_LENGTH: '15' });
    });

    after(() => server?.stop());

    test('a password one code point under PASSWORD_MIN_LENGTH is 422 naming password', async () => {
      assertValidation(await server.request('POST', '/api/users', { body: { email: uniqueEmail('min'), password: 'k3#Qv9!zW7&pL2m'.slice(0, 14) } }), ['password']);
    });

    test('a password of exactly PASSWORD_MIN_LENGTH code points is accepted', async () => {
      assertMessage(await server.request('POST', '/api/users', { body: { email: uniqueEmail('min'), password: 'k3#Qv9!zW7&pL2m' } }), 202);
    });
  });
});
