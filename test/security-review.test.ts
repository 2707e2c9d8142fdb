// Holes found in the security review of issues 13-16, each written as the
// attack it stops (over HTTP, against the real server, on both databases).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { codeOf, linkStartingWith, logIn, signUp, strongPassword, uniqueEmail, type Account } from './support/accounts.ts';
import { assertProblem } from './support/assertions.ts';
import { eachDatabase, migratedTestStore, testSecretKey } from './support/databases.ts';
import { runCli } from './support/serve-process.ts';
import { FormClient } from './support/forms.ts';
import { startServer, testBaseUrl, type TestServer } from './support/latchkey.ts';
import { tokenFromLink } from './support/smtp-sink.ts';

eachDatabase((kind, skip) => {
  describe(`security review: log-in links on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind);
    });

    after(() => server?.stop());

    // Account pre-hijacking: an attacker signs up with the victim's address and
    // a password of their own, and never confirms. The victim later signs in by
    // log-in link (their mailbox is proven, the account confirmed). The
    // attacker's password, never proven by anyone, must not open it then.
    for (const shape of ['link', 'code'] as const) {
      test(`a password set before the address was proven does not survive a log-in by ${shape}`, async () => {
        const victim = uniqueEmail('victim');
        const attackerPassword = strongPassword();
        await signUp(server, { email: victim, password: attackerPassword });

        const before = server.smtp.to(victim).length;
        assert.equal((await server.request('POST', '/api/login-links', { body: { email: victim } })).status, 202);
        const mail = await server.smtp.waitForMailTo(victim, before);
        const body = shape === 'link'
          ? { token: tokenFromLink(linkStartingWith(mail, `${testBaseUrl}/login/link?token=`)) }
          : { email: victim, code: codeOf(mail) };
        const victimLogIn = await server.request('POST', '/api/sessions', { body });
        assert.equal(victimLogIn.status, 201, victimLogIn.text);
        assert.equal(victimLogIn.json.user.confirmed, true);

        assertProblem(await server.request('POST', '/api/sessions', { body: { email: victim, password: attackerPassword } }), 401, 'invalid_credentials');
      });
    }
  });
});

eachDatabase((kind, skip) => {
  describe(`security review: COOKIE_DOMAIN log-out on ${kind}`, { skip }, () => {
    let server: TestServer;
    let account: Account;

    before(async () => {
      server = await startServer(kind, { BASE_URL: 'https://accounts.example.com', COOKIE_DOMAIN: 'example.com' });
      account = { email: uniqueEmail('cookie'), password: strongPassword() };
      const mail = await signUp(server, account);
      const confirmed = await server.request('POST', '/api/confirm', { body: { token: tokenFromLink(linkStartingWith(mail, 'https://accounts.example.com/confirm?token=')) } });
      assert.equal(confirmed.status, 200, confirmed.text);
    });

    after(() => server?.stop());

    // A browser kept its host-only `__Host-latchkey_session` from before the
    // operator set COOKIE_DOMAIN; the reverse-proxy endpoints still honour it.
    // Logging out on the pages must end that too, or the protected app (on a
    // shared computer) still opens for the next person at the keyboard.
    test('log-out also ends the host-only session cookie kept from before COOKIE_DOMAIN', async () => {
      const client = new FormClient(server.url);
      client.cookies.set('__Host-latchkey_session', await logIn(server, account.email, account.password));
      assert.equal((await client.submit('/login', { email: account.email, password: account.password })).status, 303);
      assert.equal((await client.submit('/account', {}, '/logout')).status, 303);
      const cookie = [...client.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
      for (const path of ['/api/authz/auth-request', '/api/authz/forward-auth']) {
        const answer = await fetch(new URL(path, server.url), { headers: { cookie } });
        assert.equal(answer.status, 401, `${path} after log-out, with the cookies the browser kept (${cookie})`);
      }
    });
  });

  describe(`security review: COOKIE_DOMAIN over http on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind, { BASE_URL: 'http://accounts.example.test', COOKIE_DOMAIN: 'example.test' });
    });

    after(() => server?.stop());

    // Both cookies are `latchkey_session` over http; a browser sends the older,
    // host-only one first. Clearing only the Domain one when the first is dead
    // removed the good cookie and kept the dead one, to be read again on every
    // page: the visitor could never stay logged in.
    test('a dead host-only session cookie kept from before COOKIE_DOMAIN is cleared too', async () => {
      const response = await fetch(new URL('/login', server.url), { headers: { cookie: 'latchkey_session=dead-host-only; latchkey_session=newer' } });
      assert.equal(response.status, 200);
      const clearing = response.headers.getSetCookie().filter((line) => line.startsWith('latchkey_session=;'));
      assert.ok(clearing.some((line) => /domain=example\.test/i.test(line)), clearing.join(' | '));
      assert.ok(clearing.some((line) => !/domain=/i.test(line)), `a host-only clearing too: ${clearing.join(' | ')}`);
    });
  });
});

