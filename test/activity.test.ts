// API.md: GET /api/me/events (newest first, at most 100), GET /api/me/export
// (an attachment with no secret in it), /account's recent activity and
// "Download my data" in Chromium, and EVENT_RETENTION_DAYS.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createAccount, linkStartingWith, linkTo, logIn, requestReset, signUp, strongPassword, uniqueEmail } from './support/accounts.ts';
import { launchChromium, skipUnlessChromium, startBrowserServer } from './support/browser.ts';
import { eachDatabase, testSecretKey } from './support/databases.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { runCli } from './support/serve-process.ts';
import { tokenFromLink } from './support/smtp-sink.ts';
import { executeSql, selectRows } from './support/sql.ts';
import { createHash } from 'node:crypto';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** Every form a secret of the account could take in a file: as it is, and its SHA-256 in hex and base64(url). */
function secretForms(secret: string): string[] {
  const hash = sha256(secret);
  return [secret, hash.toString('hex'), hash.toString('base64'), hash.toString('base64url')];
}

/** The secrets Latchkey holds for an account, read from the database itself. */
async function storedSecrets(server: TestServer, userId: string): Promise<string[]> {
  const users = await selectRows<{ password_hash: string }>(server.database, `select password_hash from users where id = '${userId}'`);
  const sessions = await selectRows<{ token_hash: string }>(server.database, `select token_hash from sessions where user_id = '${userId}'`);
  const tokens = await selectRows<{ token_hash: string }>(server.database, `select token_hash from tokens where user_id = '${userId}'`);
  return [users[0]!.password_hash, ...sessions.map((s) => s.token_hash), ...tokens.map((t) => t.token_hash)];
}

function assertHoldsNone(file: string, secrets: string[]): void {
  for (const secret of secrets) assert.ok(!file.includes(secret), `the export holds a secret (${secret.slice(0, 6)}…)`);
  assert.doesNotMatch(file, /password_hash|token_hash|\$argon2|"code"/i);
}

eachDatabase((kind, skip) => {
  describe(`activity and export on ${kind}`, { skip }, () => {
    let server: TestServer;
    before(async () => { server = await startServer(kind); });
    after(async () => { await server?.stop(); });

    test('GET /api/me/events: the account\'s events newest first with ip and user_agent; 401 without a session', async () => {
      const account = await createAccount(server);
      const response = await server.request('POST', '/api/sessions', { body: account, headers: { 'user-agent': 'curl/8.5.0' } });
      const token = response.json.token as string;
      const events = await server.request('GET', '/api/me/events', { token });
      assert.equal(events.status, 200);
      assert.deepEqual(events.json.events.map((e: { type: string }) => e.type), ['user.signed_in', 'user.confirmed', 'user.created']);
      const [signedIn] = events.json.events;
      assert.deepEqual(Object.keys(signedIn).sort(), ['at', 'data', 'id', 'ip', 'type', 'user_agent']);
      assert.equal(signedIn.ip, '127.0.0.1');
      assert.equal(signedIn.user_agent, 'curl/8.5.0');
      assert.deepEqual(signedIn.data, { method: 'password' });
      assert.equal((await server.request('GET', '/api/me/events', {})).status, 401);
      assert.equal((await server.request('GET', '/api/me/export', {})).status, 401);
    });

    test('GET /api/me/events answers at most 100, the newest', async () => {
      const account = await createAccount(server);
      const token = await logIn(server, account.email, account.password);
      const userId = (await server.request('GET', '/api/me', { token })).json.user.id as string;
      const values = Array.from({ length: 120 }, (_, i) => `('bulk-${userId}-${i}', '${userId}', 'user.signed_out', ${Date.now() - 86_400_000 - i * 1000}, null, null, '{}')`).join(', ');
      await executeSql(server.database, { sqlite: `insert into events (id, user_id, type, at, ip, user_agent, data) values ${values}`, postgres: `insert into events (id, user_id, type, at, ip, user_agent, data) values ${values}` });
      const events = (await server.request('GET', '/api/me/events', { token })).json.events as { type: string; at: string }[];
      assert.equal(events.length, 100);
      assert.equal(events[0]!.type, 'user.signed_in');
      assert.deepEqual(events.map((e) => e.at), events.map((e) => e.at).sort().reverse());
    });

    test('GET /api/me/export: an attachment of {user, sessions, events} in which no hash, token or code of the account appears', async () => {
      const email = uniqueEmail('export');
      const password = strongPassword();
      const confirmToken = tokenFromLink(linkTo(await signUp(server, { email, password }), '/confirm'));
      assert.equal((await server.request('POST', '/api/confirm', { body: { token: confirmToken } })).status, 200);
      const session = await logIn(server, email, password);
      const other = await logIn(server, email, password);
      const resetToken = await requestReset(server, email);
      const response = await server.request('GET', '/api/me/export', { token: session });
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-disposition') ?? '', /^attachment/);
      const data = response.json;
      assert.deepEqual(Object.keys(data).sort(), ['events', 'sessions', 'user']);
      assert.equal(data.user.email, email);
      assert.equal(data.sessions.length, 2);
      assert.equal(data.sessions.filter((s: { current: boolean }) => s.current).length, 1);
      assert.ok(data.events.some((e: { type: string }) => e.type === 'user.created'));
      const secrets = [...(await storedSecrets(server, data.user.id as string)), ...[session, other, confirmToken, resetToken, password].flatMap(secretForms)];
      assertHoldsNone(response.text, secrets);
    });

    test('EVENT_RETENTION_DAYS: latchkey prune deletes the events older than it, and no others', async () => {
      const day = 86_400_000;
      const now = Date.now();
      await executeSql(server.database, {
        sqlite: `insert into events (id, user_id, type, at, ip, user_agent, data) values ('old-${now}', 'someone', 'user.signed_in', ${now - 11 * day}, null, null, '{}'), ('new-${now}', 'someone', 'user.signed_in', ${now - 9 * day}, null, null, '{}')`,
        postgres: `insert into events (id, user_id, type, at, ip, user_agent, data) values ('old-${now}', 'someone', 'user.signed_in', ${now - 11 * day}, null, null, '{}'), ('new-${now}', 'someone', 'user.signed_in', ${now - 9 * day}, null, null, '{}')`,
      });
      const result = await runCli(['prune'], { DATABASE_URL: server.database.url, SECRET_KEY: testSecretKey, EVENT_RETENTION_DAYS: '10', LOG_LEVEL: 'silent' });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^events: 1 deleted$/m);
      const left = await selectRows<{ id: string }>(server.database, `select id from events where user_id = 'someone'`);
      assert.deepEqual(left.map((r) => r.id), [`new-${now}`]);
    });
  });
});

