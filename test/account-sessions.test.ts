// /account's sessions section (API.md, "HTML pages"): the live sessions with
// device, IP and when; "sign out" for each other session and "sign out
// everywhere else", as CSRF-guarded POST forms with a flash message after.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, logIn, type Account } from './support/accounts.ts';
import { eachDatabase } from './support/databases.ts';
import { FormClient, csrfOf, visibleText } from './support/forms.ts';
import { startServer, type TestServer } from './support/latchkey.ts';

const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0';
const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

eachDatabase((kind, skip) => {
  describe(`the sessions on /account, on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind);
    });

    after(() => server?.stop());

    async function browserAs(account: Account, userAgent: string): Promise<FormClient> {
      const client = new FormClient(server.url, { 'user-agent': userAgent });
      const response = await client.submit('/login', { email: account.email, password: account.password });
      assert.equal(response.status, 303);
      return client;
    }
    const sessionIds = (html: string) => [...html.matchAll(/data-session-id="([^"]+)"/g)].map((m) => m[1]!);
    const revokeForms = (html: string) => [...html.matchAll(/<input type="hidden" name="id" value="([^"]+)">/g)].map((m) => m[1]!);
    const signedIn = async (client: FormClient) => (await client.get('/account')).status === 200;

    test('lists each session with its device, IP and times; only the other sessions have a sign-out form', async () => {
      const account = await createAccount(server);
      const laptop = await browserAs(account, firefox);
      const phone = await browserAs(account, iphone);
      const page = await laptop.get('/account');
      assert.equal(page.status, 200);
      const text = visibleText(page.text);
      assert.match(text, /Where you are signed in/);
      assert.match(text, /Firefox on Linux This browser/);
      assert.match(text, /Safari on iPhone/);
      assert.match(text, /127\.0\.0\.1 · Signed in .* UTC · last used .* UTC/);
      const ids = sessionIds(page.text);
      assert.equal(ids.length, 2);
      const [phoneId] = sessionIds((await phone.get('/account')).text);
      assert.deepEqual(revokeForms(page.text), [phoneId], 'one sign-out form, for the other session (newest first)');
      assert.match(page.text, /action="\/account\/sessions\/revoke-others"/);
    });

    test('"sign out" ends that session at once and says so', async () => {
      const account = await createAccount(server);
      const laptop = await browserAs(account, firefox);
      const phone = await browserAs(account, iphone);
      const [phoneId] = revokeForms((await laptop.get('/account')).text);
      const response = await laptop.submit('/account', { id: phoneId! }, '/account/sessions/revoke');
      assert.equal(response.status, 303);
      assert.equal(response.location, '/account');
      const next = await laptop.follow(response);
      assert.match(next.text, /role="status">That session is signed out\./);
      assert.deepEqual(revokeForms(next.text), []);
      assert.equal(await signedIn(phone), false);
      assert.equal(await signedIn(laptop), true);
    });

    test("another user's session id is only \"already ended\", and that session goes on", async () => {
      const account = await createAccount(server);
      const stranger = await createAccount(server);
      const laptop = await browserAs(account, firefox);
      const theirs = await logIn(server, stranger.email, stranger.password);
      const theirId = (await server.request('GET', '/api/me', { token: theirs })).json.session.id;
      // A forged id in this user's own form (its CSRF token is the session's, the same in every form of the page).
      const csrf = csrfOf((await laptop.get('/account')).text, '/logout');
      const response = await laptop.post('/account/sessions/revoke', { _csrf: csrf, id: theirId });
      assert.match((await laptop.follow(response)).text, /role="status">That session had already ended\./);
      assert.equal((await server.request('GET', '/api/me', { token: theirs })).status, 200);
    });

    test('a form without the CSRF token is refused (403) and ends nothing', async () => {
      const account = await createAccount(server);
      const laptop = await browserAs(account, firefox);
      const phone = await browserAs(account, iphone);
      const [phoneId] = revokeForms((await laptop.get('/account')).text);
      assert.equal((await laptop.post('/account/sessions/revoke', { id: phoneId! })).status, 403);
      assert.equal((await laptop.post('/account/sessions/revoke-others', {})).status, 403);
      // The other session's token is no CSRF token of this one.
      const stolen = csrfOf((await phone.get('/account')).text, '/account/sessions/revoke-others');
      assert.equal((await laptop.post('/account/sessions/revoke-others', { _csrf: stolen })).status, 403);
      assert.equal(await signedIn(phone), true);
    });

    test('"sign out everywhere else" ends every other session and keeps this one', async () => {
      const account = await createAccount(server);
      const laptop = await browserAs(account, firefox);
      const others = [await browserAs(account, iphone), await browserAs(account, 'curl/8.5.0')];
      const api = await logIn(server, account.email, account.password);
      const response = await laptop.submit('/account', {}, '/account/sessions/revoke-others');
      const next = await laptop.follow(response);
      assert.match(next.text, /role="status">Every other session is signed out\. This browser stays signed in\./);
      assert.equal(sessionIds(next.text).length, 1);
      for (const other of others) assert.equal(await signedIn(other), false);
      assert.equal((await server.request('GET', '/api/me', { token: api })).status, 401);
      assert.equal(await signedIn(laptop), true);
    });

    test('the section speaks Russian and Chinese too', async () => {
      const account = await createAccount(server);
      const laptop = await browserAs(account, firefox);
      await browserAs(account, iphone);
      const ru = visibleText((await laptop.get('/account?lang=ru')).text);
      assert.match(ru, /Где выполнен вход/);
      assert.match(ru, /Firefox, Linux Этот браузер/);
      assert.match(ru, /Выйти на всех других устройствах/);
      const zh = visibleText((await laptop.get('/account?lang=zh-CN')).text);
      assert.match(zh, /您在哪些地方登录/);
      assert.match(zh, /Linux 上的 Firefox 此浏览器/);
      assert.match(zh, /退出其他所有地方的登录/);
    });
  });
});
