// API.md, Configuration and Rate limits: TRUST_PROXY is "a hop count, or
// comma-separated proxy addresses/CIDRs whose X-Forwarded-For is believed".
// test/trust-proxy.test.ts covers one IPv4 proxy by address, by CIDR and one
// hop; this adds what it leaves out: an IPv6 CIDR (the server reached over
// [::1]), a chain of two proxies named by address, a hop count of 2 with three
// X-Forwarded-For entries, and a CIDR that does not hold the socket's address
// (the header is then not believed). A per-client limit of 2 a minute shows
// which address the server took for the client.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { uniqueEmail } from './support/accounts.ts';
import { request, startServer, type TestServer } from './support/latchkey.ts';

const limits = { RATE_LIMITS: 'on', RATE_LIMIT_IP_PER_MINUTE: '2' };

let clients = 0;
function freshClient(): string {
  clients += 1;
  return `198.18.${clients >> 8}.${clients & 255}`;
}

/** Statuses of resend requests (no mail: the addresses have no account), one per X-Forwarded-For value. */
async function statuses(base: string, forwardedFor: string[]): Promise<number[]> {
  const answers = [];
  for (const header of forwardedFor) {
    const response = await request(base, 'POST', '/api/resend-confirm', { body: { email: uniqueEmail('proxy-more') }, headers: { 'x-forwarded-for': header } });
    answers.push(response.status);
  }
  return answers;
}

function serverWith(env: Record<string, string>): { get(): TestServer } {
  let server: TestServer;
  before(async () => {
    server = await startServer('sqlite', { ...limits, ...env });
  });
  after(() => server?.stop());
  return { get: () => server };
}

describe('TRUST_PROXY=::1/128, the server on [::1]', () => {
  const server = serverWith({ HOST: '::1', TRUST_PROXY: '::1/128' });

  test('the proxy is reached over IPv6: X-Forwarded-For decides the client', async () => {
    assert.match(server.get().url, /^http:\/\/\[::1\]:\d+$/);
    const client = freshClient();
    assert.deepEqual(await statuses(server.get().url, [client, client, client, freshClient()]), [202, 202, 429, 202]);
  });

  test('a client forging entries to the left of its own is still itself', async () => {
    const client = freshClient();
    assert.deepEqual(await statuses(server.get().url, [1, 2, 3].map((i) => `203.0.113.${i}, ${client}`)), [202, 202, 429]);
  });
});

describe('TRUST_PROXY=127.0.0.1,2001:db8:aa::/48: a chain of two proxies named by address', () => {
  const server = serverWith({ TRUST_PROXY: '127.0.0.1,2001:db8:aa::/48' });

  test('the entry left of the inner proxy (in the IPv6 range) is the client; a forged entry left of it changes nothing', async () => {
    const client = freshClient();
    const sent = [1, 2, 3].map((i) => `203.0.113.${i}, ${client}, 2001:db8:aa::${i}`);
    assert.deepEqual(await statuses(server.get().url, sent), [202, 202, 429]);
    // Another client behind the same proxies is served.
    assert.deepEqual(await statuses(server.get().url, [`${freshClient()}, 2001:db8:aa::1`]), [202]);
  });

  test('an entry outside the named ranges is the client itself, not a proxy to look past', async () => {
    const outside = '2001:db8:bb::1';
    // The client is `outside` each time (its /64), whatever was forged to its left.
    assert.deepEqual(await statuses(server.get().url, [1, 2, 3].map(() => `${freshClient()}, ${outside}`)), [202, 202, 429]);
  });
});

describe('TRUST_PROXY=2 with three X-Forwarded-For entries', () => {
  const server = serverWith({ TRUST_PROXY: '2' });

  test('the client is the middle entry: the rightmost is the second proxy, the leftmost is forged', async () => {
    const client = freshClient();
    const sent = [1, 2, 3].map((i) => `203.0.113.${i}, ${client}, 192.0.2.${i}`);
    assert.deepEqual(await statuses(server.get().url, sent), [202, 202, 429]);
  });

  test('a new middle entry each time is a new client each time', async () => {
    const sent = [1, 2, 3, 4].map(() => `203.0.113.9, ${freshClient()}, 192.0.2.9`);
    assert.deepEqual(await statuses(server.get().url, sent), [202, 202, 202, 202]);
  });
});

describe('TRUST_PROXY=10.0.0.0/8, a range that does not hold the socket\'s address (127.0.0.1)', () => {
  const server = serverWith({ TRUST_PROXY: '10.0.0.0/8' });

  test('X-Forwarded-For is not believed: rotating it does not make new clients', async () => {
    assert.deepEqual(await statuses(server.get().url, [freshClient(), freshClient(), freshClient()]), [202, 202, 429]);
  });
});
