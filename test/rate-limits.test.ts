// API.md, Rate limits: every limit reached and lifted, in memory and in
// Redis; the same 429 for known and unknown addresses; several instances on
// one Redis sharing their counters. The servers believe the X-Forwarded-For
// of the test's own connections (TRUST_PROXY=127.0.0.1,::1: the loopback
// addresses are the proxy) so that each test speaks from client addresses of
// its own; test/trust-proxy.test.ts pins what TRUST_PROXY believes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { serve, type Running } from '../src/main.ts';
import { OutboxQueue } from '../src/store/outbox-queue.ts';
import { strongPassword, uniqueEmail } from './support/accounts.ts';
import { assertProblem, headersButDate } from './support/assertions.ts';
import { skipUnlessPostgres, testSecretKey } from './support/databases.ts';
import { startServer, testBaseUrl, request, type TestResponse, type TestServer } from './support/latchkey.ts';
import { sleep } from './support/process.ts';
import { assertRefusedToStart, serveOutput } from './support/serve-process.ts';
import { deleteRedisPrefix, redisKeys, skipUnlessRedis, startRedisProxy, testRedisUrl, uniqueRedisPrefix, type RedisProxy } from './support/redis.ts';
import { tokenFromLink } from './support/smtp-sink.ts';

const redisSkip = await skipUnlessRedis();
const postgresSkip = await skipUnlessPostgres();
const runPrefix = uniqueRedisPrefix();

const limits = {
  RATE_LIMITS: 'on',
  TRUST_PROXY: '127.0.0.1,::1',
  RATE_LIMIT_MAIL_PER_ADDRESS: '3',
  RATE_LIMIT_MAIL_WINDOW: '900',
  RATE_LIMIT_IP_PER_MINUTE: '6',
  RATE_LIMIT_LOGIN_FAILURES: '4',
  RATE_LIMIT_LOGIN_WINDOW: '900',
  RATE_LIMIT_INVALID_TOKENS: '5',
};
// For watching a window pass: short, yet long enough to reach a limit in.
const briefWindows = { ...limits, RATE_LIMIT_MAIL_WINDOW: '4', RATE_LIMIT_LOGIN_WINDOW: '4' };

type Backend = 'memory' | 'redis';

function envFor(backend: Backend, base: Record<string, string>, name: string): Record<string, string> {
  return backend === 'memory' ? base : { ...base, REDIS_URL: testRedisUrl, REDIS_KEY_PREFIX: `${runPrefix}${name}:` };
}

let clients = 0;
/** A client address no other request of this run uses. */
function freshClient(): string {
  clients += 1;
  return `10.${(clients >> 16) & 255}.${(clients >> 8) & 255}.${clients & 255}`;
}

type Send = { client?: string; token?: string };

function post(server: TestServer, path: string, body: unknown, send: Send = {}): Promise<TestResponse> {
  const headers = { 'x-forwarded-for': send.client ?? freshClient() };
  return server.request('POST', path, send.token === undefined ? { body, headers } : { body, headers, token: send.token });
}

/** 429 rate_limited whose Retry-After is whole seconds within the window; returns them. */
function assertRateLimited(response: TestResponse, windowSeconds: number): number {
  assertProblem(response, 429, 'rate_limited');
  const retryAfter = response.headers.get('retry-after') ?? '';
  assert.match(retryAfter, /^\d+$/, `Retry-After is whole seconds: "${retryAfter}"`);
  const seconds = Number(retryAfter);
  assert.ok(seconds >= 1 && seconds <= windowSeconds, `Retry-After ${seconds} is within the ${windowSeconds} s window`);
  return seconds;
}

async function outboxTo(server: TestServer | Running, address: string): Promise<number> {
  const store = 'running' in server ? server.running.store : server.store;
  return (await new OutboxQueue(store).list()).filter((row) => row.recipient === address).length;
}

type Account = { email: string; password: string; session?: string };

