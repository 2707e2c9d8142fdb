// API.md, Rate limits: an IPv6 client is its /64, and each /48 also has a
// ceiling of ten times the per-client limit. The attack: one subscriber's /48
// holds 65,536 /64s, each a fresh count (issue 10, point 7). The server
// believes the loopback's X-Forwarded-For, which supplies the IPv6 addresses.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { uniqueEmail } from './support/accounts.ts';
import { assertProblem } from './support/assertions.ts';
import { startServer, type TestResponse, type TestServer } from './support/latchkey.ts';

describe('the /48 ceiling', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer('sqlite', { RATE_LIMITS: 'on', TRUST_PROXY: '127.0.0.1,::1', RATE_LIMIT_IP_PER_MINUTE: '2', RATE_LIMIT_INVALID_TOKENS: '2' });
  });
  after(() => server?.stop());

  const from = (client: string, path: string, body: unknown): Promise<TestResponse> =>
    server.request('POST', path, { body, headers: { 'x-forwarded-for': client } });

  test('with RATE_LIMIT_IP_PER_MINUTE=2, requests from 25 /64s of one /48 are refused after 20; another /48 is unaffected', async () => {
    const statuses = [];
    for (let net = 1; net <= 25; net += 1) {
      statuses.push((await from(`2001:db8:48:${net.toString(16)}::1`, '/api/reset-password-request', { email: uniqueEmail('v6') })).status);
    }
    assert.deepEqual(statuses, [...Array<number>(20).fill(202), ...Array<number>(5).fill(429)]);
    assertProblem(await from('2001:db8:48:ff::1', '/api/reset-password-request', { email: uniqueEmail('v6') }), 429, 'rate_limited');
    assert.equal((await from('2001:db8:49:1::1', '/api/reset-password-request', { email: uniqueEmail('v6') })).status, 202);
  });

  test('with RATE_LIMIT_INVALID_TOKENS=2, invalid tokens from 25 /64s of one /48 are refused after 20; another /48 is unaffected', async () => {
    const statuses = [];
    for (let net = 1; net <= 25; net += 1) {
      statuses.push((await from(`2001:db8:50:${net.toString(16)}::1`, '/api/confirm', { token: `guess-${net}` })).status);
    }
    assert.deepEqual(statuses, [...Array<number>(20).fill(400), ...Array<number>(5).fill(429)]);
    assertProblem(await from('2001:db8:51:1::1', '/api/confirm', { token: 'guess' }), 400, 'invalid_token');
  });
});
