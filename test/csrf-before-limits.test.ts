// API.md, Rate limits: "A form POST without a valid CSRF token counts against
// nothing." The attack: a foreign site makes a visitor's browser post forged
// forms until the visitor's own log-in (or reset request) is refused (issue 10, point 11).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, uniqueEmail } from './support/accounts.ts';
import { FormClient } from './support/forms.ts';
import { startServer, type TestServer } from './support/latchkey.ts';

// More than RATE_LIMIT_IP_PER_MINUTE's default of 20.
const forgeries = 25;

describe('forged form POSTs spend no per-client count (default limits)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer('sqlite', { RATE_LIMITS: 'on' });
  });
  after(() => server?.stop());

  /** What a foreign page can make the browser send: the visitor's cookies, but no _csrf, or one it made up. */
  async function forge(browser: FormClient, path: string, fields: Record<string, string>): Promise<void> {
    for (let i = 0; i < forgeries; i += 1) {
      const forged = i % 2 === 0 ? fields : { ...fields, _csrf: `made-up-${i}` };
      const response = await browser.post(path, forged);
      assert.equal(response.status, 403, `forgery ${i + 1}: ${response.status}`);
      assert.match(response.text, /csrf_failed|Form expired/);
    }
  }

  test(`${forgeries} forged log-in forms, then the visitor logs in with the right password`, async () => {
    const account = await createAccount(server);
    const browser = new FormClient(server.url);
    await browser.get('/login');
    await forge(browser, '/login', { email: account.email, password: 'guessed-by-the-foreign-site' });
    const response = await browser.submit('/login', { email: account.email, password: account.password });
    assert.equal(response.status, 303, response.text.slice(0, 300));
    assert.equal(response.location, '/account');
  });

  test(`${forgeries} forged reset-request forms, then the visitor asks for a reset and it is mailed`, async () => {
    const account = await createAccount(server);
    const browser = new FormClient(server.url);
    await browser.get('/forgot-password');
    await forge(browser, '/forgot-password', { email: uniqueEmail('forged') });
    const before = server.smtp.to(account.email).length;
    const response = await browser.submit('/forgot-password', { email: account.email });
    assert.equal(response.status, 303, response.text.slice(0, 300));
    await server.smtp.waitForMailTo(account.email, before);
  });
});