/** Sign-up (and, unless told otherwise, confirmation) each from a client of its own. */
async function newAccount(server: TestServer, options: { confirmed?: boolean; email?: string } = {}): Promise<Account> {
  const account = { email: options.email ?? uniqueEmail('limited'), password: strongPassword() };
  const before = server.smtp.to(account.email).length;
  assert.equal((await post(server, '/api/users', account)).status, 202);
  const mail = await server.smtp.waitForMailTo(account.email, before);
  if (options.confirmed ?? true) {
    const token = tokenFromLink(mail.links.find((link) => link.startsWith(`${testBaseUrl}/confirm?`))!);
    assert.equal((await post(server, '/api/confirm', { token })).status, 200);
  }
  return account;
}

async function logIn(server: TestServer, account: Account): Promise<string> {
  const response = await post(server, '/api/sessions', { email: account.email, password: account.password });
  assert.equal(response.status, 201, response.text);
  return response.json.token as string;
}

/** The token of the newest reset link mailed to `address`, once it has arrived. */
async function resetToken(server: TestServer, address: string, already: number): Promise<string> {
  const mail = await server.smtp.waitForMailTo(address, already);
  return tokenFromLink(mail.links.find((link) => link.startsWith(`${testBaseUrl}/reset-password?`))!);
}

const backends: Backend[] = ['memory', 'redis'];
const servers = new Map<Backend, TestServer>();
// Per-minute limits cannot be shortened: they are reached first thing and checked last, a minute later.
const minuteLater: { backend: Backend; resetClient: string; tokenClient: string; until: number }[] = [];

before(async () => {
  for (const backend of backends) {
    if (backend === 'redis' && redisSkip !== false) continue;
    const server = await startServer('sqlite', envFor(backend, limits, 'main'));
    servers.set(backend, server);
    const resetClient = freshClient();
    const tokenClient = freshClient();
    let until = 0;
    for (let i = 0; i < 6; i += 1) assert.equal((await post(server, '/api/reset-password-request', { email: uniqueEmail('minute') }, { client: resetClient })).status, 202);
    until = Math.max(until, Date.now() + assertRateLimited(await post(server, '/api/reset-password-request', { email: uniqueEmail('minute') }, { client: resetClient }), 60) * 1000);
    for (let i = 0; i < 5; i += 1) assertProblem(await post(server, '/api/confirm', { token: `no-such-token-${i}` }, { client: tokenClient }), 400, 'invalid_token');
    until = Math.max(until, Date.now() + assertRateLimited(await post(server, '/api/confirm', { token: 'no-such-token' }, { client: tokenClient }), 60) * 1000);
    minuteLater.push({ backend, resetClient, tokenClient, until });
  }
});

after(async () => {
  for (const server of servers.values()) await server.stop();
  if (redisSkip === false) await deleteRedisPrefix(runPrefix);
});

