// Issue 10, point 1 (API.md v2, "Links and codes"): a client's confirm_url /
// reset_url is checked and mailed as one and the same parsed URL. Written as
// the attack: a URL whose raw text, once {token} is filled in, puts a live
// token in a link to another host (spaces and '#', a backslash before '@',
// U+0085 and other spaces, user info), sent to a victim's address.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, linkStartingWith, logIn, strongPassword, uniqueEmail, type Account } from './support/accounts.ts';
import { assertValidation } from './support/assertions.ts';
import { eachDatabase } from './support/databases.ts';
import { startServer, testBaseUrl, type TestServer } from './support/latchkey.ts';
import { assertNoNewMail } from './support/mail-barrier.ts';
import type { ReceivedMail } from './support/smtp-sink.ts';

const appOrigin = 'https://app.example.test';
const allowedOrigins = [testBaseUrl, appOrigin];
// A token is 256 random bits in URL-safe base64: 43 characters.
const tokenPattern = '([A-Za-z0-9_-]{43})';

/** The attack strings of issue 10, each aimed at a mail carrying a live token to evil.example. */
const hostileTargets: [string, string][] = [
  ['spaces and # smuggle a second link', `${testBaseUrl}/#  (this link is disabled)  New secure link: https://evil.example/r?t={token}`],
  ['a backslash before @', `${testBaseUrl}/\\@evil.example/{token}`],
  ['a backslash as the path', `${testBaseUrl}\\\\evil.example/{token}`],
  ['U+0085 (next line)', `${testBaseUrl}/r\u0085https://evil.example/r?t={token}`],
  ['a tab', `${testBaseUrl}/r\thttps://evil.example/r?t={token}`],
  ['CR LF', `${testBaseUrl}/r\r\nhttps://evil.example/r?t={token}`],
  ['a no-break space', `${testBaseUrl}/r\u00a0https://evil.example/r?t={token}`],
  ['an ideographic space', `${testBaseUrl}/r\u3000https://evil.example/r?t={token}`],
  ['a non-ASCII letter', `${testBaseUrl}/r\u00e9/{token}`],
  ['a non-ASCII host that looks allowed', 'https://\u0430pp.example.test/r/{token}'],
  ['user info naming another host', 'http://evil.example@accounts.latchkey.test/r/{token}'],
  ['user and password', 'http://user:secret@accounts.latchkey.test/r/{token}'],
  ['another origin', 'https://evil.example/r?t={token}'],
  ['an allowed host under another scheme', 'ftp://accounts.latchkey.test/r/{token}'],
  ['another port', `${testBaseUrl}:8080/r/{token}`],
  ['not a URL', 'just text {token}'],
];

/** Every http(s) link in the text part and every href of the HTML part is on an allowed origin. */
function assertOnlyAllowedLinks(mail: ReceivedMail): void {
  const hrefs = [...mail.html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!.replaceAll('&amp;', '&'));
  for (const link of [...mail.links, ...hrefs.filter((h) => /^https?:/i.test(h))]) {
    assert.ok(allowedOrigins.includes(new URL(link).origin), `a link to another origin in "${mail.subject}": ${link}`);
  }
  assert.doesNotMatch(mail.text + mail.html, /evil\.example/, 'no trace of evil.example in the mail');
}

/** The one link starting with `prefix` is exactly `pattern` (with the token in its group), in its serialized form, in both parts. */
function mailedLink(mail: ReceivedMail, prefix: string, pattern: RegExp): { link: string; token: string } {
  const link = linkStartingWith(mail, prefix);
  const match = pattern.exec(link);
  assert.ok(match !== null, `${link} matches ${pattern}`);
  assert.equal(link, new URL(link).href, 'the mailed link is its own serialization');
  assert.ok(mail.html.includes(`href="${link.replaceAll('&', '&amp;')}"`), `the HTML part links to ${link}`);
  assertOnlyAllowedLinks(mail);
  return { link, token: match[1]! };
}

