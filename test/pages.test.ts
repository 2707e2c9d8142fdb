// The HTML pages over plain HTTP (API.md, "HTML pages"; issue 4): headers and
// cookies of every page, CSRF, redirects and flash messages, languages, the
// dev mailbox, and form POSTs sharing their JSON twin's rate limits.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, linkStartingWith, linkTo, logIn, requestReset, signUp, strongPassword, uniqueEmail } from './support/accounts.ts';
import { FormClient, csrfOf, setCookie, visibleText, type PageResponse } from './support/forms.ts';
import { startServer, testBaseUrl, type TestServer } from './support/latchkey.ts';
import { tokenFromLink } from './support/smtp-sink.ts';
import { assertNoNewMail } from './support/mail-barrier.ts';
import { until } from './support/process.ts';
import { safeNext } from '../src/http/pages/safe-next.ts';

/** A mailed link as a path on the server under test (mail links use BASE_URL's host). */
function pathOf(link: string): string {
  const url = new URL(link);
  return url.pathname + url.search;
}

function assertPageHeaders(response: PageResponse, label: string): void {
  const header = (name: string) => response.headers.get(name) ?? '';
  assert.match(header('content-type'), /^text\/html; charset=utf-8/, `${label}: HTML`);
  const csp = header('content-security-policy');
  assert.match(csp, /default-src 'none'/, `${label}: CSP default-src 'none' (so no script may run)`);
  assert.doesNotMatch(csp, /script-src|unsafe-inline|unsafe-eval/, `${label}: no script source in the CSP`);
  assert.match(csp, /frame-ancestors 'none'/, `${label}: frame-ancestors 'none'`);
  assert.equal(header('x-content-type-options'), 'nosniff', label);
  assert.equal(header('referrer-policy'), 'no-referrer', label);
  assert.equal(header('cache-control'), 'no-store', label);
  assert.equal(response.headers.get('strict-transport-security'), null, `${label}: no HSTS over http`);
  assert.doesNotMatch(response.text, /<script/i, `${label}: no script element`);
  assert.doesNotMatch(response.text, /\son[a-z]+\s*=/i, `${label}: no inline event handler`);
  assert.match(response.text, /<html lang="(en|zh-CN|ru)">/, `${label}: declares its language`);
}

async function logInWithForm(client: FormClient, email: string, password: string): Promise<PageResponse> {
  const response = await client.submit('/login', { email, password });
  assert.equal(response.status, 303, `log-in: ${response.status} ${visibleText(response.text).slice(0, 300)}`);
  return response;
}