for (const backend of backends) {
  describe(`rate limits counted in ${backend}`, { skip: backend === 'redis' ? redisSkip : false }, () => {
    const server = () => servers.get(backend)!;

    describe('mail-sending endpoints, per endpoint and address', () => {
      test('the 4th reset request for an address is 429 with Retry-After and queues no 4th mail', async () => {
        const account = await newAccount(server());
        for (let i = 0; i < 3; i += 1) assert.equal((await post(server(), '/api/reset-password-request', { email: account.email })).status, 202);
        assertRateLimited(await post(server(), '/api/reset-password-request', { email: account.email }), 900);
        assert.equal(await outboxTo(server(), account.email), 1 + 3, 'the confirmation and three reset links, no fourth');
        await server().smtp.waitForMailTo(account.email, 3);
        assert.equal(server().smtp.to(account.email).length, 4);
      });

      test('an address with an account and one without reach the limit at the same count, with the same 429', async () => {
        const known = await newAccount(server());
        const unknown = uniqueEmail('nobody');
        const statuses: Record<string, number[]> = { known: [], unknown: [] };
        const last: Record<string, TestResponse> = {};
        for (let i = 0; i < 4; i += 1) {
          for (const [name, email] of [['known', known.email], ['unknown', unknown]] as const) {
            last[name] = await post(server(), '/api/reset-password-request', { email });
            statuses[name]!.push(last[name]!.status);
          }
        }
        assert.deepEqual(statuses, { known: [202, 202, 202, 429], unknown: [202, 202, 202, 429] });
        assertRateLimited(last.known!, 900);
        assertRateLimited(last.unknown!, 900);
        assert.equal(last.known!.text, last.unknown!.text, 'the same body');
        // Retry-After may differ by a second when the two windows straddle a tick; every other header is the same.
        const withoutRetryAfter = (r: TestResponse) => headersButDate(r).filter(([name]) => name !== 'retry-after');
        assert.deepEqual(withoutRetryAfter(last.known!), withoutRetryAfter(last.unknown!));
      });

      test('the address is counted in its canonical form: letter case and surrounding spaces make no new count', async () => {
        const address = uniqueEmail('canon');
        const [local, domain] = address.split('@') as [string, string];
        for (const variant of [address, `  ${local.toUpperCase()}@${domain.toUpperCase()} `, `${local}@${domain.toUpperCase()}`]) {
          assert.equal((await post(server(), '/api/reset-password-request', { email: variant })).status, 202);
        }
        assertRateLimited(await post(server(), '/api/reset-password-request', { email: `${local.toUpperCase()}@${domain}` }), 900);
      });

      test('sign-up, resend-confirm and update-email each allow 3 requests for an address, then 429, and queue no 4th mail', async () => {
        const owner = await newAccount(server());
        owner.session = await logIn(server(), owner);
        const target = uniqueEmail('target');
        const cases: [string, () => Promise<TestResponse>, string][] = [
          ['/api/users', () => post(server(), '/api/users', { email: target, password: strongPassword() }), target],
          ['/api/resend-confirm', () => post(server(), '/api/resend-confirm', { email: target }), target],
          ['/api/update-email', () => post(server(), '/api/update-email', { new_email: target, password: owner.password }, { token: owner.session! }), target],
        ];
        for (const [path, send] of cases) {
          for (let i = 0; i < 3; i += 1) assert.equal((await send()).status, 202, `${path} request ${i + 1}`);
          assertRateLimited(await send(), 900);
        }
        // Sign-up: a confirmation, then two "account exists"; resend: three links; update-email: three "address in use".
        assert.equal(await outboxTo(server(), target), 3 + 3 + 3);
      });

      test('the counts are per endpoint: an address refused by one endpoint is still served by another', async () => {
        const account = await newAccount(server(), { confirmed: false });
        for (let i = 0; i < 3; i += 1) assert.equal((await post(server(), '/api/reset-password-request', { email: account.email })).status, 202);
        assertRateLimited(await post(server(), '/api/reset-password-request', { email: account.email }), 900);
        assert.equal((await post(server(), '/api/resend-confirm', { email: account.email })).status, 202);
        assert.equal((await post(server(), '/api/reset-password-request', { email: uniqueEmail('other') })).status, 202);
      });

      test('a malformed address is answered 422 every time and counted for no address', async () => {
        for (let i = 0; i < 5; i += 1) {
          assertProblem(await post(server(), '/api/reset-password-request', { email: 'not-an-address' }), 422, 'validation_failed');
          assertProblem(await post(server(), '/api/resend-confirm', { email: 'k\u0131m@example.com' }), 422, 'validation_failed');
        }
      });
    });

    describe('per endpoint and client', () => {
      const endpoints: [string, (server: TestServer, owner: Account) => unknown][] = [
        ['/api/users', () => ({ email: uniqueEmail('ip'), password: strongPassword() })],
        ['/api/resend-confirm', () => ({ email: uniqueEmail('ip') })],
        ['/api/reset-password-request', () => ({ email: uniqueEmail('ip') })],
        ['/api/update-email', (_server, owner) => ({ new_email: uniqueEmail('ip'), password: owner.password })],
        ['/api/sessions', () => ({ email: uniqueEmail('ip'), password: strongPassword() })],
      ];
      for (const [path, body] of endpoints) {
        test(`${path}: the 7th request from one client in a minute is 429, other clients are still served`, async () => {
          const owner = await newAccount(server());
          owner.session = await logIn(server(), owner);
          const client = freshClient();
          const send = (from: string) => post(server(), path, body(server(), owner), { client: from, token: owner.session! });
          for (let i = 0; i < 6; i += 1) assert.ok((await send(client)).status < 429, `${path} request ${i + 1} is served`);
          assertRateLimited(await send(client), 60);
          assert.ok((await send(freshClient())).status < 429, 'another client is served');
        });
      }

      test('a client refused by one endpoint is still served by another', async () => {
        const client = freshClient();
        for (let i = 0; i < 6; i += 1) await post(server(), '/api/resend-confirm', { email: uniqueEmail('ip') }, { client });
        assertRateLimited(await post(server(), '/api/resend-confirm', { email: uniqueEmail('ip') }, { client }), 60);
        assert.equal((await post(server(), '/api/reset-password-request', { email: uniqueEmail('ip') }, { client })).status, 202);
      });

      test('the log-in limit per client refuses the right password too', async () => {
        const account = await newAccount(server());
        const client = freshClient();
        for (let i = 0; i < 6; i += 1) await post(server(), '/api/sessions', { email: uniqueEmail('spray'), password: strongPassword() }, { client });
        assertRateLimited(await post(server(), '/api/sessions', { email: account.email, password: account.password }, { client }), 60);
      });

      test('IPv6 clients in one /64 share a count; the next /64 has its own', async () => {
        const net = `2001:db8:${(clients += 1).toString(16)}:7`;
        for (let i = 1; i <= 6; i += 1) {
          assert.equal((await post(server(), '/api/reset-password-request', { email: uniqueEmail('v6') }, { client: `${net}::${i.toString(16)}` })).status, 202);
        }
        assertRateLimited(await post(server(), '/api/reset-password-request', { email: uniqueEmail('v6') }, { client: `${net}:ffff:ffff:ffff:ffff` }), 60);
        assert.equal((await post(server(), '/api/reset-password-request', { email: uniqueEmail('v6') }, { client: `${net.replace(/:7$/, ':8')}::1` })).status, 202);
      });
    });

    describe('failed log-ins per account', () => {
      test('after 4 failures every attempt is 429, the right password included', async () => {
        const account = await newAccount(server());
        for (let i = 0; i < 4; i += 1) assertProblem(await post(server(), '/api/sessions', { email: account.email, password: strongPassword() }), 401, 'invalid_credentials');
        assertRateLimited(await post(server(), '/api/sessions', { email: account.email, password: account.password }), 900);
        assertRateLimited(await post(server(), '/api/sessions', { email: account.email, password: strongPassword() }), 900);
      });

      test('an address without an account is throttled after the same count with the same answers', async () => {
        const known = await newAccount(server());
        const unknown = uniqueEmail('nobody');
        const answers: Record<string, string[]> = { known: [], unknown: [] };
        for (let i = 0; i < 5; i += 1) {
          for (const [name, email] of [['known', known.email], ['unknown', unknown]] as const) {
            const response = await post(server(), '/api/sessions', { email, password: strongPassword() });
            answers[name]!.push(`${response.status} ${response.text}`);
          }
        }
        assert.deepEqual(answers.known, answers.unknown);
        assert.match(answers.known!.at(-1)!, /^429 .*"rate_limited"/);
      });

      test('failures are counted per canonical address, whatever case it is typed in', async () => {
        const account = await newAccount(server());
        const [local, domain] = account.email.split('@') as [string, string];
        for (const variant of [account.email, account.email.toUpperCase(), ` ${local}@${domain.toUpperCase()}`, `${local.toUpperCase()}@${domain}`]) {
          assertProblem(await post(server(), '/api/sessions', { email: variant, password: strongPassword() }), 401, 'invalid_credentials');
        }
        assertRateLimited(await post(server(), '/api/sessions', { email: account.email, password: account.password }), 900);
      });

      test('a successful log-in is not counted as a failure', async () => {
        const account = await newAccount(server());
        const wrong = () => post(server(), '/api/sessions', { email: account.email, password: strongPassword() });
        for (let i = 0; i < 3; i += 1) assert.equal((await wrong()).status, 401);
        await logIn(server(), account);
        assert.equal((await wrong()).status, 401, 'the fourth failure is still answered');
        assertRateLimited(await wrong(), 900);
      });

      test('guesses sent all at once get no more than 4 answers', async () => {
        const account = await newAccount(server());
        const responses = await Promise.all(Array.from({ length: 12 }, () => post(server(), '/api/sessions', { email: account.email, password: strongPassword() })));
        assert.deepEqual(responses.map((r) => r.status).sort(), [...Array<number>(4).fill(401), ...Array<number>(8).fill(429)]);
      });

      test('password reset works for a throttled account, and a completed reset lifts the throttle', async () => {
        const account = await newAccount(server());
        for (let i = 0; i < 4; i += 1) await post(server(), '/api/sessions', { email: account.email, password: strongPassword() });
        assertRateLimited(await post(server(), '/api/sessions', { email: account.email, password: account.password }), 900);
        const already = server().smtp.to(account.email).length;
        assert.equal((await post(server(), '/api/reset-password-request', { email: account.email })).status, 202);
        const token = await resetToken(server(), account.email, already);
        const password = strongPassword();
        assert.equal((await post(server(), '/api/reset-password', { token, password })).status, 200);
        await logIn(server(), { email: account.email, password });
      });
    });

    describe('invalid tokens per client', () => {
      test('after 5 invalid_token answers from /api/confirm and /api/reset-password together, every redemption from that client is 429, a valid token included', async () => {
        const pending = await newAccount(server(), { confirmed: false });
        const token = tokenFromLink(server().smtp.to(pending.email)[0]!.links.find((l) => l.startsWith(`${testBaseUrl}/confirm?`))!);
        const client = freshClient();
        for (let i = 0; i < 5; i += 1) {
          const [path, body] = i % 2 === 0 ? ['/api/confirm', { token: `guess-${i}` }] : ['/api/reset-password', { token: `guess-${i}`, password: strongPassword() }];
          assertProblem(await post(server(), path, body, { client }), 400, 'invalid_token');
        }
        assertRateLimited(await post(server(), '/api/confirm', { token }, { client }), 60);
        assertRateLimited(await post(server(), '/api/reset-password', { token: 'guess', password: strongPassword() }, { client }), 60);
        assert.equal((await post(server(), '/api/confirm', { token })).status, 200, 'another client redeems it');
      });

      test('valid redemptions and refused passwords do not count toward the invalid-token limit', async () => {
        const client = freshClient();
        const guess = () => post(server(), '/api/confirm', { token: 'no-such-token' }, { client });
        for (let i = 0; i < 4; i += 1) assert.equal((await guess()).status, 400);
        const pending = await newAccount(server(), { confirmed: false });
        const token = tokenFromLink(server().smtp.to(pending.email)[0]!.links.find((l) => l.startsWith(`${testBaseUrl}/confirm?`))!);
        assert.equal((await post(server(), '/api/confirm', { token }, { client })).status, 200);
        const already = server().smtp.to(pending.email).length;
        assert.equal((await post(server(), '/api/reset-password-request', { email: pending.email })).status, 202);
        const reset = await resetToken(server(), pending.email, already);
        assertProblem(await post(server(), '/api/reset-password', { token: reset, password: 'short' }, { client }), 422, 'validation_failed');
        assert.equal((await guess()).status, 400, 'the fifth invalid token is still answered');
        assertRateLimited(await guess(), 60);
      });
    });

    if (backend === 'redis') {
      test('the counters live in Redis under REDIS_KEY_PREFIX and hold no address or client address in the clear', async () => {
        const email = uniqueEmail('stored');
        const client = freshClient();
        assert.equal((await post(server(), '/api/reset-password-request', { email }, { client })).status, 202);
        const keys = await redisKeys(`${runPrefix}main:`);
        assert.ok(keys.some((key) => key.startsWith(`${runPrefix}main:rate-limit:mail-per-address:`)), 'a per-address counter');
        assert.ok(keys.some((key) => key.startsWith(`${runPrefix}main:rate-limit:ip-per-minute:`)), 'a per-client counter');
        for (const key of keys) {
          assert.equal(key.includes('@') || key.includes(client) || key.includes('10.'), false, key);
        }
      });
    }
  });
}

