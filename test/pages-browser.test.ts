// Every flow in a real browser (issue 4): headless Chromium, driven by
// playwright-core, against the real server delivering to a real SMTP sink.
// Fields are found by their labels and buttons by their names, in the page's
// language, so a missing label or an untranslated button fails the walk. The
// words expected are written in test/support/page-strings.ts, not read from
// the templates' own strings.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { linkStartingWith, strongPassword, uniqueEmail } from './support/accounts.ts';
import { launchChromium, skipUnlessChromium, startBrowserServer } from './support/browser.ts';
import type { TestServer } from './support/latchkey.ts';
import { assertNoNewMail } from './support/mail-barrier.ts';
import { tokenExpiry, waitPast } from './support/expiry.ts';
import { until } from './support/process.ts';
import { tokenFromLink } from './support/smtp-sink.ts';
import { en, ru, zh, type PageStrings as Strings } from './support/page-strings.ts';

const screenshotsDir = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
// docs/screenshots/ is tracked: the pictures are rewritten only when asked for.
const takeScreenshots = process.env.SCREENSHOTS === '1';

// At the top level, not inside describe(): a describe callback must never
// throw or await (test/suite-rules.test.ts), and with CI=true a missing
// Chromium must fail the run.
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
      // The links live one second (CONFIRM_TOKEN_TTL=1, RESET_TOKEN_TTL=1): wait until both rows say they ended.
      await waitPast(Math.max(await tokenExpiry(shortLived, tokenFromLink(confirmLink)), await tokenExpiry(shortLived, tokenFromLink(resetLink))));

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

  type PageCheck = { name: string; path: string; status: number; heading(s: Strings): string; labels(s: Strings): string[]; buttons(s: Strings): string[] };

  test('every page shows its heading, its fields and its buttons in English, Chinese and Russian (SCREENSHOTS=1 saves them)', { skip, timeout: 120_000 }, async () => {
    // The dev mailbox exists only without MAIL_SERVER, so this server keeps its mail.
    const dev = await startBrowserServer({ MAIL_SERVER: '' });
    if (takeScreenshots) mkdirSync(screenshotsDir, { recursive: true });
    try {
      const email = 'ada@example.com';
      const password = 'correct horse battery staple';
      assert.equal((await dev.request('POST', '/api/users', { body: { email, password, name: 'Ada Lovelace' } })).status, 202);
      const ownConfirm = await waitForDevMail(dev, email, '/confirm');
      assert.equal((await dev.request('POST', '/api/confirm', { body: { token: new URL(ownConfirm).searchParams.get('token') } })).status, 200);
      // Live links for the token pages, none of which an opening spends.
      assert.equal((await dev.request('POST', '/api/users', { body: { email: 'grace@example.com', password: strongPassword() } })).status, 202);
      const confirmLink = await waitForDevMail(dev, 'grace@example.com', '/confirm');
      assert.equal((await dev.request('POST', '/api/reset-password-request', { body: { email } })).status, 202);
      const resetLink = await waitForDevMail(dev, email, '/reset-password');
      const session = (await dev.request('POST', '/api/sessions', { body: { email, password } })).json.token as string;
      assert.equal((await dev.request('POST', '/api/update-email', { token: session, body: { new_email: 'ada.byron@example.com', password } })).status, 202);
      const changeLink = await waitForDevMail(dev, 'ada.byron@example.com', '/confirm-email');
      const local = (link: string) => { const url = new URL(link); return url.pathname + url.search; };

      const checks: PageCheck[] = [
        { name: 'home', path: '/', status: 200, heading: (s) => s.home.title, labels: () => [], buttons: () => [] },
        { name: 'register', path: '/register', status: 200, heading: (s) => s.register.title, labels: (s) => [s.fields.name, s.fields.email, s.fields.password, s.fields.password_confirmation], buttons: (s) => [s.register.submit] },
        { name: 'login', path: '/login', status: 200, heading: (s) => s.login.title, labels: (s) => [s.fields.email, s.fields.password], buttons: (s) => [s.login.submit] },
        { name: 'confirm', path: local(confirmLink), status: 200, heading: (s) => s.confirm.title, labels: () => [], buttons: (s) => [s.confirm.submit] },
        { name: 'resend-confirmation', path: '/resend-confirmation', status: 200, heading: (s) => s.resend.title, labels: (s) => [s.fields.email], buttons: (s) => [s.resend.submit] },
        { name: 'forgot-password', path: '/forgot-password', status: 200, heading: (s) => s.forgot.title, labels: (s) => [s.fields.email], buttons: (s) => [s.forgot.submit] },
        { name: 'reset-password', path: local(resetLink), status: 200, heading: (s) => s.reset.title, labels: (s) => [s.fields.new_password, s.fields.new_password_confirmation], buttons: (s) => [s.reset.submit] },
        { name: 'confirm-email', path: local(changeLink), status: 200, heading: (s) => s.confirm_email.title, labels: () => [], buttons: (s) => [s.confirm_email.submit] },
        { name: 'invalid-link', path: '/reset-password?token=spent', status: 400, heading: (s) => s.errors.invalid_token.title, labels: () => [], buttons: () => [] },
        { name: 'dev-mailbox', path: '/dev/mailbox', status: 200, heading: (s) => s.mailbox.title, labels: () => [], buttons: () => [] },
        {
          name: 'account', path: '/account', status: 200, heading: (s) => s.account.title,
          labels: (s) => [s.fields.current_password, s.fields.new_password, s.fields.new_password_confirmation, s.fields.new_email, s.fields.your_password],
          buttons: (s) => [s.account.password_submit, s.account.email_submit, s.account.logout],
        },
      ];
      const desktop = { width: 1280, height: 800 };
      const phone = { width: 390, height: 844 };
      for (const s of [en, zh, ru]) {
        const widths: [string, typeof desktop][] = takeScreenshots && s === en ? [['desktop', desktop], ['phone', phone]] : [['desktop', desktop]];
        for (const [width, viewport] of widths) {
          const context = await browser.newContext({ viewport, locale: s.locale });
          const page = await context.newPage();
          for (const check of checks) {
            const where = `${check.name} in ${s.lang}`;
            if (check.name === 'account') {
              await page.goto(`${dev.url}/login`);
              await logIn(page, s, email, password);
            }
            const response = await page.goto(`${dev.url}${check.path}`);
            assert.equal(response?.status(), check.status, where);
            assert.equal(await page.getAttribute('html', 'lang'), s.lang, where);
            assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), check.heading(s), `${where}: the heading`);
            for (const label of check.labels(s)) assert.equal(await page.getByLabel(label, { exact: true }).count(), 1, `${where}: one field labelled "${label}"`);
            for (const name of check.buttons(s)) assert.equal(await page.getByRole('button', { name, exact: true }).count(), 1, `${where}: one button "${name}"`);
            if (takeScreenshots && s === en) await page.screenshot({ path: `${screenshotsDir}${check.name}-${width}.png`, fullPage: check.name !== 'dev-mailbox' });
          }
          await context.close();
        }
      }
    } finally {
      await dev.stop();
    }
  });
});

/** The link to `path` in the newest dev-mailbox message to `email`, waiting for it. */
async function waitForDevMail(server: TestServer, email: string, path: string): Promise<string> {
  const pattern = new RegExp(`https?://\\S+${path}\\?token=\\S+`);
  const found = await until(`a mail to ${email} with a ${path} link in the dev mailbox`, async () => {
    const messages = (await server.request('GET', '/dev/mailbox.json')).json.messages as { to: string; text: string }[];
    return messages.find((m) => m.to === email && pattern.test(m.text));
  }, 5000, 10);
  return pattern.exec(found.text)![0];
}