describe('HTML pages', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer('sqlite');
  });

  after(async () => {
    await server?.stop();
  });

  test('every page sends a CSP without script and with frame-ancestors none, nosniff, no-referrer and no-store', async () => {
    const client = new FormClient(server.url);
    const anonymous = ['/', '/register', '/login', '/resend-confirmation', '/forgot-password'];
    for (const path of anonymous) {
      const response = await client.get(path);
      assert.equal(response.status, 200, `${path}: ${response.status}`);
      assertPageHeaders(response, path);
    }
    const account = await createAccount(server);
    const resetPage = await client.get(`/reset-password?token=${await requestReset(server, account.email)}`);
    assert.equal(resetPage.status, 200, 'a live reset link');
    assertPageHeaders(resetPage, '/reset-password');
    await logInWithForm(client, account.email, account.password);
    const accountPage = await client.get('/account');
    assert.equal(accountPage.status, 200);
    assertPageHeaders(accountPage, '/account');

    // Error pages too: a dead token (400 on GET since API.md v2, and on POST), a forged form (403).
    for (const path of ['/confirm?token=abc', '/reset-password?token=abc', '/confirm-email?token=abc']) {
      const dead = await client.get(path);
      assert.equal(dead.status, 400, path);
      assertPageHeaders(dead, `${path}: invalid token page`);
    }
    const deadToken = await client.post('/confirm', { _csrf: csrfOf(accountPage.text, '/logout'), token: 'not-a-real-token' });
    assert.equal(deadToken.status, 400);
    assertPageHeaders(deadToken, 'invalid token page');
    const forged = await client.post('/forgot-password', { email: account.email, _csrf: 'forged' });
    assert.equal(forged.status, 403);
    assertPageHeaders(forged, 'CSRF failure page');
  });

  test('the stylesheet is served by Latchkey itself, linked with its content hash and cacheable', async () => {
    const client = new FormClient(server.url);
    const home = await client.get('/');
    const href = /<link rel="stylesheet" href="([^"]+)"/.exec(home.text)?.[1];
    assert.ok(href !== undefined && href.startsWith('/assets/style.css?v='), `stylesheet link: ${href}`);
    const css = await client.get(href!.replace(/&amp;/g, '&'));
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
    assert.match(css.headers.get('cache-control') ?? '', /immutable/);
    assert.match(css.text, /--brand: #2563eb/);
    assert.match(css.text, /@media \(max-width/, 'it adapts to phone widths');
    assert.doesNotMatch(home.text, /https?:\/\/(?!accounts\.latchkey\.test)[^"]*\.(css|js)\b/, 'no stylesheet or script from a CDN');
  });

  test('the session and CSRF cookies are latchkey_*, HttpOnly, SameSite=Lax, Path=/ and not Secure over http', async () => {
    const client = new FormClient(server.url);
    const form = await client.get('/login');
    const csrf = setCookie(form, 'latchkey_csrf');
    assert.ok(csrf !== undefined, `a CSRF cookie: ${form.setCookies.join(' | ')}`);
    const account = await createAccount(server);
    const login = await logInWithForm(client, account.email, account.password);
    const session = setCookie(login, 'latchkey_session');
    assert.ok(session !== undefined, `a session cookie: ${login.setCookies.join(' | ')}`);
    for (const cookie of [csrf, session]) {
      assert.equal(cookie.attributes.get('path'), '/');
      assert.ok(cookie.attributes.has('httponly'));
      assert.equal(cookie.attributes.get('samesite')?.toLowerCase(), 'lax');
      assert.equal(cookie.attributes.has('secure'), false);
      assert.equal(cookie.attributes.has('domain'), false);
    }
  });

  test('the session cookie holds a token like the bearer one; logging in again issues a new one and ends the old', async () => {
    const account = await createAccount(server);
    const client = new FormClient(server.url);
    await logInWithForm(client, account.email, account.password);
    const first = client.cookies.get('latchkey_session')!;
    const me = await server.request('GET', '/api/me', { token: first });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.user.email, account.email);

    // The same browser posts the log-in form again (any of its forms' tokens will do).
    const page = await client.get('/account');
    const relogin = await client.post('/login', { _csrf: csrfOf(page.text, '/logout'), email: account.email, password: account.password });
    assert.equal(relogin.status, 303, visibleText(relogin.text).slice(0, 300));
    const second = client.cookies.get('latchkey_session')!;
    assert.notEqual(second, first);
    assert.equal((await server.request('GET', '/api/me', { token: first })).status, 401, 'the old session ended');
    assert.equal((await server.request('GET', '/api/me', { token: second })).status, 200);
  });

  test('with an https BASE_URL the cookies are __Host- prefixed and Secure, and every page sends HSTS', async () => {
    const https = await startServer('sqlite', { BASE_URL: 'https://accounts.latchkey.test' });
    try {
      const client = new FormClient(https.url);
      const account = { email: uniqueEmail('https'), password: strongPassword() };
      const mail = await signUp(https, account);
      const token = tokenFromLink(linkStartingWith(mail, 'https://accounts.latchkey.test/confirm?token='));
      assert.equal((await https.request('POST', '/api/confirm', { body: { token } })).status, 200);
      const form = await client.get('/login');
      assert.match(form.headers.get('strict-transport-security') ?? '', /max-age=\d{7,}/);
      assert.equal(setCookie(form, 'latchkey_csrf'), undefined, 'no unprefixed cookie');
      const login = await client.post('/login', { _csrf: csrfOf(form.text, '/login'), email: account.email, password: account.password });
      assert.equal(login.status, 303, visibleText(login.text).slice(0, 300));
      for (const name of ['__Host-latchkey_session', '__Host-latchkey_csrf']) {
        const cookie = setCookie(name === '__Host-latchkey_csrf' ? form : login, name);
        assert.ok(cookie !== undefined, `${name} is set`);
        assert.ok(cookie.attributes.has('secure'), `${name} is Secure`);
        assert.ok(cookie.attributes.has('httponly'), `${name} is HttpOnly`);
        assert.equal(cookie.attributes.get('path'), '/');
        assert.equal(cookie.attributes.get('samesite')?.toLowerCase(), 'lax');
      }
      const accountPage = await client.get('/account');
      assert.equal(accountPage.status, 200, 'the __Host- session cookie logs in');
      assert.match(accountPage.headers.get('strict-transport-security') ?? '', /max-age=/);
    } finally {
      await https.stop();
    }
  });

  test('a form POST with a missing or wrong _csrf is a 403 csrf_failed page and has no effect', async () => {
    const client = new FormClient(server.url);
    await client.get('/register');
    const email = uniqueEmail('forged');
    const password = strongPassword();
    const missing = await client.post('/register', { email, password, password_confirmation: password });
    const wrong = await client.post('/register', { email, password, password_confirmation: password, _csrf: 'A'.repeat(43) });
    for (const response of [missing, wrong]) {
      assert.equal(response.status, 403);
      assert.match(response.text, /csrf_failed/);
      assert.match(visibleText(response.text), /Nothing was changed/);
    }
    // Another browser's token does not fit this browser's cookie.
    const other = new FormClient(server.url);
    const theirs = csrfOf((await other.get('/register')).text, '/register');
    assert.equal((await client.post('/register', { email, password, password_confirmation: password, _csrf: theirs })).status, 403);

    await assertNoNewMail(server, [email]);
    const login = await server.request('POST', '/api/sessions', { body: { email, password } });
    assert.equal(login.status, 401, 'no account was made');
  });

  test('a forged reset form spends no token: the link still works afterwards', async () => {
    const account = await createAccount(server);
    const before = server.smtp.to(account.email).length;
    const client = new FormClient(server.url);
    await client.submit('/forgot-password', { email: account.email });
    const mail = await server.smtp.waitForMailTo(account.email, before);
    const path = pathOf(linkTo(mail, '/reset-password'));
    const token = new URL(path, server.url).searchParams.get('token')!;
    const newPassword = strongPassword();
    const forged = await client.post('/reset-password', { token, password: newPassword, password_confirmation: newPassword, _csrf: 'x' });
    assert.equal(forged.status, 403);
    assert.equal((await server.request('POST', '/api/sessions', { body: { email: account.email, password: account.password } })).status, 201, 'the password is unchanged');
    const real = await client.submit(path, { token, password: newPassword, password_confirmation: newPassword }, '/reset-password');
    assert.equal(real.status, 303, visibleText(real.text).slice(0, 300));
  });

  test('opening a confirmation link (GET) spends nothing; the button (POST) confirms and redirects with a flash', async () => {
    const client = new FormClient(server.url);
    const email = uniqueEmail('confirm');
    const password = strongPassword();
    const signedUp = await client.submit('/register', { email, password, password_confirmation: password });
    assert.equal(signedUp.status, 303);
    const mail = await server.smtp.waitForMailTo(email);
    const path = pathOf(linkTo(mail, '/confirm'));
    for (let i = 0; i < 3; i += 1) {
      const page = await client.get(path);
      assert.equal(page.status, 200);
      assert.match(page.text, /<form method="post" action="\/confirm">/);
    }
    assert.equal((await server.request('POST', '/api/sessions', { body: { email, password } })).status, 403, 'still unconfirmed after three GETs');
    const token = new URL(path, server.url).searchParams.get('token')!;
    const confirmed = await client.submit(path, { token }, '/confirm');
    assert.equal(confirmed.status, 303);
    assert.equal(confirmed.location, '/login');
    const login = await client.follow(confirmed);
    assert.match(login.text, /role="status"[^>]*>Your email address is confirmed/);
    assert.equal((await server.request('POST', '/api/sessions', { body: { email, password } })).status, 201);
  });

  test('a dead token shows a 400 page saying so, linking to where a new link is asked for', async () => {
    const client = new FormClient(server.url);
    const cases: [string, string][] = [['/confirm', '/resend-confirmation'], ['/reset-password', '/forgot-password'], ['/confirm-email', '/account']];
    const csrf = csrfOf((await client.get('/forgot-password')).text, '/forgot-password');
    for (const [path, askAgain] of cases) {
      // API.md v2: the GET already says so; the POST of a forged form too.
      const opened = await client.get(`${path}?token=spent`);
      assert.equal(opened.status, 400, `GET ${path}`);
      assert.match(visibleText(opened.text), /This link does not work/, `GET ${path}`);
      assert.match(opened.text, new RegExp(`href="${askAgain}"`), `GET ${path} links to ${askAgain}`);
      const fields: Record<string, string> = path === '/reset-password' ? { token: 'spent', password: 'a long new passphrase', password_confirmation: 'a long new passphrase' } : { token: 'spent' };
      const response = await client.post(path, { _csrf: csrf, ...fields });
      assert.equal(response.status, 400, path);
      assert.match(visibleText(response.text), /This link does not work/, path);
      assert.match(response.text, new RegExp(`href="${askAgain}"`), `${path} links to ${askAgain}`);
    }
    // API.md v2: without a token, /reset-password and /confirm ask for the address and the mail's code instead.
    for (const path of ['/reset-password', '/confirm']) {
      const noToken = await client.get(path);
      assert.equal(noToken.status, 200, `${path} without a token is the code form`);
      assert.match(noToken.text, /name="code"[^>]*autocomplete="one-time-code"/);
    }
    assert.equal((await client.get('/confirm-email')).status, 400, 'a token page without a code form opened without a token says the link does not work');
  });

  test('next goes only to a path on this site', async () => {
    const site = { allowedOrigins: [testBaseUrl] };
    assert.equal(safeNext('/account', site), '/account');
    assert.equal(safeNext('/account?tab=email', site), '/account?tab=email');
    for (const hostile of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', 'evil.example', '/%0d%0aSet-Cookie:x', 'javascript:alert(1)']) {
      const next = safeNext(hostile, site);
      assert.ok(next === undefined || (next.startsWith('/') && !next.startsWith('//') && !/[\r\n]/.test(next)), `${hostile} → ${next}`);
    }
    const account = await createAccount(server);
    for (const [next, expected] of [['//evil.example/', '/account'], ['https://evil.example/', '/account'], ['/account?from=next', '/account?from=next']]) {
      const client = new FormClient(server.url);
      const form = await client.get(`/login?next=${encodeURIComponent(next!)}`);
      const response = await client.post('/login', { _csrf: csrfOf(form.text, '/login'), email: account.email, password: account.password, next: next! });
      assert.equal(response.status, 303);
      assert.equal(response.location, expected, `next=${next}`);
    }
  });

  test('a logged-in visitor opening /login or /register is sent to /account; a logged-out one opening /account is sent to log in', async () => {
    const client = new FormClient(server.url);
    const away = await client.get('/account');
    assert.equal(away.status, 303);
    assert.equal(away.location, '/login?next=/account');
    const login = await client.follow(away);
    assert.match(login.text, /role="alert"[^>]*>Log in to see that page/);
    assert.match(login.text, /name="next" value="\/account"/);

    const account = await createAccount(server);
    const loggedIn = await client.post('/login', { _csrf: csrfOf(login.text, '/login'), email: account.email, password: account.password, next: '/account' });
    assert.equal(loggedIn.location, '/account');
    for (const path of ['/login', '/register']) {
      const response = await client.get(path);
      assert.equal(response.status, 303, path);
      assert.equal(response.location, '/account', path);
    }
  });

  test('one flash message after a redirect, shown once', async () => {
    const account = await createAccount(server);
    const client = new FormClient(server.url);
    await logInWithForm(client, account.email, account.password);
    const page = await client.get('/account');
    const loggedOut = await client.post('/logout', { _csrf: csrfOf(page.text, '/logout') });
    assert.equal(loggedOut.location, '/login');
    const shown = await client.get('/login');
    assert.equal(shown.text.match(/role="(status|alert)"/g)?.length, 1, 'exactly one message');
    assert.match(shown.text, /role="status"[^>]*>You have been logged out/);
    const again = await client.get('/login');
    assert.doesNotMatch(again.text, /role="(status|alert)"/, 'not shown a second time');
    assert.equal((await client.get('/account')).status, 303, 'the session ended');
  });

  test('an unconfirmed account logging in is told so and offered a new link, which is mailed', async () => {
    const account = await createAccount(server, { confirmed: false });
    const client = new FormClient(server.url);
    const response = await client.submit('/login', { email: account.email, password: account.password });
    assert.equal(response.status, 403);
    assert.match(visibleText(response.text), /not confirmed yet/);
    const before = server.smtp.to(account.email).length;
    const resend = await client.post('/resend-confirmation', { _csrf: csrfOf(response.text, '/resend-confirmation'), email: /name="email" value="([^"]+)"/.exec(response.text)![1]! });
    assert.equal(resend.status, 303);
    const mail = await server.smtp.waitForMailTo(account.email, before);
    assert.ok(linkTo(mail, '/confirm'));
  });

  test('a refused form keeps what was typed, never the password, and shows each reason next to its field', async () => {
    const client = new FormClient(server.url);
    const email = uniqueEmail('kept');
    const response = await client.submit('/register', { name: 'Grace "G" Hopper', email, password: 'password1', password_confirmation: 'password1' });
    assert.equal(response.status, 422);
    assert.match(response.text, new RegExp(`name="email" type="email"[^>]*value="${email}"`));
    assert.match(response.text, /value="Grace &#34;G&#34; Hopper"/);
    assert.doesNotMatch(response.text, /password1/);
    assert.match(response.text, /aria-invalid="true" aria-describedby="password-error/);
    assert.match(response.text, /id="password-error">[^<]*most common passwords/);

    const mismatch = await client.submit('/register', { email, password: 'a long passphrase here', password_confirmation: 'a long passphrase her' });
    assert.equal(mismatch.status, 422);
    assert.match(mismatch.text, /id="password_confirmation-error">The two passwords are not the same/);
    await assertNoNewMail(server, [email]);

    const account = await createAccount(server);
    const wrong = await client.submit('/login', { email: account.email, password: 'not the password' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /role="alert">The email address or password is not correct/);
    assert.match(wrong.text, new RegExp(`value="${account.email}"`));
    assert.doesNotMatch(wrong.text, /not the password/);
  });

  test('forms carry labels and the autocomplete hints password managers need', async () => {
    const client = new FormClient(server.url);
    const account = await createAccount(server);
    const expectations: [string, string[]][] = [
      ['/register', ['email" type="email" autocomplete="email"', 'password" type="password" autocomplete="new-password"', 'password_confirmation" type="password" autocomplete="new-password"']],
      ['/login', ['email" type="email" autocomplete="email"', 'password" type="password" autocomplete="current-password"']],
      [`/reset-password?token=${await requestReset(server, account.email)}`, ['password" type="password" autocomplete="new-password"']],
      ['/forgot-password', ['email" type="email" autocomplete="email"']],
    ];
    for (const [path, inputs] of expectations) {
      const page = await client.get(path);
      for (const input of inputs) assert.ok(page.text.includes(`name="${input}`), `${path}: ${input}`);
      for (const id of page.text.matchAll(/<input id="([^"]+)"/g)) assert.ok(page.text.includes(`<label for="${id[1]}">`), `${path}: #${id[1]} has a label`);
    }
    await logInWithForm(client, account.email, account.password);
    const page = await client.get('/account');
    assert.ok(page.text.includes('name="current_password" type="password" autocomplete="current-password"'));
    assert.ok(page.text.includes('name="new_password" type="password" autocomplete="new-password"'));
    assert.ok(page.text.includes('name="new_email" type="email" autocomplete="email"'));
  });

  test('the account page changes the password and the email through the same flows as the API', async () => {
    const account = await createAccount(server, { name: 'Ada' });
    const client = new FormClient(server.url);
    await logInWithForm(client, account.email, account.password);
    const page = await client.get('/account');
    assert.match(visibleText(page.text), new RegExp(`Email address ${account.email.replace(/[.+]/g, '\\$&')}`));
    assert.match(visibleText(page.text), /Name Ada/);

    const other = await logIn(server, account.email, account.password);
    const newPassword = strongPassword();
    const wrongCurrent = await client.post('/account/password', { _csrf: csrfOf(page.text, '/account/password'), current_password: 'nope', new_password: newPassword, new_password_confirmation: newPassword });
    assert.equal(wrongCurrent.status, 401);
    assert.match(wrongCurrent.text, /id="current_password-error">This password is not correct/);
    const changed = await client.post('/account/password', { _csrf: csrfOf(page.text, '/account/password'), current_password: account.password, new_password: newPassword, new_password_confirmation: newPassword });
    assert.equal(changed.status, 303);
    assert.match((await client.follow(changed)).text, /role="status"[^>]*>Your password has been changed/);
    assert.equal((await server.request('GET', '/api/me', { token: other })).status, 401, 'other sessions ended');
    assert.equal((await client.get('/account')).status, 200, 'this one stays');

    const newEmail = uniqueEmail('moved');
    const requested = await client.post('/account/email', { _csrf: csrfOf(page.text, '/account/email'), new_email: newEmail, password: newPassword });
    assert.equal(requested.status, 303);
    const mail = await server.smtp.waitForMailTo(newEmail);
    const path = pathOf(linkTo(mail, '/confirm-email'));
    const token = new URL(path, server.url).searchParams.get('token')!;
    const confirmed = await client.submit(path, { token }, '/confirm-email');
    assert.equal(confirmed.location, '/account');
    const after = await client.follow(confirmed);
    assert.match(after.text, /role="status"[^>]*>Your new email address is confirmed/);
    assert.ok(after.text.includes(newEmail));
  });

  test('the page language comes from ?lang=, is remembered, and otherwise follows Accept-Language', async () => {
    const chinese = new FormClient(server.url, { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.5' });
    const zh = await chinese.get('/login');
    assert.match(zh.text, /<html lang="zh-CN">/);
    assert.match(zh.text, /<h1>登录<\/h1>/);

    const russian = new FormClient(server.url, { 'accept-language': 'de-DE,ru;q=0.8,en;q=0.7' });
    assert.match((await russian.get('/register')).text, /<html lang="ru">[\s\S]*Создание учётной записи/);

    const chosen = new FormClient(server.url, { 'accept-language': 'zh-CN' });
    const picked = await chosen.get('/forgot-password?lang=ru');
    assert.match(picked.text, /<html lang="ru">/);
    assert.match((await chosen.get('/login')).text, /<html lang="ru">/, 'the choice is remembered');
    assert.match((await new FormClient(server.url, { 'accept-language': 'fr' }).get('/')).text, /<html lang="en">/, 'English otherwise');
    // The language links keep a token page's token.
    const tokenPage = await chosen.get('/reset-password?token=keep-me');
    assert.match(tokenPage.text, /href="\/reset-password\?token=keep-me&amp;lang=zh-CN"/);
  });

  test('a Russian sign-up page makes a Russian account: its mail stays Russian when asked from an English page', async () => {
    const client = new FormClient(server.url, { 'accept-language': 'ru' });
    const email = uniqueEmail('ru');
    const password = strongPassword();
    await client.submit('/register', { email, password, password_confirmation: password });
    const confirmMail = await server.smtp.waitForMailTo(email);
    assert.match(confirmMail.subject, /Подтвердите адрес/);
    assert.match(confirmMail.text, /срок её действия — 1 день/);
    const english = new FormClient(server.url, { 'accept-language': 'en' });
    await english.submit('/forgot-password', { email });
    const resetMail = await server.smtp.waitForMailTo(email, 1);
    assert.match(resetMail.subject, /Сброс пароля/);
    assert.match(resetMail.text, /Здравствуйте/);
  });

  test('each form POST counts against its JSON twin\'s rate limits', async () => {
    const limited = await startServer('sqlite', { RATE_LIMITS: 'on', RATE_LIMIT_MAIL_PER_ADDRESS: '2', RATE_LIMIT_INVALID_TOKENS: '2' });
    try {
      const client = new FormClient(limited.url);
      const account = await createAccount(limited);
      await logInWithForm(client, account.email, account.password);
      const bearer = await logIn(limited, account.email, account.password);
      const twins: { api: string; body: (email: string) => Record<string, string>; page: string; action: string; fields: (email: string) => Record<string, string> }[] = [
        { api: '/api/users', body: (email) => ({ email, password: strongPassword() }), page: '/register', action: '/register', fields: (email) => ({ email, password: 'a long passphrase here', password_confirmation: 'a long passphrase here' }) },
        { api: '/api/resend-confirm', body: (email) => ({ email }), page: '/resend-confirmation', action: '/resend-confirmation', fields: (email) => ({ email }) },
        { api: '/api/reset-password-request', body: (email) => ({ email }), page: '/forgot-password', action: '/forgot-password', fields: (email) => ({ email }) },
        { api: '/api/update-email', body: (email) => ({ new_email: email, password: account.password }), page: '/account', action: '/account/email', fields: (email) => ({ new_email: email, password: account.password }) },
      ];
      for (const twin of twins) {
        // /register redirects a logged-in browser, so sign-up is posted from a logged-out one.
        const browser = twin.page === '/register' ? new FormClient(limited.url) : client;
        const email = uniqueEmail('limited');
        const first = await limited.request('POST', twin.api, { body: twin.body(email), token: bearer });
        assert.equal(first.status, 202, `${twin.api}: ${first.text}`);
        assert.equal((await browser.submit(twin.page, twin.fields(email), twin.action)).status, 303, `${twin.action} is the second request for the address`);
        const third = await browser.submit(twin.page, twin.fields(email), twin.action);
        assert.equal(third.status, 429, `${twin.action} shares ${twin.api}'s count`);
        assert.match(third.headers.get('content-type') ?? '', /^text\/html/);
        assert.match(third.headers.get('retry-after') ?? '', /^\d+$/);
        assert.match(visibleText(third.text), /Too many attempts/);
      }

      assert.equal((await limited.request('POST', '/api/confirm', { body: { token: 'bogus' } })).status, 400);
      // A dead token's page is a 400 on GET (API.md v2), so the forms are posted with another form's CSRF token.
      const csrf = csrfOf((await client.get('/forgot-password')).text, '/forgot-password');
      assert.equal((await client.post('/confirm', { _csrf: csrf, token: 'bogus' })).status, 400);
      const reset = await client.post('/reset-password', { _csrf: csrf, token: 'bogus', password: 'a long passphrase here', password_confirmation: 'a long passphrase here' });
      assert.equal(reset.status, 429, 'invalid tokens are counted across the API and the forms');
    } finally {
      await limited.stop();
    }
  });
});

describe('the dev mailbox page', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer('sqlite', { MAIL_SERVER: '', BASE_URL: 'http://localhost' });
  });

  after(async () => {
    await server?.stop();
  });

  async function mailTo(email: string): Promise<void> {
    await until(`mail to ${email} in the dev mailbox`, async () => {
      const json = await server.request('GET', '/dev/mailbox.json');
      return (json.json.messages as { to: string }[]).some((m) => m.to === email);
    }, 5000);
  }

  test('/dev/mailbox is an HTML page, newest first, with clickable links and the HTML part in a sandboxed frame', async () => {
    const first = uniqueEmail('first');
    const second = uniqueEmail('second');
    for (const email of [first, second]) {
      assert.equal((await server.request('POST', '/api/users', { body: { email, password: strongPassword(), name: '<b>Bold</b>' } })).status, 202);
      await mailTo(email);
    }
    const client = new FormClient(server.url);
    const page = await client.get('/dev/mailbox', { accept: 'text/html,*/*' });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.doesNotMatch(page.headers.get('content-security-policy') ?? '', /script/);
    assert.ok(page.text.indexOf(second) < page.text.indexOf(first), 'newest first');
    // The links are built from BASE_URL, here http://localhost: v2 refuses the dev mailbox on any other host.
    assert.match(page.text, /<a href="http:\/\/localhost\/confirm\?token=[\w-]+">/);
    assert.match(page.text, /<iframe class="mail-html" loading="lazy" sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc="/);
    assert.doesNotMatch(page.text, /<b>Bold<\/b>/, 'mail content never reaches the page as markup');
    const srcdoc = /srcdoc="([^"]*)"/.exec(page.text)![1]!;
    assert.doesNotMatch(srcdoc, /[<>]/, 'the HTML part is escaped into the attribute');
  });

  test('/dev/mailbox.json and an Accept of application/json give the messages as JSON', async () => {
    for (const [path, headers] of [['/dev/mailbox.json', {}], ['/dev/mailbox', { accept: 'application/json' }]] as const) {
      const response = await server.request('GET', path, { headers });
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
      assert.ok(Array.isArray(response.json.messages), path);
    }
  });

  test('with MAIL_SERVER set the mailbox is 404', async () => {
    const smtp = await startServer('sqlite');
    try {
      for (const path of ['/dev/mailbox', '/dev/mailbox.json']) assert.equal((await smtp.request('GET', path)).status, 404, path);
    } finally {
      await smtp.stop();
    }
  });
});
