// API.md, Tokens: "Tokens and codes never appear in a log line"; nor do
// passwords or session tokens. test/log-secrecy.test.ts walks the JSON flows;
// this walks what it leaves out: the email change (JSON and form), every HTML
// form POST that carries a secret (register, confirm, log in, change email,
// confirm the new address, forgot and reset password, change password) and
// the GET of /confirm-email?token= links, however the parameter is spelled.
// `latchkey serve` runs as a child at LOG_LEVEL=trace; its whole output is
// searched for each secret.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { linkTo, strongPassword, uniqueEmail } from './support/accounts.ts';
import { FormClient } from './support/forms.ts';
import { request, testBaseUrl } from './support/latchkey.ts';
import { startServe, type ServeProcess } from './support/serve-process.ts';
import { SmtpSink, tokenFromLink } from './support/smtp-sink.ts';
import { testSecretKey } from './support/databases.ts';

describe('no token, session or password in the log of the form and email-change flows (LOG_LEVEL=trace)', () => {
  let sink: SmtpSink;
  let serve: ServeProcess;
  let url: string;
  before(async () => {
    sink = await new SmtpSink().start();
    serve = startServe({ BASE_URL: testBaseUrl, MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(sink.port), LOG_LEVEL: 'trace', RATE_LIMITS: 'off', SECRET_KEY: testSecretKey });
    url = await serve.listening;
  });
  after(async () => {
    await serve?.stop();
    await sink?.stop();
  });

  test('register, confirm, log in, change email twice, confirm it by form and by JSON, forgot and reset, change password', { timeout: 60_000 }, async () => {
    const secrets: Record<string, string> = {};
    const email = uniqueEmail('form-secrets');
    const password = (secrets.password = strongPassword());
    const browser = new FormClient(url);

    // Register and confirm through the forms.
    assert.equal((await browser.submit('/register', { email, password, password_confirmation: password })).status, 303);
    const confirmToken = (secrets.confirmToken = tokenFromLink(linkTo(await sink.waitForMailTo(email), '/confirm')));
    assert.equal((await browser.submit(`/confirm?token=${confirmToken}`, { token: confirmToken }, '/confirm')).status, 303);

    // Log in through the form: the session token travels in Set-Cookie.
    assert.equal((await browser.submit('/login', { email, password })).status, 303);
    const cookieSession = browser.cookies.get('latchkey_session');
    assert.ok(cookieSession !== undefined, 'the log-in form set the session cookie');
    secrets.cookieSession = cookieSession;

    // Change the address through the account form; open its link (three spellings) and confirm through the form.
    const formEmail = uniqueEmail('form-secrets-moved');
    assert.equal((await browser.submit('/account', { new_email: formEmail, password }, '/account/email')).status, 303);
    const formChangeToken = (secrets.formChangeToken = tokenFromLink(linkTo(await sink.waitForMailTo(formEmail), '/confirm-email')));
    assert.equal((await browser.get(`/confirm-email?token=${formChangeToken}`)).status, 200);
    assert.equal((await browser.get(`/confirm-email?%74oken=${formChangeToken}`)).status, 200);
    // Not a token to the page (400), but a token-shaped secret in the URL all the same.
    await browser.get(`/confirm-email?lang=en&TOKEN=${formChangeToken}`);
    assert.equal((await browser.submit(`/confirm-email?token=${formChangeToken}`, { token: formChangeToken }, '/confirm-email')).status, 303);

    // Change it again through JSON, open the link, confirm through POST /api/confirm.
    const loggedIn = await request(url, 'POST', '/api/sessions', { body: { email: formEmail, password } });
    assert.equal(loggedIn.status, 201, loggedIn.text);
    const bearer = (secrets.bearer = loggedIn.json.token as string);
    const jsonEmail = uniqueEmail('json-secrets-moved');
    assert.equal((await request(url, 'POST', '/api/update-email', { token: bearer, body: { new_email: jsonEmail, password } })).status, 202);
    const jsonChangeToken = (secrets.jsonChangeToken = tokenFromLink(linkTo(await sink.waitForMailTo(jsonEmail), '/confirm-email')));
    assert.equal((await request(url, 'GET', `/confirm-email?token=${jsonChangeToken}`)).status, 200);
    assert.equal((await request(url, 'POST', '/api/confirm', { body: { token: jsonChangeToken } })).status, 200);

    // Forgot and reset through the forms, then change the password through the account form.
    const resetCount = sink.to(jsonEmail).length;
    assert.equal((await browser.submit('/forgot-password', { email: jsonEmail })).status, 303);
    const resetToken = (secrets.resetToken = tokenFromLink(linkTo(await sink.waitForMailTo(jsonEmail, resetCount), '/reset-password')));
    const resetPassword = (secrets.resetPassword = strongPassword());
    assert.equal((await browser.submit(`/reset-password?token=${resetToken}`, { token: resetToken, password: resetPassword, password_confirmation: resetPassword }, '/reset-password')).status, 303);
    assert.equal((await browser.submit('/login', { email: jsonEmail, password: resetPassword })).status, 303);
    secrets.secondCookieSession = browser.cookies.get('latchkey_session')!;
    const changedPassword = (secrets.changedPassword = strongPassword());
    const changed = await browser.submit('/account', { current_password: resetPassword, new_password: changedPassword, new_password_confirmation: changedPassword }, '/account/password');
    assert.equal(changed.status, 303, changed.text.slice(0, 300));
    // The notice of the change is the last mail: once it is in, every step above has been logged.
    await sink.waitFor((mail) => mail.rcptTo.includes(jsonEmail) && sink.to(jsonEmail).indexOf(mail) > resetCount);

    const output = serve.output();
    // The walk was logged: a leak would show.
    assert.match(output, /"url":"\/confirm-email\?token=\[redacted\]"/, 'the link GET is in the access log, its token redacted');
    assert.match(output, /"method":"POST","url":"\/confirm-email"/, 'the form POSTs are in the access log');
    for (const [name, secret] of Object.entries(secrets)) {
      assert.ok(secret.length >= 16, `${name} is a real secret`);
      assert.ok(!output.includes(secret), `${name} appears in the log`);
    }
  });
});