eachDatabase((kind, skip) => {
  describe(`security review: addresses and User-Agents shown back on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind);
    });

    after(() => server?.stop());

    // An address whose domain is not Latin-1 cannot be an HTTP header value as
    // it is: the proxy's check failed with 500, and its owner never reached the
    // protected app. The header carries the same address with the domain in
    // its ASCII (IDNA) form; the local part is ASCII already (email-address.ts).
    test('an internationalized domain: 200 with the address in ASCII, on both endpoints', async () => {
      const email = uniqueEmail('idn', '例え.example');
      const mail = await signUp(server, { email, password: strongPassword() });
      assert.equal((await server.request('POST', '/api/confirm', { body: { token: tokenFromLink(linkStartingWith(mail, `${testBaseUrl}/confirm?token=`)) } })).status, 200);
      const before = server.smtp.to(email).length;
      assert.equal((await server.request('POST', '/api/login-links', { body: { email } })).status, 202);
      const signedIn = await server.request('POST', '/api/sessions', { body: { email, code: codeOf(await server.smtp.waitForMailTo(email, before)) } });
      assert.equal(signedIn.status, 201, signedIn.text);
      for (const path of ['/api/authz/auth-request', '/api/authz/forward-auth']) {
        const answer = await fetch(new URL(path, server.url), { headers: { authorization: `Bearer ${signedIn.json.token}` } });
        assert.equal(answer.status, 200, path);
        assert.equal(answer.headers.get('x-latchkey-email'), email.replace('例え.example', 'xn--r8jz45g.example'), path);
        assert.equal(answer.headers.get('x-latchkey-user-id'), signedIn.json.user.id);
      }
    });

    // A User-Agent is the client's to choose; /account shows it in the
    // sessions list and the activity (regression test: this one held).
    test('markup in a User-Agent is shown as text on /account, in the sessions and the activity', async () => {
      const account = { email: uniqueEmail('ua'), password: strongPassword() };
      const mail = await signUp(server, account);
      assert.equal((await server.request('POST', '/api/confirm', { body: { token: tokenFromLink(linkStartingWith(mail, `${testBaseUrl}/confirm?token=`)) } })).status, 200);
      const hostile = '<img src=x onerror=alert(1)>"\'><script>alert(2)</script>';
      const client = new FormClient(server.url, { 'user-agent': hostile });
      assert.equal((await client.submit('/login', account)).status, 303);
      const page = await client.get('/account');
      assert.equal(page.status, 200);
      assert.ok(!page.text.includes('<img src=x') && !page.text.includes('<script>'), 'no markup from the User-Agent');
      assert.ok(page.text.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the User-Agent shown escaped');
    });
  });
});

// The receiver is the operator's, but it is another service (often another
// company's): its answer's body is read only as far as the 200 characters kept
// for the operator. Reading it whole let a receiver that streams without end
// hold the delivery for the full 10 s timeout while the worker buffered
// everything it sent (memory without bound).
describe('security review: a webhook receiver\'s endless answer', () => {
  test('is cut after its first characters: the delivery is done at once, and the kept answer is short', async () => {
    const { createServer } = await import('node:http');
    const { webhookDelivery } = await import('../src/webhooks/delivery.ts');
    let streaming = true;
    const receiver = createServer((_request, response) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      const chunk = 'x'.repeat(16 * 1024);
      const more = () => { if (streaming && response.write(chunk)) setTimeout(more, 1); else if (streaming) response.once('drain', more); };
      more();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = receiver.address() as import('node:net').AddressInfo;
      const delivery = webhookDelivery({ url: `http://127.0.0.1:${port}/hook`, secret: Buffer.alloc(32, 7) });
      const started = performance.now();
      const error = await delivery.send({ message_id: 'msg_review' } as never, { type: 'user.signed_in' }, Date.now()).then(() => undefined, (e: unknown) => e as Error);
      const took = performance.now() - started;
      assert.ok(error instanceof Error && /^HTTP 500: x+$/.test(error.message) && error.message.length <= 'HTTP 500: '.length + 200, String(error));
      assert.ok(took < 3000, `answered in ${Math.round(took)} ms`);
    } finally {
      streaming = false;
      receiver.closeAllConnections();
      receiver.close();
    }
  });
});

// What a webhook receiver (or an SMTP server) answered is kept as the row's
// last error and printed by `latchkey outbox list` on the operator's terminal:
// its escape sequences (set the title, write the clipboard with OSC 52, clear
// the screen) and its tabs and line breaks (a made-up row) must not get there.
eachDatabase((kind, skip) => {
  describe(`security review: latchkey outbox list on ${kind}`, { skip }, () => {
    test('prints a hostile last error as one inert field', async () => {
      const { database, store, close } = await migratedTestStore(kind);
      try {
        const now = Date.now();
        await store.insertOutbox({
          id: '00000000-0000-4000-8000-00000000beef', kind: 'webhook', recipient: 'user.signed_in', params: 'sealed', message_id: 'msg_review',
          status: 'failed', attempts: 1, next_attempt_at: now, locked_until: null, expires_at: now + 60_000, created_at: now, sent_at: null,
          last_error: 'HTTP 400: \u001b]52;c;ZXZpbA==\u0007\u001b[2J\tfailed\tforged\nforged-row\u009b31m',
        });
        const result = await runCli(['outbox', 'list'], { DATABASE_URL: database.url, SECRET_KEY: testSecretKey });
        assert.equal(result.code, 0, result.stderr);
        // eslint-disable-next-line no-control-regex
        assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(result.stdout), JSON.stringify(result.stdout));
        const lines = result.stdout.trimEnd().split('\n');
        assert.equal(lines.length, 2, 'the header and one row');
        assert.equal(lines[1]!.split('\t').length, 8, 'eight fields');
      } finally {
        await close();
      }
    });
  });
});