for (const backend of backends) {
  describe(`limits lift when their window passes, in ${backend}`, { skip: backend === 'redis' ? redisSkip : false }, () => {
    let server: TestServer;
    before(async () => {
      server = await startServer('sqlite', envFor(backend, briefWindows, 'brief'));
    });
    after(() => server?.stop());

    test('the per-address mail limit and the log-in throttle lift when their fixed window ends, not later', async () => {
      const email = uniqueEmail('window');
      const account = await newAccount(server);
      assert.equal((await post(server, '/api/reset-password-request', { email })).status, 202);
      for (let i = 0; i < 4; i += 1) await post(server, '/api/sessions', { email: account.email, password: strongPassword() });
      await sleep(1500);
      for (let i = 0; i < 2; i += 1) assert.equal((await post(server, '/api/reset-password-request', { email })).status, 202);
      // A fixed window counts from its first request: what is left of it, not a fresh 4 s.
      const mailWait = assertRateLimited(await post(server, '/api/reset-password-request', { email }), 3);
      const loginWait = assertRateLimited(await post(server, '/api/sessions', { email: account.email, password: account.password }), 3);
      await sleep(Math.max(mailWait, loginWait) * 1000 + 200);
      assert.equal((await post(server, '/api/reset-password-request', { email })).status, 202);
      await logIn(server, account);
    });
  });
}