describe('activity and "Download my data" on /account in Chromium', { skip: skipUnlessChromium() }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startBrowserServer();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  for (const [locale, signedIn, heading, download] of [
    ['en-US', /^Signed in from Headless Chrome on Linux, 127\.0\.0\.1, (now|\d+ seconds? ago)$/, 'Recent activity', 'Download my data'],
    ['ru-RU', /^Вход через Headless Chrome на Linux, 127\.0\.0\.1, (сейчас|\d+ секунд\S* назад)$/, 'Последние события', 'Скачать мои данные'],
    ['zh-CN', /^登录，设备：Linux 上的 Headless Chrome，127\.0\.0\.1，/, '最近活动', '下载我的数据'],
  ] as const) {
    test(`${locale}: the recent events in the page's language, and a download holding no secret`, async () => {
      const account = { email: uniqueEmail('browsing'), password: strongPassword() };
      const confirmLink = linkStartingWith(await signUp(server, account), `${server.url}/confirm?token=`);
      assert.equal((await server.request('POST', '/api/confirm', { body: { token: tokenFromLink(confirmLink) } })).status, 200);
      const context = await browser.newContext({ locale, acceptDownloads: true });
      try {
        const page = await context.newPage();
        await page.goto(`${server.url}/login`);
        await page.locator('form[action="/login"] input[name=email]').fill(account.email);
        await page.locator('input[name=password]').fill(account.password);
        await page.locator('form[action="/login"] button[type=submit]').click();
        await page.waitForURL(`${server.url}/account`);
        assert.equal(await page.getByRole('heading', { name: heading }).count(), 1);
        const first = (await page.locator('.activity li').first().textContent())?.trim() ?? '';
        assert.match(first, signedIn);
        assert.equal(await page.locator('.activity li').count(), 3);
        const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: download }).click()]);
        const text = readFileSync(await file.path(), 'utf8');
        const data = JSON.parse(text);
        assert.equal(data.user.email, account.email);
        assert.equal(data.events[0].type, 'user.signed_in');
        const cookie = (await context.cookies()).find((c) => c.name.endsWith('latchkey_session'))!.value;
        assertHoldsNone(text, [...(await storedSecrets(server, data.user.id as string)), ...secretForms(cookie), ...secretForms(account.password)]);
      } finally {
        await context.close();
      }
    });
  }
});
