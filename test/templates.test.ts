// Templates and languages (issue 4): every email in English, Chinese and
// Russian; the account's language chosen at sign-up; TEMPLATES_DIR replacing
// single files; branding; and user-typed values escaped in pages and mail.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';
import { locales } from '../src/locale.ts';
import { messageKinds, type MessageParams } from '../src/mail/messages.ts';
import { MailRenderer } from '../src/mail/render.ts';
import { linkTo, strongPassword, uniqueEmail } from './support/accounts.ts';
import { eachDatabase } from './support/databases.ts';
import { FormClient, visibleText } from './support/forms.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { tokenFromLink } from './support/smtp-sink.ts';

const cjk = /[\u4e00-\u9fff]/;
const cyrillic = /[\u0400-\u04ff]/;

describe('mail in every language', () => {
  const renderer = new MailRenderer({ appName: 'Latchkey', baseUrl: new URL('http://accounts.latchkey.test') });
  const createdAt = Date.parse('2026-11-21T08:00:00Z');
  const link = 'http://accounts.latchkey.test/confirm?token=abc&x=1';
  const validFor = { en: '1 hour', 'zh-CN': '1小时', ru: '1 час' };

  for (const locale of locales) {
    test(`all ${messageKinds.length} messages render in ${locale}, greeting by name, with the link in both parts and its lifetime in ${locale}`, async () => {
      for (const kind of messageKinds) {
        const params: MessageParams = { name: 'Zoë', link, code: '042917', expires_at: new Date(createdAt + 3600_000).toISOString(), new_email: 'new@example.com', locale };
        const message = renderer.render(kind, params, createdAt);
        assert.match(message.subject, /^Latchkey: \S/, `${locale}/${kind} subject`);
        assert.doesNotMatch(message.subject, /[\r\n]/);
        assert.ok(message.text.includes('Zoë') && message.html.includes('Zoë'), `${locale}/${kind} greets by name`);
        if (locale === 'zh-CN') assert.match(message.subject + message.text, cjk, `${locale}/${kind} is Chinese`);
        if (locale === 'ru') assert.match(message.subject + message.text, cyrillic, `${locale}/${kind} is Russian`);
        if (locale !== 'en') assert.doesNotMatch(message.text, /\b(the|your|this) /i, `${locale}/${kind} has no English sentence left`);
        assert.match(message.html, new RegExp(`<html lang="${locale}">`));
        if (['confirm', 'reset_password', 'email_change_confirm', 'login_link', 'invitation'].includes(kind)) {
          assert.ok(message.text.includes('042917') && message.html.includes('>042917<'), `${locale}/${kind} carries the code in both parts`);
          assert.ok(message.text.includes(link), `${locale}/${kind} text carries the link`);
          assert.ok(message.html.includes(link.replace('&', '&amp;')), `${locale}/${kind} HTML carries the link`);
          assert.ok(message.text.includes(validFor[locale]) && message.html.includes(validFor[locale]), `${locale}/${kind} says it lasts ${validFor[locale]}`);
        } else {
          assert.ok(message.text.includes('http://accounts.latchkey.test/forgot-password') || kind === 'email_in_use' || kind === 'account_deleted', `${locale}/${kind} links to a reset`);
        }
      }
    });
  }

  test('a message without a stored language (queued before languages existed) is English', async () => {
    const message = renderer.render('password_changed', { name: null }, createdAt);
    assert.match(message.subject, /Your password was changed/);
    assert.match(message.text, /^Hi,/);
  });
});