eachDatabase((kind, skip) => {
  describe(`client link targets on ${kind}`, { skip }, () => {
    let server: TestServer;
    let victim: Account;
    let pending: Account;

    before(async () => {
      server = await startServer(kind, { ALLOWED_ORIGINS: appOrigin });
      victim = await createAccount(server);
      pending = await createAccount(server, { confirmed: false });
    });

    after(() => server?.stop());

    test('each hostile reset_url is 422 naming reset_url, and the victim gets no mail', async () => {
      const counts = [server.smtp.to(victim.email).length];
      for (const [label, reset_url] of hostileTargets) {
        const response = await server.request('POST', '/api/reset-password-request', { body: { email: victim.email, reset_url } });
        assert.equal(response.status, 422, `${label}: ${response.status} ${response.text}`);
        assertValidation(response, ['reset_url']);
      }
      await assertNoNewMail(server, [victim.email], counts);
    });

    test('each hostile confirm_url is 422 naming confirm_url on sign-up and on resend, and nobody gets mail', async () => {
      const counts = [server.smtp.to(pending.email).length, server.smtp.to(victim.email).length];
      const fresh: string[] = [];
      for (const [label, confirm_url] of hostileTargets) {
        const email = uniqueEmail('hostile-target');
        fresh.push(email);
        for (const [path, body] of [
          ['/api/users', { email, password: strongPassword(), confirm_url }],
          ['/api/users', { email: victim.email, password: strongPassword(), confirm_url }],
          ['/api/resend-confirm', { email: pending.email, confirm_url }],
        ] as const) {
          const response = await server.request('POST', path, { body });
          assert.equal(response.status, 422, `${path}, ${label}: ${response.status} ${response.text}`);
          assertValidation(response, ['confirm_url']);
        }
      }
      await assertNoNewMail(server, [pending.email, victim.email, ...fresh], [...counts, ...fresh.map(() => 0)]);
      for (const email of fresh) {
        assert.equal((await server.request('POST', '/api/sessions', { body: { email, password: strongPassword() } })).status, 401, 'no account was made');
      }
    });

    test('{token} in the path of a reset_url: the mailed link is the serialized URL with the token, and it resets the password', async () => {
      const account = await createAccount(server);
      const before = server.smtp.to(account.email).length;
      const ask = await server.request('POST', '/api/reset-password-request', { body: { email: account.email, reset_url: `${appOrigin}/reset/{token}/now` } });
      assert.equal(ask.status, 202, ask.text);
      const mail = await server.smtp.waitForMailTo(account.email, before);
      const { token } = mailedLink(mail, `${appOrigin}/reset/`, new RegExp(`^https://app\\.example\\.test/reset/${tokenPattern}/now$`));
      const newPassword = strongPassword();
      assert.equal((await server.request('POST', '/api/reset-password', { body: { token, password: newPassword } })).status, 200);
      await logIn(server, account.email, newPassword);
    });

    test('{token} in the query of a reset_url, beside other parameters, is replaced where it stands', async () => {
      const account = await createAccount(server);
      const before = server.smtp.to(account.email).length;
      const ask = await server.request('POST', '/api/reset-password-request', { body: { email: account.email, reset_url: `${appOrigin}/reset?t={token}&from=mail` } });
      assert.equal(ask.status, 202, ask.text);
      const mail = await server.smtp.waitForMailTo(account.email, before);
      const { token } = mailedLink(mail, `${appOrigin}/reset?`, new RegExp(`^https://app\\.example\\.test/reset\\?t=${tokenPattern}&from=mail$`));
      assert.equal((await server.request('POST', '/api/reset-password', { body: { token, password: strongPassword() } })).status, 200);
    });

    test('{token} in the fragment of a confirm_url at sign-up: the link is exact and confirms the account', async () => {
      const email = uniqueEmail('fragment');
      const password = strongPassword();
      const response = await server.request('POST', '/api/users', { body: { email, password, confirm_url: `${appOrigin}/#/confirm/{token}` } });
      assert.equal(response.status, 202, response.text);
      const mail = await server.smtp.waitForMailTo(email);
      const { token } = mailedLink(mail, `${appOrigin}/#`, new RegExp(`^https://app\\.example\\.test/#/confirm/${tokenPattern}$`));
      assert.equal((await server.request('POST', '/api/confirm', { body: { token } })).status, 200);
      await logIn(server, email, password);
    });

    test('{token} already percent-encoded in a resend confirm_url path (%7Btoken%7D) is replaced too', async () => {
      const account = await createAccount(server, { confirmed: false });
      const before = server.smtp.to(account.email).length;
      const response = await server.request('POST', '/api/resend-confirm', { body: { email: account.email, confirm_url: `${testBaseUrl}/c/%7Btoken%7D` } });
      assert.equal(response.status, 202, response.text);
      const mail = await server.smtp.waitForMailTo(account.email, before);
      const { token } = mailedLink(mail, `${testBaseUrl}/c/`, new RegExp(`^http://accounts\\.latchkey\\.test/c/${tokenPattern}$`));
      assert.equal((await server.request('POST', '/api/confirm', { body: { token } })).status, 200);
    });

    test('a target that is not yet in serialized form elsewhere (upper-case scheme and host, default port) is mailed serialized', async () => {
      const account = await createAccount(server);
      const before = server.smtp.to(account.email).length;
      const ask = await server.request('POST', '/api/reset-password-request', { body: { email: account.email, reset_url: 'HTTPS://APP.Example.TEST:443/a/../reset' } });
      assert.equal(ask.status, 202, ask.text);
      const mail = await server.smtp.waitForMailTo(account.email, before);
      mailedLink(mail, `${appOrigin}/reset?token=`, new RegExp(`^https://app\\.example\\.test/reset\\?token=${tokenPattern}$`));
    });
  });
});