describe('without TRUST_PROXY', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer('sqlite', { ...limits, TRUST_PROXY: 'false' });
  });
  after(() => server?.stop());

  test('X-Forwarded-For is not believed: every request counts for the socket address', async () => {
    for (let i = 0; i < 6; i += 1) {
      assert.equal((await post(server, '/api/resend-confirm', { email: uniqueEmail('proxy') })).status, 202);
    }
    assertRateLimited(await post(server, '/api/resend-confirm', { email: uniqueEmail('proxy') }), 60);
  });
});

describe('RATE_LIMITS=off', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer('sqlite', { ...limits, RATE_LIMITS: 'off' });
  });
  after(() => server?.stop());

  test('no limit applies: ten reset requests for one address from one client are all 202, ten failed log-ins all 401', async () => {
    const email = uniqueEmail('off');
    const client = freshClient();
    for (let i = 0; i < 10; i += 1) assert.equal((await post(server, '/api/reset-password-request', { email }, { client })).status, 202);
    for (let i = 0; i < 10; i += 1) assert.equal((await post(server, '/api/sessions', { email, password: strongPassword() }, { client })).status, 401);
  });
});

describe('when Redis goes away', { skip: redisSkip }, () => {
  let proxy: RedisProxy;
  let server: TestServer;
  before(async () => {
    proxy = await startRedisProxy();
    server = await startServer('sqlite', { ...limits, REDIS_URL: proxy.url, REDIS_KEY_PREFIX: `${runPrefix}outage:` });
  });
  after(async () => {
    await server?.stop();
  });

  test('each instance keeps counting on its own: requests are still answered, and still limited', async () => {
    const email = uniqueEmail('outage');
    assert.equal((await post(server, '/api/reset-password-request', { email })).status, 202);
    await proxy.cut();
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await post(server, '/api/reset-password-request', { email })).status);
    // The count that Redis held is out of reach: the fallback starts afresh.
    assert.deepEqual(statuses, [202, 202, 202, 429]);
  });
});