describe('TEMPLATES_DIR, APP_NAME, LOGO_URL and BRAND_COLOR', () => {
  let dir: string;
  let server: TestServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-templates-'));
    mkdirSync(join(dir, 'pages', 'strings'), { recursive: true });
    mkdirSync(join(dir, 'mail', 'en'), { recursive: true });
    writeFileSync(join(dir, 'pages', 'login.liquid'), '{% layout "layout" %}{% block title %}Sign in{% endblock %}{% block content %}<p id="custom-login">Our own sign-in page for {{ app_name }}</p>{% endblock %}');
    writeFileSync(join(dir, 'pages', 'strings', 'en.json'), JSON.stringify({ register: { title: 'Join {{the}} club' } }));
    writeFileSync(join(dir, 'pages', 'style.css'), 'body { background: papayawhip; }');
    writeFileSync(join(dir, 'mail', 'en', 'confirm.subject.liquid'), 'Welcome aboard, one click to go');
    writeFileSync(join(dir, 'mail', 'en', 'confirm.txt.liquid'), 'Custom text for {{ app_name }}: {{ link }}');
    server = await startServer('sqlite', { TEMPLATES_DIR: dir, APP_NAME: 'Acme ID', LOGO_URL: 'https://cdn.acme.test/logo.png', BRAND_COLOR: '#0F766E' });
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an overridden page replaces the built-in one; the other pages and the unchanged strings stay built in', async () => {
    const client = new FormClient(server.url);
    const login = await client.get('/login');
    assert.equal(login.status, 200);
    assert.match(login.text, /<p id="custom-login">Our own sign-in page for Acme ID<\/p>/);
    assert.match(login.text, /<title>Sign in · Acme ID<\/title>/, 'the override uses the built-in layout');
    const register = await client.get('/register');
    assert.match(register.text, /<h1>Join \{\{the\}\} club<\/h1>/, 'an override strings file changes one string, as text');
    assert.match(register.text, /Already have an account\?/, 'the strings it does not name keep their built-in text');
    assert.match(register.text, /name="password" type="password" autocomplete="new-password"/);
    const css = await client.get(/href="(\/assets\/style\.css[^"]*)"/.exec(register.text)![1]!);
    assert.match(css.text, /papayawhip/);
    assert.match(css.text, /--brand: #0f766e/);
  });

  test('an overridden email file replaces that part only; the rest of the message stays built in', async () => {
    const email = uniqueEmail('branded');
    const client = new FormClient(server.url);
    const password = strongPassword();
    assert.equal((await client.submit('/register', { email, password, password_confirmation: password })).status, 303);
    const mail = await server.smtp.waitForMailTo(email);
    assert.equal(mail.subject, 'Acme ID: Welcome aboard, one click to go');
    assert.match(mail.text, /^Custom text for Acme ID: http:\/\/accounts\.latchkey\.test\/confirm\?token=/);
    assert.match(mail.html, /Confirm my email/, 'the HTML part is the built-in one');
    assert.match(mail.html, /background:#0f766e/, 'BRAND_COLOR colours the button');
    assert.match(mail.html, /<img src="https:\/\/cdn\.acme\.test\/logo\.png" alt="Acme ID"/);
  });

  test('the logo and the app name brand every page, and the CSP allows the logo\'s origin for images only', async () => {
    const page = await new FormClient(server.url).get('/');
    assert.match(page.text, /<img src="https:\/\/cdn\.acme\.test\/logo\.png" alt="Acme ID">/);
    assert.match(page.text, /Welcome to Acme ID/);
    assert.match(page.headers.get('content-security-policy') ?? '', /img-src 'self' https:\/\/cdn\.acme\.test;/);
  });

  test('bad values stop start-up naming the variable', () => {
    const cases: [string, string][] = [
      ['TEMPLATES_DIR', join(dir, 'missing')],
      ['LOGO_URL', 'javascript:alert(1)'],
      ['LOGO_URL', '/logo.png'],
      ['BRAND_COLOR', 'red'],
      ['BRAND_COLOR', '#fff;} body{display:none'],
    ];
    for (const [variable, value] of cases) {
      assert.throws(() => loadConfig({ [variable]: value }), (error: unknown) => error instanceof ConfigError && error.message.startsWith(variable), `${variable}=${value}`);
    }
    const defaults = loadConfig({});
    assert.equal(defaults.templatesDir, undefined);
    assert.equal(defaults.logoUrl, undefined);
    assert.equal(defaults.brandColor, '#2563eb');
  });
});

describe('a name containing HTML', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer('sqlite');
  });

  after(async () => {
    await server?.stop();
  });

  test('shows as text on the account page and in the mail, and never reaches a header', async () => {
    const name = '<img src=x onerror=alert(1)><b>Eve</b> & "Co"';
    const email = uniqueEmail('escape');
    const password = strongPassword();
    const client = new FormClient(server.url);
    assert.equal((await client.submit('/register', { name, email, password, password_confirmation: password })).status, 303);
    const mail = await server.smtp.waitForMailTo(email);

    assert.ok(mail.html.includes('&lt;img src=x onerror=alert(1)&gt;&lt;b&gt;Eve&lt;/b&gt; &amp; &#34;Co&#34;'), 'escaped in the HTML part');
    assert.doesNotMatch(mail.html, /<b>Eve<\/b>|<img src=x/);
    assert.ok(mail.text.includes(name), 'the text part shows it as typed');
    assert.doesNotMatch(mail.raw.split(/\r?\n\r?\n/)[0]!, /Eve/, 'not in any header');

    const token = tokenFromLink(linkTo(mail, '/confirm'));
    assert.equal((await server.request('POST', '/api/confirm', { body: { token } })).status, 200);
    assert.equal((await client.submit('/login', { email, password })).status, 303);
    const account = await client.get('/account');
    assert.ok(account.text.includes('<dd>&lt;img src=x onerror=alert(1)&gt;&lt;b&gt;Eve&lt;/b&gt; &amp; &#34;Co&#34;</dd>'), 'escaped on the page');
    assert.doesNotMatch(account.text, /<b>Eve<\/b>|<img src=x/);
    assert.ok(visibleText(account.text).includes(name), 'and reads exactly as typed');
  });
});

eachDatabase((kind, skip) => {
  describe(`the account's language on ${kind}`, () => {
    let server: TestServer;

    before(async () => {
      if (skip === false) server = await startServer(kind);
    });

    after(async () => {
      await server?.stop();
    });

    test('a JSON sign-up stores the Accept-Language; the account\'s later mail keeps it whoever asks', { skip }, async () => {
      const email = uniqueEmail('zh');
      const signedUp = await server.request('POST', '/api/users', { body: { email, password: strongPassword() }, headers: { 'accept-language': 'zh-CN,zh;q=0.9' } });
      assert.equal(signedUp.status, 202);
      const confirmMail = await server.smtp.waitForMailTo(email);
      assert.match(confirmMail.subject, /请确认您的邮箱地址/);
      assert.match(confirmMail.text, /有效期为 1天/);

      // A second sign-up from a Russian browser: the owner is told in the account's language.
      await server.request('POST', '/api/users', { body: { email, password: strongPassword() }, headers: { 'accept-language': 'ru' } });
      const exists = await server.smtp.waitForMailTo(email, 1);
      assert.match(exists.subject, /您已经有账户了/);

      await server.request('POST', '/api/reset-password-request', { body: { email } });
      const reset = await server.smtp.waitForMailTo(email, 2);
      assert.match(reset.subject, /重置您的密码/);
    });

    test('a JSON sign-up without Accept-Language is English', { skip }, async () => {
      const email = uniqueEmail('en');
      await server.request('POST', '/api/users', { body: { email, password: strongPassword() } });
      assert.match((await server.smtp.waitForMailTo(email)).subject, /Confirm your email address/);
    });
  });
});
