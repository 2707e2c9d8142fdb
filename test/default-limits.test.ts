// API.md, Rate limits: the default numbers, end to end — RATE_LIMITS on and
// no RATE_LIMIT_* variable set. Other suites lower the numbers to keep tests
// short; this one pins the numbers an operator gets: 3 mail requests per
// address in 900 s, 20 requests per client a minute, 10 failed log-ins per
// account in 900 s, 30 invalid tokens per client a minute. The loopback is the
// proxy, so X-Forwarded-For gives each check a client of its own.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, strongPassword, uniqueEmail } from './support/accounts.ts';
import { assertProblem } from './support/assertions.ts';
import { startServer, type TestResponse, type TestServer } from './support/latchkey.ts';

let clients = 0;
function freshClient(): string {
  clients += 1;
  return `192.0.2.${clients}`;
}

function retryAfter(response: TestResponse): number {
  const value = response.headers.get('retry-after') ?? '';
  assert.match(value, /^\d+$/, 'Retry-After in whole seconds');
  return Number(value);
}

/** 429 rate_limited with a Retry-After within [low, high] seconds. */
function assertLimited(response: TestResponse, low: number, high: number): void {
  assertProblem(response, 429, 'rate_limited');
  const seconds = retryAfter(response);
  assert.ok(seconds >= low && seconds <= high, `Retry-After ${seconds} is within [${low}, ${high}]`);
}

describe('the default limits (RATE_LIMITS=on, no RATE_LIMIT_* set)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer('sqlite', { RATE_LIMITS: 'on', TRUST_PROXY: '127.0.0.1,::1' });
  });
  after(() => server?.stop());

  function send(client: string, method: string, path: string, body: unknown): Promise<TestResponse> {
    return server.request(method, path, { body, headers: { 'x-forwarded-for': client } });
  }

  test('3 reset requests for one address in 900 s: the 4th is 429 with Retry-After near 900', async () => {
    const email = uniqueEmail('default-mail');
    const client = freshClient();
    for (let i = 0; i < 3; i += 1) assert.equal((await send(client, 'POST', '/api/reset-password-request', { email })).status, 202);
    assertLimited(await send(client, 'POST', '/api/reset-password-request', { email }), 880, 900);
    // The address is what is counted: from another client it is still refused.
    assertLimited(await send(freshClient(), 'POST', '/api/reset-password-request', { email }), 880, 900);
  });

  test('20 log-ins from one client in a minute: the 21st is 429 with Retry-After of at most 60, another client is served', async () => {
    const client = freshClient();
    // A new address each time, so no account's failure count is reached first.
    for (let i = 0; i < 20; i += 1) {
      assertProblem(await send(client, 'POST', '/api/sessions', { email: uniqueEmail('default-ip'), password: strongPassword() }), 401, 'invalid_credentials');
    }
    assertLimited(await send(client, 'POST', '/api/sessions', { email: uniqueEmail('default-ip'), password: strongPassword() }), 1, 60);
    assertProblem(await send(freshClient(), 'POST', '/api/sessions', { email: uniqueEmail('default-ip'), password: strongPassword() }), 401, 'invalid_credentials');
  });

  test('10 failed log-ins of an account in 900 s: the 11th attempt, with the right password, is 429 with Retry-After near 900', async () => {
    const account = await createAccount(server);
    // Each failure from a client of its own: the count is the account's.
    for (let i = 0; i < 10; i += 1) {
      assertProblem(await send(freshClient(), 'POST', '/api/sessions', { email: account.email, password: strongPassword() }), 401, 'invalid_credentials');
    }
    assertLimited(await send(freshClient(), 'POST', '/api/sessions', { email: account.email, password: account.password }), 880, 900);
  });

  test('30 invalid tokens from one client in a minute: the 31st redemption is 429 with Retry-After of at most 60, another client is served', async () => {
    const client = freshClient();
    for (let i = 0; i < 30; i += 1) {
      assertProblem(await send(client, 'POST', '/api/confirm', { token: `not-a-token-${i}` }), 400, 'invalid_token');
    }
    assertLimited(await send(client, 'POST', '/api/confirm', { token: 'not-a-token-either' }), 1, 60);
    assertProblem(await send(freshClient(), 'POST', '/api/confirm', { token: 'not-a-token-at-all' }), 400, 'invalid_token');
  });
});
