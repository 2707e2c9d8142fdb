// /account's sessions in headless Chromium, without JavaScript: one browser
// signs another out with its "Sign out" button, then every other one with
// "Sign out everywhere else"; each signed-out browser is sent to log in on its
// next page.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { linkStartingWith, signUp, strongPassword, uniqueEmail, type Account } from './support/accounts.ts';
import { launchChromium, skipUnlessChromium, startBrowserServer } from './support/browser.ts';
import type { TestServer } from './support/latchkey.ts';
import { tokenFromLink } from './support/smtp-sink.ts';

const skip = skipUnlessChromium();

describe('the sessions on /account in headless Chromium', { skip }, () => {
  let browser: Browser;
  let server: TestServer;
  let account: Account;
  const contexts: BrowserContext[] = [];

  before(async () => {
    browser = await launchChromium();
    server = await startBrowserServer();
    account = { email: uniqueEmail('devices'), password: strongPassword() };
    const mail = await signUp(server, account);
    const confirmed = await server.request('POST', '/api/confirm', { body: { token: tokenFromLink(linkStartingWith(mail, `${server.url}/confirm?token=`)) } });
    assert.equal(confirmed.status, 200);
  });

  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.stop();
  });

  async function signedInBrowser(userAgent: string): Promise<Page> {
    const context = await browser.newContext({ javaScriptEnabled: false, userAgent, locale: 'en-US' });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${server.url}/login`);
    await page.getByLabel('Email address', { exact: true }).fill(account.email);
    await page.getByLabel('Password', { exact: true }).fill(account.password);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.waitForURL(`${server.url}/account`);
    return page;
  }

  async function sentToLogIn(page: Page): Promise<boolean> {
    await page.goto(`${server.url}/account`);
    return new URL(page.url()).pathname === '/login';
  }

  test('"Sign out" on one session, then "Sign out everywhere else"', async () => {
    const phone = await signedInBrowser('Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1');
    const tablet = await signedInBrowser('Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36');
    const laptop = await signedInBrowser('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0');

    await laptop.goto(`${server.url}/account`);
    const section = laptop.getByRole('region', { name: 'Where you are signed in' });
    const items = section.getByRole('listitem');
    assert.equal(await items.count(), 3);
    assert.match((await items.nth(0).textContent())!, /Firefox on Windows\s+This browser/);
    assert.match((await items.nth(1).textContent())!, /Chrome on Android/);
    assert.match((await items.nth(2).textContent())!, /Safari on iPhone/);
    assert.equal(await section.getByRole('button', { name: 'Sign out', exact: true }).count(), 2, 'a button for each other session');

    await items.nth(2).getByRole('button', { name: 'Sign out', exact: true }).click();
    assert.equal(await laptop.getByRole('status').textContent(), 'That session is signed out.');
    assert.equal(await laptop.getByRole('region', { name: 'Where you are signed in' }).getByRole('listitem').count(), 2);
    assert.equal(await sentToLogIn(phone), true, 'the phone is sent to log in');
    assert.equal(await sentToLogIn(tablet), false, 'the tablet is still signed in');

    await laptop.getByRole('button', { name: 'Sign out everywhere else' }).click();
    assert.equal(await laptop.getByRole('status').textContent(), 'Every other session is signed out. This browser stays signed in.');
    assert.equal(await sentToLogIn(tablet), true, 'the tablet is sent to log in');
    assert.equal(await sentToLogIn(laptop), false, 'this browser stays');
    assert.equal(await laptop.getByRole('button', { name: 'Sign out everywhere else' }).count(), 0, 'nothing else to sign out');
  });
});
