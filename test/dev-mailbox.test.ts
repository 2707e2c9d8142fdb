// API.md "Email": without MAIL_SERVER the dev mailbox holds every live link,
// so /dev/mailbox answers clients on loopback addresses only; anyone else
// gets the 404 of a path that does not exist (issue 10, point 2). Before v2,
// GET /dev/mailbox.json handed anyone who could reach the server every reset
// link. The start-up refusals (public BASE_URL, `latchkey worker`) are
// spawned in test/cli.test.ts.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { strongPassword, uniqueEmail } from './support/accounts.ts';
import { startServer, type TestResponse, type TestServer } from './support/latchkey.ts';

/** Status, content type and body: what tells one answer from another. */
const seen = (r: TestResponse) => ({ status: r.status, type: r.headers.get('content-type'), body: r.text });

describe('the dev mailbox answers loopback clients only', () => {
  let server: TestServer;
  const email = uniqueEmail('dev-mailbox');

  before(async () => {
    // A reverse proxy on this machine (127.0.0.1) forwards the real client in X-Forwarded-For.
    server = await startServer('sqlite', { MAIL_SERVER: '', BASE_URL: 'http://localhost', TRUST_PROXY: '127.0.0.1' });
    const signUp = await server.request('POST', '/api/users', { body: { email, password: strongPassword() } });
    assert.equal(signUp.status, 202, signUp.text);
  });
  after(() => server?.stop());

  test('from loopback, /dev/mailbox.json lists the mail with its link', async () => {
    const deadline = Date.now() + 10_000;
    let messages: { to: string; text: string }[] = [];
    while (!messages.some((m) => m.to.includes(email)) && Date.now() < deadline) {
      await sleep(50);
      const response = await server.request('GET', '/dev/mailbox.json');
      assert.equal(response.status, 200, response.text);
      messages = response.json.messages;
    }
    const mail = messages.find((m) => m.to.includes(email));
    assert.ok(mail !== undefined, `no mail to ${email} in the dev mailbox`);
    assert.match(mail.text, /http:\/\/localhost\/confirm\?token=/);
  });

  test('a remote client behind the trusted proxy (X-Forwarded-For: 203.0.113.9) gets the 404 of an unknown path, with no link', async () => {
    const remote = { 'x-forwarded-for': '203.0.113.9' };
    const unknownRoute = seen(await server.request('GET', '/dev/no-such-page', { headers: remote }));
    assert.equal(unknownRoute.status, 404);
    for (const [path, accept] of [['/dev/mailbox.json', undefined], ['/dev/mailbox', 'application/json'], ['/dev/mailbox', 'text/html']]) {
      const response = await server.request('GET', path!, { headers: accept === undefined ? remote : { ...remote, accept } });
      assert.deepEqual(seen(response), unknownRoute, `${path} (Accept: ${accept ?? 'none'})`);
      assert.doesNotMatch(response.text, /token=/);
    }
  });

  test('a proxy on this machine that TRUST_PROXY does not name still gives the remote client away in X-Forwarded-For: 404', async () => {
    for (const forwarded of ['198.51.100.7', '127.0.0.1, 198.51.100.7', '::ffff:198.51.100.7']) {
      const response = await server.request('GET', '/dev/mailbox.json', { headers: { 'x-forwarded-for': `${forwarded}, 127.0.0.2` } });
      assert.equal(response.status, 404, `${forwarded}: ${response.text}`);
      assert.equal(response.json?.code, 'not_found');
    }
  });

  test('a client whose connection comes from a non-loopback address (Fastify inject) gets 404; 127.0.0.1 gets the mail', async () => {
    const remote = await server.running.app.inject({ method: 'GET', url: '/dev/mailbox.json', remoteAddress: '203.0.113.9' });
    assert.equal(remote.statusCode, 404, remote.body);
    assert.equal(remote.json().code, 'not_found');
    assert.doesNotMatch(remote.body, /token=/);
    const local = await server.running.app.inject({ method: 'GET', url: '/dev/mailbox.json', remoteAddress: '127.0.0.1' });
    assert.equal(local.statusCode, 200, local.body);
    assert.match(local.body, /token=/);
  });
});
