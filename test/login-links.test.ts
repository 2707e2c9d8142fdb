// Signing in with nothing but a mailbox (issue 15, API.md "POST /api/login-links",
// the link and code shapes of POST /api/sessions, "Links and codes"): over HTTP
// against the real server, with the mail read from a real SMTP sink, on both
// databases. Each test is written as the attack it must stop.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { codeOf, createAccount, linkStartingWith, logIn, strongPassword, uniqueEmail, type Account } from './support/accounts.ts';
import { assertLinkMail, assertMessage, assertProblem, assertSentTo, assertUser, assertValidation, headersButDate } from './support/assertions.ts';
import { eachDatabase } from './support/databases.ts';
import { answeredBefore, conclusively, mailInTime, tokenExpiry, waitPast } from './support/expiry.ts';
import { startServer, testBaseUrl, type TestServer } from './support/latchkey.ts';
import { assertNoNewMail, mailCounts } from './support/mail-barrier.ts';
import { tokenFromLink, type ReceivedMail } from './support/smtp-sink.ts';

type LoginMail = { mail: ReceivedMail; link: string; token: string; code: string };

/** POST /api/login-links for `email`, expecting 202, and the link and code of the mail it sends. */
async function askLoginLink(server: TestServer, email: string): Promise<LoginMail> {
  const before = server.smtp.to(email).length;
  const response = await server.request('POST', '/api/login-links', { body: { email } });
  assertMessage(response, 202);
  const mail = await server.smtp.waitForMailTo(email, before);
  const link = linkStartingWith(mail, `${testBaseUrl}/login/link?token=`);
  return { mail, link, token: tokenFromLink(link), code: codeOf(mail) };
}

const sessionsPost = (server: TestServer, body: unknown) => server.request('POST', '/api/sessions', { body });

/** A session answer: 201 with a working bearer token for `email`. */
async function assertSignedIn(server: TestServer, response: Awaited<ReturnType<typeof sessionsPost>>, email: string): Promise<void> {
  assert.equal(response.status, 201, response.text);
  assertUser(response.json.user, { email, confirmed: true });
  const me = await server.request('GET', '/api/me', { token: response.json.token });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.user.email, email);
  // Like a password log-in's, the session records where it was started (GET /api/sessions).
  const current = (await server.request('GET', '/api/sessions', { token: response.json.token })).json.sessions.find((s: { current: boolean }) => s.current);
  assert.match(String(current?.ip), /127\.0\.0\.1/);
  assert.equal(typeof current?.user_agent, 'string');
}

/** A wrong code for `code`: another six digits. */
function wrongCode(code: string, offset = 1): string {
  return String((Number(code) + offset) % 1_000_000).padStart(6, '0');
}