describe('two instances on one Redis', { skip: redisSkip || postgresSkip }, () => {
  let first: TestServer;
  let second: Running;
  const env = { ...limits, REDIS_URL: testRedisUrl, REDIS_KEY_PREFIX: `${runPrefix}shared:` };

  before(async () => {
    first = await startServer('postgres', env);
    second = await serve(loadConfig({
      PORT: '0',
      BASE_URL: testBaseUrl,
      DATABASE_URL: first.database.url,
      MAIL_SERVER: '127.0.0.1',
      MAIL_PORT: String(first.smtp.port),
      LOG_LEVEL: 'silent',
      SECRET_KEY: testSecretKey,
      MANAGEMENT_PORT: '0',
      ...env,
    }));
  });

  after(async () => {
    await second?.stop();
    await first?.stop();
  });

  const through = (instance: 'first' | 'second', path: string, body: unknown) =>
    request(instance === 'first' ? first.url : second.address, 'POST', path, { body, headers: { 'x-forwarded-for': freshClient() } });

  test('the per-address mail limit is shared: the 4th request through either instance is 429 and sends no 4th mail', async () => {
    const known = await newAccount(first);
    const unknown = uniqueEmail('shared');
    for (const [email, order] of [[known.email, ['first', 'second', 'first', 'second']], [unknown, ['second', 'first', 'second', 'first']]] as const) {
      const statuses = [];
      for (const instance of order) statuses.push((await through(instance, '/api/reset-password-request', { email })).status);
      assert.deepEqual(statuses, [202, 202, 202, 429], email);
    }
    await first.smtp.waitForMailTo(known.email, 3);
    assert.equal(await outboxTo(first, known.email), 1 + 3, 'the confirmation and three reset links, no fourth');
    assert.equal(first.smtp.to(known.email).length, 1 + 3);
    assert.equal(await outboxTo(first, unknown), 0);
  });

  test('failed log-ins are shared: failures on both instances add up to one throttle', async () => {
    const account = await newAccount(first);
    for (const instance of ['first', 'second', 'first', 'second'] as const) {
      assert.equal((await through(instance, '/api/sessions', { email: account.email, password: strongPassword() })).status, 401);
    }
    assertRateLimited(await through('first', '/api/sessions', { email: account.email, password: account.password }), 900);
    assertRateLimited(await through('second', '/api/sessions', { email: account.email, password: account.password }), 900);
  });
});

