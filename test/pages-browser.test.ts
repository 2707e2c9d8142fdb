// Every flow in a real browser (issue 4): headless Chromium, driven by
// playwright-core, against the real server delivering to a real SMTP sink.
// Fields are found by their labels and buttons by their names, in the page's
// language, so a missing label or an untranslated button fails the walk.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import en from '../src/pages/templates/strings/en.json' with { type: 'json' };
import zh from '../src/pages/templates/strings/zh-CN.json' with { type: 'json' };
import { linkStartingWith, strongPassword, uniqueEmail } from './support/accounts.ts';
import { launchChromium, skipUnlessChromium, startBrowserServer } from './support/browser.ts';
import type { TestServer } from './support/latchkey.ts';
import { assertNoNewMail } from './support/mail-barrier.ts';

type Strings = typeof en;

const screenshotsDir = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));

// At the top level, not inside describe(): a describe callback that throws is
// printed as ✖ but does not fail the run (Node 24.9), and with CI=true a
// missing Chromium must fail it.
const skip = skipUnlessChromium();

describe('the pages in headless Chromium', () => {
  let browser: Browser;
  let server: TestServer;

  before(async () => {
    if (skip !== false) return;
    browser = await launchChromium();
    server = await startBrowserServer();
  });

  after(async () => {
    await server?.stop();
    await browser?.close();
  });

  async function newPage(options: { javaScriptEnabled?: boolean; locale?: string } = {}): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ javaScriptEnabled: options.javaScriptEnabled ?? true, locale: options.locale ?? 'en-US' });
    return { context, page: await context.newPage() };
  }

  async function expectFlash(page: Page, message: string): Promise<void> {
    const flash = page.getByRole('status');
    assert.equal(await flash.count(), 1, `one flash message on ${page.url()}`);
    assert.equal((await flash.textContent())?.trim(), message);
  }

  /** The next mail to `email` and its link on this server starting with `path`. */
  async function mailedLink(email: string, already: number, path: string, subject: RegExp): Promise<string> {
    const mail = await server.smtp.waitForMailTo(email, already);
    assert.match(mail.subject, subject);
    return linkStartingWith(mail, `${server.url}${path}?token=`);
  }

  async function logIn(page: Page, s: Strings, email: string, password: string): Promise<void> {
    await page.getByLabel(s.fields.email, { exact: true }).fill(email);
    await page.getByLabel(s.fields.password, { exact: true }).fill(password);
    await page.getByRole('button', { name: s.login.submit, exact: true }).click();
  }

  /** Sign-up → mail → confirm → log in → change password → log out → forgot → reset mail → new password → log in. */
  async function walk(page: Page, s: Strings, subjects: { confirm: RegExp; changed: RegExp; reset: RegExp }): Promise<void> {
    const email = uniqueEmail('walker');
    const passwords = [strongPassword(), strongPassword(), strongPassword()] as const;

    await page.goto(`${server.url}/`);
    await page.getByRole('link', { name: s.home.register, exact: true }).click();
    await page.getByLabel(s.fields.name).fill('Walker');
    await page.getByLabel(s.fields.email, { exact: true }).fill(email);
    await page.getByLabel(s.fields.password, { exact: true }).fill(passwords[0]);
    await page.getByLabel(s.fields.password_confirmation, { exact: true }).fill(passwords[0]);
    await page.getByRole('button', { name: s.register.submit, exact: true }).click();
    assert.equal(new URL(page.url()).pathname, '/login');
    await expectFlash(page, s.flash.signed_up);

    await page.goto(await mailedLink(email, 0, '/confirm', subjects.confirm));
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), s.confirm.title);
    await page.getByRole('button', { name: s.confirm.submit }).click();
    await expectFlash(page, s.flash.confirmed);

    await logIn(page, s, email, passwords[0]);
    assert.equal(new URL(page.url()).pathname, '/account');
    await expectFlash(page, s.flash.logged_in);
    assert.ok((await page.textContent('main'))!.includes(email), 'the account page says who you are');

    await page.getByLabel(s.fields.current_password).fill(passwords[0]);
    await page.getByLabel(s.fields.new_password, { exact: true }).fill(passwords[1]);
    await page.getByLabel(s.fields.new_password_confirmation).fill(passwords[1]);
    await page.getByRole('button', { name: s.account.password_submit }).click();
    await expectFlash(page, s.flash.password_changed);
    assert.match((await server.smtp.waitForMailTo(email, 1)).subject, subjects.changed);

    await page.getByRole('button', { name: s.account.logout }).click();
    assert.equal(new URL(page.url()).pathname, '/login');
    await expectFlash(page, s.flash.logged_out);

    await page.getByRole('link', { name: s.login.forgot }).click();
    await page.getByLabel(s.fields.email).fill(email);
    await page.getByRole('button', { name: s.forgot.submit }).click();
    await expectFlash(page, s.flash.reset_requested);

    await page.goto(await mailedLink(email, 2, '/reset-password', subjects.reset));
    await page.getByLabel(s.fields.new_password, { exact: true }).fill(passwords[2]);
    await page.getByLabel(s.fields.new_password_confirmation).fill(passwords[2]);
    await page.getByRole('button', { name: s.reset.submit }).click();
    assert.equal(new URL(page.url()).pathname, '/login');
    await expectFlash(page, s.flash.password_reset);

    await logIn(page, s, email, passwords[1]);
    assert.equal((await page.getByRole('alert').textContent())?.trim(), s.alerts.invalid_credentials, 'the password before the reset no longer works');
    await logIn(page, s, email, passwords[2]);
    assert.equal(new URL(page.url()).pathname, '/account');
  }

  test('with JavaScript disabled, a person signs up, confirms, logs in, changes the password, logs out, resets it and logs in with it', { skip }, async () => {
    const { context, page } = await newPage({ javaScriptEnabled: false });
    try {
      await walk(page, en, { confirm: /Confirm your email address/, changed: /Your password was changed/, reset: /Reset your password/ });
    } finally {
      await context.close();
    }
  });

  test('the same walk in Chinese: a zh-CN browser gets Chinese pages and its account Chinese mail', { skip }, async () => {
    const { context, page } = await newPage({ locale: 'zh-CN' });
    try {
      await page.goto(`${server.url}/login`);
      assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
      await walk(page, zh, { confirm: /请确认您的邮箱地址/, changed: /您的密码已更改/, reset: /重置您的密码/ });
    } finally {
      await context.close();
    }
  });

  test('a forged or cookie-less form is refused with the 403 csrf_failed page, and nothing is mailed', { skip }, async () => {
    const { context, page } = await newPage();
    try {
      const email = uniqueEmail('csrf');
      await page.goto(`${server.url}/forgot-password`);
      await page.getByLabel(en.fields.email).fill(email);
      await page.locator('input[name="_csrf"]').evaluate((input) => { (input as { value: string }).value = 'forged'; });
      const forged = page.waitForResponse((r) => r.request().method() === 'POST');
      await page.getByRole('button', { name: en.forgot.submit }).click();
      assert.equal((await forged).status(), 403);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), en.errors.csrf_failed.title);
      assert.match((await page.textContent('main'))!, /csrf_failed/);

      await page.goto(`${server.url}/forgot-password`);
      await page.getByLabel(en.fields.email).fill(email);
      await context.clearCookies();
      const cookieless = page.waitForResponse((r) => r.request().method() === 'POST');
      await page.getByRole('button', { name: en.forgot.submit }).click();
      assert.equal((await cookieless).status(), 403);

      await assertNoNewMail(server, [email]);
    } finally {
      await context.close();
    }
  });

  test('an expired link says so with a 400 and leads to a new one', { skip }, async () => {
    const shortLived = await startBrowserServer({ CONFIRM_TOKEN_TTL: '1', RESET_TOKEN_TTL: '1' });
    const { context, page } = await newPage();
    try {
      const email = uniqueEmail('expired');
      const password = strongPassword();
      await page.goto(`${shortLived.url}/register`);
      await page.getByLabel(en.fields.email, { exact: true }).fill(email);
      await page.getByLabel(en.fields.password, { exact: true }).fill(password);
      await page.getByLabel(en.fields.password_confirmation, { exact: true }).fill(password);
      await page.getByRole('button', { name: en.register.submit }).click();
      const confirmLink = linkStartingWith(await shortLived.smtp.waitForMailTo(email), `${shortLived.url}/confirm?token=`);
      await page.goto(`${shortLived.url}/forgot-password`);
      await page.getByLabel(en.fields.email).fill(email);
      await page.getByRole('button', { name: en.forgot.submit }).click();
      const resetLink = linkStartingWith(await shortLived.smtp.waitForMailTo(email, 1), `${shortLived.url}/reset-password?token=`);
      // The links live one second (CONFIRM_TOKEN_TTL=1, RESET_TOKEN_TTL=1).
      await new Promise((resolve) => setTimeout(resolve, 1100));

      // API.md v2: opening the dead link already says so, with no form to fill in first.
      assert.equal((await page.goto(confirmLink))?.status(), 400);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), en.errors.invalid_token.title);
      assert.equal(await page.getByRole('button', { name: en.confirm.submit }).count(), 0);
      await page.getByRole('link', { name: en.errors.invalid_token.new_confirm_link }).click();
      assert.equal(new URL(page.url()).pathname, '/resend-confirmation');

      assert.equal((await page.goto(resetLink))?.status(), 400);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), en.errors.invalid_token.title);
      assert.equal(await page.getByLabel(en.fields.new_password, { exact: true }).count(), 0);
      await page.getByRole('link', { name: en.errors.invalid_token.new_reset_link }).click();
      assert.equal(new URL(page.url()).pathname, '/forgot-password');
    } finally {
      await context.close();
      await shortLived.stop();
    }
  });

  test('screenshots of every page at desktop and phone width go to docs/screenshots/', { skip }, async () => {
    // The dev mailbox exists only without MAIL_SERVER, so this server keeps its mail.
    const dev = await startBrowserServer({ MAIL_SERVER: '' });
    mkdirSync(screenshotsDir, { recursive: true });
    try {
      const email = 'ada@example.com';
      const password = 'correct horse battery staple';
      assert.equal((await dev.request('POST', '/api/users', { body: { email, password, name: 'Ada Lovelace' } })).status, 202);
      const link = await waitForDevMail(dev, email, '/confirm');
      assert.equal((await dev.request('POST', '/api/confirm', { body: { token: new URL(link).searchParams.get('token') } })).status, 200);
      // A token page shows its form only for a live link (API.md v2): one of each, never spent by a GET.
      assert.equal((await dev.request('POST', '/api/users', { body: { email: 'grace@example.com', password: strongPassword() } })).status, 202);
      const confirmLink = await waitForDevMail(dev, 'grace@example.com', '/confirm');
      assert.equal((await dev.request('POST', '/api/reset-password-request', { body: { email } })).status, 202);
      const resetLink = await waitForDevMail(dev, email, '/reset-password');
      const session = (await dev.request('POST', '/api/sessions', { body: { email, password } })).json.token as string;
      assert.equal((await dev.request('POST', '/api/update-email', { token: session, body: { new_email: 'ada.lovelace@example.com', password } })).status, 202);
      const emailLink = await waitForDevMail(dev, 'ada.lovelace@example.com', '/confirm-email');
      const pathOf = (url: string) => url.slice(new URL(url).origin.length);

      const pages: [string, string][] = [
        ['home', '/'], ['register', '/register'], ['login', '/login'], ['confirm', pathOf(confirmLink)],
        ['resend-confirmation', '/resend-confirmation'], ['forgot-password', '/forgot-password'],
        ['reset-password', pathOf(resetLink)], ['confirm-email', pathOf(emailLink)],
        ['invalid-link', '/reset-password'], ['dev-mailbox', '/dev/mailbox'], ['account', '/account'],
      ];
      for (const [width, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]] as const) {
        const context = await browser.newContext({ viewport, locale: 'en-US' });
        const page = await context.newPage();
        for (const [name, path] of pages) {
          if (name === 'account') {
            await page.goto(`${dev.url}/login`);
            await logIn(page, en, email, password);
            await page.goto(`${dev.url}/account`);
          } else {
            await page.goto(`${dev.url}${path}`);
          }
          await page.screenshot({ path: `${screenshotsDir}${name}-${width}.png`, fullPage: name !== 'dev-mailbox' });
        }
        await context.close();
      }
    } finally {
      await dev.stop();
    }
  });
});

/** The newest link to `path` (?token=…) mailed to `email`, waiting for it. */
async function waitForDevMail(server: TestServer, email: string, path: string): Promise<string> {
  const pattern = new RegExp(`https?://[^\\s/]+${path}\\?token=\\S+`);
  for (let i = 0; i < 200; i += 1) {
    const messages = (await server.request('GET', '/dev/mailbox.json')).json.messages as { to: string; text: string }[];
    const found = messages.find((m) => m.to === email && pattern.test(m.text))?.text.match(pattern)?.[0];
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no mail to ${email} in the dev mailbox`);
}