eachDatabase((kind, skip) => {
  describe(`log-in links and codes on ${kind}`, { skip }, () => {
    let server: TestServer;
    let account: Account;

    before(async () => {
      server = await startServer(kind, { ALLOWED_ORIGINS: 'https://app.example.test' });
      account = await createAccount(server, { name: '<b>Zoë</b> & "co"' });
    });

    after(() => server?.stop());

    test('the mail: sent to the account, link and code in both parts, when they expire, the name HTML-escaped', async () => {
      const { mail, link, code } = await askLoginLink(server, account.email);
      assertSentTo(mail, account.email);
      assertLinkMail(mail, link);
      assert.match(mail.subject, /log-in link/i);
      assert.ok(mail.text.includes(code) && mail.html.includes(`>${code}<`), 'the code in both parts');
      assert.match(mail.text, /15 minutes/, 'LOGIN_LINK_TTL (900 s) stated');
      assert.match(mail.html, /15 minutes/);
      assert.ok(mail.html.includes('&lt;b&gt;Zoë&lt;/b&gt; &amp; &#34;co&#34;') || mail.html.includes('&lt;b&gt;Zoë&lt;/b&gt; &amp; &quot;co&quot;'), 'the name is escaped in HTML');
      assert.ok(!mail.html.includes('<b>Zoë</b>'), 'no markup from the name');
      assert.ok(mail.text.includes('<b>Zoë</b> & "co"'), 'the text part greets by the name as typed');
    });

    test('a link signs in once: opening it (GET) spends nothing, the POST does, a second use is 400', async () => {
      const { token } = await askLoginLink(server, account.email);
      const page = await fetch(new URL(`/login/link?token=${token}`, server.url));
      assert.equal(page.status, 200, 'a mail scanner opening the link spends nothing');
      await assertSignedIn(server, await sessionsPost(server, { token }), account.email);
      assertProblem(await sessionsPost(server, { token }), 400, 'invalid_token');
      const dead = await fetch(new URL(`/login/link?token=${token}`, server.url));
      assert.equal(dead.status, 400, 'a spent link\'s page says so with 400');
      assert.match(await dead.text(), /href="\/login"/, 'and links to where a new one can be asked for');
    });

    test('a code signs in once, tried with the address its mail went to (in any case or spacing)', async () => {
      const { code } = await askLoginLink(server, account.email);
      const other = await createAccount(server);
      assertProblem(await sessionsPost(server, { email: other.email, code }), 400, 'invalid_token');
      await assertSignedIn(server, await sessionsPost(server, { email: `  ${account.email.toUpperCase()} `, code }), account.email);
      assertProblem(await sessionsPost(server, { email: account.email, code }), 400, 'invalid_token');
    });

    test('link and code are one credential: the link after its code was used, and the code after its link, are refused', async () => {
      const first = await askLoginLink(server, account.email);
      assert.equal((await sessionsPost(server, { email: account.email, code: first.code })).status, 201);
      assertProblem(await sessionsPost(server, { token: first.token }), 400, 'invalid_token');

      const second = await askLoginLink(server, account.email);
      assert.equal((await sessionsPost(server, { token: second.token })).status, 201);
      assertProblem(await sessionsPost(server, { email: account.email, code: second.code }), 400, 'invalid_token');
    });

    test('a newer link voids the older link and the older code', async () => {
      const older = await askLoginLink(server, account.email);
      const newer = await askLoginLink(server, account.email);
      if (older.code !== newer.code) assertProblem(await sessionsPost(server, { email: account.email, code: older.code }), 400, 'invalid_token');
      assertProblem(await sessionsPost(server, { token: older.token }), 400, 'invalid_token');
      await assertSignedIn(server, await sessionsPost(server, { email: account.email, code: newer.code }), account.email);
    });

    test('five wrong codes void the code and its link: the sixth try is refused even when right, and so is the link', async () => {
      const { token, code } = await askLoginLink(server, account.email);
      for (let i = 1; i <= 5; i += 1) assertProblem(await sessionsPost(server, { email: account.email, code: wrongCode(code, i) }), 400, 'invalid_token');
      assertProblem(await sessionsPost(server, { email: account.email, code }), 400, 'invalid_token');
      assertProblem(await sessionsPost(server, { token }), 400, 'invalid_token');
    });

    test('four wrong codes leave the right one working (the limit is five), and a right try counts as no failure', async () => {
      const { code } = await askLoginLink(server, account.email);
      for (let i = 1; i <= 4; i += 1) assertProblem(await sessionsPost(server, { email: account.email, code: wrongCode(code, i) }), 400, 'invalid_token');
      await assertSignedIn(server, await sessionsPost(server, { email: account.email, code }), account.email);
    });

    test('wrong codes sent all at once cannot try more than five: the right code in the same burst does not slip through', async () => {
      const { code } = await askLoginLink(server, account.email);
      const burst = Array.from({ length: 30 }, (_, i) => wrongCode(code, i + 1));
      const answers = await Promise.all(burst.map((guess) => sessionsPost(server, { email: account.email, code: guess })));
      assert.ok(answers.every((answer) => answer.status === 400), 'every wrong guess refused');
      assertProblem(await sessionsPost(server, { email: account.email, code }), 400, 'invalid_token');
    });

    test('20 concurrent redemptions of one code: exactly one session', async () => {
      const { code } = await askLoginLink(server, account.email);
      const answers = await Promise.all(Array.from({ length: 20 }, () => sessionsPost(server, { email: account.email, code })));
      assert.deepEqual(answers.map((a) => a.status).sort(), [201, ...Array<number>(19).fill(400)]);
      const sessions = await server.running.store.db.selectFrom('sessions').select('token_hash')
        .where('token_hash', 'in', answers.filter((a) => a.status === 201).map((a) => a.json.token as string)).execute();
      assert.equal(sessions.length, 0, 'sessions are stored only as hashes');
    });

    test('20 concurrent redemptions of one link: exactly one session', async () => {
      const { token } = await askLoginLink(server, account.email);
      const answers = await Promise.all(Array.from({ length: 20 }, () => sessionsPost(server, { token })));
      assert.deepEqual(answers.map((a) => a.status).sort(), [201, ...Array<number>(19).fill(400)]);
    });

    test('a link or code confirms an unconfirmed account (the mailbox is proven); the password chosen before it does not work (security-review.test.ts)', async () => {
      const pending = await createAccount(server, { confirmed: false });
      assertProblem(await sessionsPost(server, pending), 403, 'email_not_confirmed');
      const { code } = await askLoginLink(server, pending.email);
      await assertSignedIn(server, await sessionsPost(server, { email: pending.email, code }), pending.email);
      assertProblem(await sessionsPost(server, pending), 401, 'invalid_credentials');
    });

    test('unknown and known addresses: byte-identical 202s, and no mail to the unknown one', async () => {
      const unknown = uniqueEmail('nobody');
      const counts = mailCounts(server, [unknown]);
      const known = await server.request('POST', '/api/login-links', { body: { email: account.email } });
      const stranger = await server.request('POST', '/api/login-links', { body: { email: unknown } });
      assertMessage(known, 202);
      assert.equal(stranger.status, known.status);
      assert.equal(stranger.text, known.text);
      assert.deepEqual(headersButDate(stranger), headersButDate(known));
      await assertNoNewMail(server, [unknown], counts);
    });

    test('exactly one shape: mixed or partial bodies are 422, a non-string token or code is 422, a malformed email 422', async () => {
      const { token, code } = await askLoginLink(server, account.email);
      assertValidation(await sessionsPost(server, { email: account.email, password: account.password, code }), ['code']);
      assertProblem(await sessionsPost(server, { token, password: account.password }), 422, 'validation_failed');
      assertProblem(await sessionsPost(server, { token, email: account.email, code }), 422, 'validation_failed');
      assertProblem(await sessionsPost(server, { token, email: account.email, password: account.password, code }), 422, 'validation_failed');
      assertValidation(await sessionsPost(server, { token: 12345 }), ['token']);
      assertValidation(await sessionsPost(server, { email: account.email, code: 123456 }), ['code']);
      assertValidation(await sessionsPost(server, {}), ['email', 'password']);
      assertValidation(await sessionsPost(server, { email: 'not-an-address', code }), ['email']);
      assertValidation(await server.request('POST', '/api/login-links', { body: { email: [account.email, uniqueEmail()] } }), ['email']);
      // None of those spent the link.
      await assertSignedIn(server, await sessionsPost(server, { token }), account.email);
    });

    test('login_url: the link goes to the app\'s own route ({token} or ?token=); another origin is 422 naming login_url', async () => {
      const before = server.smtp.to(account.email).length;
      assertMessage(await server.request('POST', '/api/login-links', { body: { email: account.email, login_url: 'https://app.example.test/magic/{token}?x=1' } }), 202);
      const mail = await server.smtp.waitForMailTo(account.email, before);
      const link = linkStartingWith(mail, 'https://app.example.test/magic/');
      const token = new URL(link).pathname.split('/').at(-1)!;
      await assertSignedIn(server, await sessionsPost(server, { token }), account.email);
      assertValidation(await server.request('POST', '/api/login-links', { body: { email: account.email, login_url: 'https://evil.example.test/x' } }), ['login_url']);
    });

    test('changing the password voids outstanding log-in links', async () => {
      const own = await createAccount(server);
      const { token } = await askLoginLink(server, own.email);
      const session = await logIn(server, own.email, own.password);
      const changed = await server.request('POST', '/api/update-password', { token: session, body: { current_password: own.password, new_password: strongPassword() } });
      assert.equal(changed.status, 200, changed.text);
      assertProblem(await sessionsPost(server, { token }), 400, 'invalid_token');
    });

    test('a disabled account: a valid link or code is 403 account_disabled (and stays unspent); no new link is mailed', async () => {
      const own = await createAccount(server);
      const { token, code } = await askLoginLink(server, own.email);
      // As if disabled between the mail and its use (`users disable` also voids live links).
      await server.running.store.db.updateTable('users').set({ disabled_at: Date.now() }).where('email_canonical', '=', own.email.toLowerCase()).execute();
      assertProblem(await sessionsPost(server, { token }), 403, 'account_disabled');
      assertProblem(await sessionsPost(server, { email: own.email, code }), 403, 'account_disabled');
      const counts = mailCounts(server, [own.email]);
      assertMessage(await server.request('POST', '/api/login-links', { body: { email: own.email } }), 202);
      await assertNoNewMail(server, [own.email], counts);
    });

    test('codes are stored only as a keyed hash; the outbox holds the code sealed', async () => {
      const { token, code } = await askLoginLink(server, account.email);
      const rows = await server.running.store.db.selectFrom('tokens').selectAll().where('code_hash', 'is not', null).execute();
      assert.ok(rows.length > 0);
      for (const row of rows) assert.ok(!JSON.stringify(row).includes(code), 'no code in clear in the tokens table');
      const outbox = await server.running.store.db.selectFrom('outbox').select('params').execute();
      assert.ok(outbox.every((row) => row.params === null || !row.params.includes(code)), 'no code in clear in the outbox');
      await assertSignedIn(server, await sessionsPost(server, { token }), account.email);
    });
  });

  describe(`log-in link expiry on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind, { LOGIN_LINK_TTL: '1' });
    });

    after(() => server?.stop());

    test('past LOGIN_LINK_TTL the link and the code are refused; before it, they work', async () => {
      const account = await createAccount(server);
      await conclusively('a log-in link used before and after it expires', async () => {
        const mail = await mailInTime(server, account.email, () => server.request('POST', '/api/login-links', { body: { email: account.email } }));
        if (mail === undefined) return false;
        const token = tokenFromLink(linkStartingWith(mail, `${testBaseUrl}/login/link?token=`));
        const code = codeOf(mail);
        const deadline = await tokenExpiry(server, token);
        await waitPast(deadline);
        assertProblem(await sessionsPost(server, { token }), 400, 'invalid_token');
        assertProblem(await sessionsPost(server, { email: account.email, code }), 400, 'invalid_token');
        return true;
      });
      await conclusively('a fresh log-in code used in time', async () => {
        const mail = await mailInTime(server, account.email, () => server.request('POST', '/api/login-links', { body: { email: account.email } }));
        if (mail === undefined) return false;
        const token = tokenFromLink(linkStartingWith(mail, `${testBaseUrl}/login/link?token=`));
        const { answer, inTime } = await answeredBefore(await tokenExpiry(server, token), () => sessionsPost(server, { email: account.email, code: codeOf(mail) }));
        if (answer.status !== 201 && !inTime) return false;
        assert.equal(answer.status, 201, answer.text);
        return true;
      });
    });
  });

  describe(`log-in links under the rate limits on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind, { RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_FAILURES: '2', RATE_LIMIT_INVALID_TOKENS: '4', RATE_LIMIT_MAIL_PER_ADDRESS: '3', RATE_LIMIT_IP_PER_MINUTE: '1000' });
    });

    after(() => server?.stop());

    test('a throttled account (failed passwords) can still sign in with a log-in link', async () => {
      const account = await createAccount(server);
      for (let i = 0; i < 2; i += 1) assertProblem(await sessionsPost(server, { email: account.email, password: strongPassword() }), 401, 'invalid_credentials');
      assertProblem(await sessionsPost(server, account), 429, 'rate_limited');
      const { token } = await askLoginLink(server, account.email);
      assert.equal((await sessionsPost(server, { token })).status, 201);
    });

    test('login-links: 3 requests per address, then 429, the same for an unknown address', async () => {
      const known = await createAccount(server);
      for (const email of [known.email, uniqueEmail('nobody')]) {
        for (let i = 0; i < 3; i += 1) assertMessage(await server.request('POST', '/api/login-links', { body: { email } }), 202);
        const over = assertProblem(await server.request('POST', '/api/login-links', { body: { email } }), 429, 'rate_limited');
        assert.ok(over !== undefined);
      }
    });

    test('wrong codes count toward the per-client invalid-token limit; then every redemption is 429, password log-in is not', async () => {
      const account = await createAccount(server);
      const { code } = await askLoginLink(server, account.email);
      for (let i = 1; i <= 4; i += 1) assertProblem(await sessionsPost(server, { email: account.email, code: wrongCode(code, i) }), 400, 'invalid_token');
      assertProblem(await sessionsPost(server, { email: account.email, code }), 429, 'rate_limited');
      assertProblem(await server.request('POST', '/api/confirm', { body: { token: 'whatever' } }), 429, 'rate_limited');
      assert.equal((await sessionsPost(server, account)).status, 201, 'a password log-in is no redemption');
    });
  });

  describe(`PASSWORDLESS=off on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind, { PASSWORDLESS: 'off' });
    });

    after(() => server?.stop());

    test('no log-in links: the endpoint is 404, the link and code shapes are 422, the pages are gone, password log-in stays', async () => {
      const account = await createAccount(server);
      assertProblem(await server.request('POST', '/api/login-links', { body: { email: account.email } }), 404, 'not_found');
      assertProblem(await sessionsPost(server, { token: 'x'.repeat(43) }), 422, 'validation_failed');
      assertProblem(await sessionsPost(server, { email: account.email, code: '123456' }), 422, 'validation_failed');
      assert.equal((await fetch(new URL('/login/code', server.url))).status, 404);
      const login = await (await fetch(new URL('/login', server.url))).text();
      assert.doesNotMatch(login, /\/login\/email-link/);
      assert.equal((await sessionsPost(server, account)).status, 201);
    });
  });
});