describe('start-up', () => {
  test('serve with RATE_LIMITS=off logs a warning that every limit is disabled', { timeout: 30_000 }, async () => {
    const { listened, output } = await serveOutput({ RATE_LIMITS: 'off' });
    assert.ok(listened, output);
    const warning = output.split('\n').find((line) => line.includes('RATE_LIMITS=off'));
    assert.ok(warning !== undefined, output);
    assert.equal(JSON.parse(warning).level, 40, 'logged at warn level');
  });

  test('serve with rate limits on logs no such warning', { timeout: 30_000 }, async () => {
    const { listened, output } = await serveOutput({});
    assert.ok(listened, output);
    assert.doesNotMatch(output, /RATE_LIMITS=off/);
  });

  test('serve with a REDIS_URL nothing answers at exits non-zero naming REDIS_URL', { timeout: 30_000 }, async () => {
    assertRefusedToStart(await serveOutput({ REDIS_URL: 'redis://127.0.0.1:1' }), 'REDIS_URL');
  });
});

// Last, so that every other test of the file runs while the minute passes.
describe('per-minute limits', () => {
  test('the per-client and invalid-token limits lift once their minute has passed', { timeout: 90_000 }, async () => {
    for (const { backend, resetClient, tokenClient, until } of minuteLater) {
      await sleep(Math.max(0, until - Date.now() + 200));
      const server = servers.get(backend)!;
      assert.equal((await post(server, '/api/reset-password-request', { email: uniqueEmail('minute') }, { client: resetClient })).status, 202, backend);
      assertProblem(await post(server, '/api/confirm', { token: 'no-such-token' }, { client: tokenClient }), 400, 'invalid_token');
    }
    assert.equal(minuteLater.length, redisSkip === false ? 2 : 1);
  });
});
