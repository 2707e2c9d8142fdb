// Issue 10, points 8 and 11a (API.md v2, "Conventions"): paths are matched
// after percent-decoding, so /%61pi/users is /api/users with every rule of
// /api/ (foreign Origin, Content-Type, rate limits); and every answer under
// /api/ carries Cache-Control: no-store, errors and 404s included. Written as
// the attack: the same request spelled differently, from a foreign site.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, strongPassword, uniqueEmail, type Account } from './support/accounts.ts';
import { assertProblem } from './support/assertions.ts';
import { startServer, type TestResponse, type TestServer } from './support/latchkey.ts';
import { assertNoNewMail } from './support/mail-barrier.ts';

const foreignOrigin = { origin: 'https://evil.example' };

/** The same endpoints, spelled with percent-encoded letters the router decodes. */
const spellings = ['/%61pi/users', '/%61%70%69/users', '/api/%75sers', '/%61pi/%75%73%65%72%73'];

function assertNoStore(response: TestResponse, label: string): void {
  assert.equal(response.headers.get('cache-control'), 'no-store', `${label}: ${response.status} Cache-Control`);
}

describe('paths under /api/ however they are spelled', () => {
  let server: TestServer;
  let account: Account;

  before(async () => {
    server = await startServer('sqlite');
    account = await createAccount(server, { confirmed: false });
  });

  after(() => server?.stop());

  test('an encoded /api/users is the same endpoint: a valid sign-up through it is 202', async () => {
    const email = uniqueEmail('encoded');
    const response = await server.request('POST', '/%61pi/users', { body: { email, password: strongPassword() } });
    assert.equal(response.status, 202, response.text);
    await server.smtp.waitForMailTo(email);
  });

  test('a foreign Origin on an encoded /api/ path is 403 cross_site, and nothing is mailed', async () => {
    const emails: string[] = [];
    for (const path of spellings) {
      const email = uniqueEmail('cross-site');
      emails.push(email);
      const response = await server.request('POST', path, { body: { email, password: strongPassword() }, headers: foreignOrigin });
      assertProblem(response, 403, 'cross_site');
      assertNoStore(response, path);
    }
    const resend = await server.request('POST', '/%61pi/resend-confirm', { body: { email: account.email }, headers: foreignOrigin });
    assertProblem(resend, 403, 'cross_site');
    const reset = await server.request('POST', '/api/reset-password-reque%73t', { body: { email: account.email }, headers: foreignOrigin });
    assertProblem(reset, 403, 'cross_site');
    await assertNoNewMail(server, [...emails, account.email], [...emails.map(() => 0), server.smtp.to(account.email).length]);
  });

  test('text/plain on an encoded /api/ path is 415 (the CORS-simple request a foreign form can send), and nothing is mailed', async () => {
    const emails: string[] = [];
    for (const path of spellings) {
      const email = uniqueEmail('plain');
      emails.push(email);
      const response = await server.request('POST', path, {
        body: JSON.stringify({ email, password: strongPassword() }),
        headers: { 'content-type': 'text/plain' },
      });
      assertProblem(response, 415, 'unsupported_media_type');
      assertNoStore(response, path);
    }
    await assertNoNewMail(server, emails);
  });

  test('every answer under /api/ says Cache-Control: no-store, successes, errors and 404s, however spelled', async () => {
    const confirmed = await createAccount(server);
    const login = await server.request('POST', '/api/sessions', { body: { email: confirmed.email, password: confirmed.password } });
    assert.equal(login.status, 201, login.text);
    assert.equal(typeof login.json.token, 'string');
    assertNoStore(login, '201 log-in with a bearer token');
    const encodedLogin = await server.request('POST', '/%61pi/sessions', { body: { email: confirmed.email, password: confirmed.password } });
    assert.equal(encodedLogin.status, 201, encodedLogin.text);
    assertNoStore(encodedLogin, '201 log-in through /%61pi/sessions');
    const me = await server.request('GET', '/api/me', { token: login.json.token as string });
    assert.equal(me.status, 200);
    assertNoStore(me, 'GET /api/me');

    const answers: [string, Promise<TestResponse>, number][] = [
      ['GET /api/health', server.request('GET', '/api/health'), 200],
      ['POST /api/users', server.request('POST', '/api/users', { body: { email: uniqueEmail('store'), password: strongPassword() } }), 202],
      ['POST /api/reset-password-request', server.request('POST', '/api/reset-password-request', { body: { email: uniqueEmail('nobody') } }), 202],
      ['422', server.request('POST', '/api/users', { body: { email: 'not an address', password: 'x' } }), 422],
      ['400 invalid_json', server.request('POST', '/api/users', { body: '{"email":' }), 400],
      ['400 invalid_token', server.request('POST', '/api/confirm', { body: { token: 'not-a-token' } }), 400],
      ['401 wrong password', server.request('POST', '/api/sessions', { body: { email: confirmed.email, password: 'wrong password here' } }), 401],
      ['401 /api/me', server.request('GET', '/api/me'), 401],
      ['401 /%61pi/me', server.request('GET', '/%61pi/me'), 401],
      ['404 /api/nothing-here', server.request('GET', '/api/nothing-here'), 404],
      ['404 /%61pi/nothing-here', server.request('POST', '/%61pi/nothing-here', { body: {} }), 404],
      ['404 a path that does not decode', server.request('DELETE', '/api/sessions/%ZZ'), 404],
      ['404 /api/me/%ZZ', server.request('GET', '/api/me/%ZZ'), 404],
      ['413', server.request('POST', '/api/users', { body: JSON.stringify({ email: 'a'.repeat(70_000) }) }), 413],
      ['415', server.request('POST', '/api/users', { body: '{}', headers: { 'content-type': 'text/plain' } }), 415],
      ['403 cross_site', server.request('POST', '/api/users', { body: {}, headers: foreignOrigin }), 403],
      ['OPTIONS preflight', server.request('OPTIONS', '/api/users', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } }), 204],
    ];
    for (const [label, pending, status] of answers) {
      const response = await pending;
      assert.equal(response.status, status, `${label}: ${response.text}`);
      assertNoStore(response, label);
      if (status >= 400) assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/, label);
    }
  });
});

describe('rate limits of an endpoint however it is spelled', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer('sqlite', { RATE_LIMITS: 'on', RATE_LIMIT_IP_PER_MINUTE: '4' });
  });

  after(() => server?.stop());

  test('alternating /api/reset-password-request and /%61pi/reset-password-request share one per-IP count', async () => {
    const paths = ['/api/reset-password-request', '/%61pi/reset-password-request'];
    for (let i = 0; i < 4; i += 1) {
      const response = await server.request('POST', paths[i % 2]!, { body: { email: uniqueEmail('counted') } });
      assert.equal(response.status, 202, `request ${i + 1} of 4 on ${paths[i % 2]}: ${response.text}`);
    }
    for (const path of paths) {
      const response = await server.request('POST', path, { body: { email: uniqueEmail('over') } });
      assertProblem(response, 429, 'rate_limited');
      assert.match(response.headers.get('retry-after') ?? '', /^\d+$/);
      assertNoStore(response, `429 on ${path}`);
    }
  });
});
