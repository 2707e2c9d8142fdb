// API.md "Operations": /metrics and the detailed health live on the management
// listener (MANAGEMENT_HOST:MANAGEMENT_PORT, 127.0.0.1 by default). The public
// listener tells a stranger nothing that moves with mail: before v2 the public
// /metrics counted `account_exists` apart from `confirm` and /api/health
// showed the outbox depth, so a sign-up told whether an address had an
// account (issue 10, point 4). Spawned-CLI checks (the default host, `off`)
// are in test/cli.test.ts.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { createAccount, strongPassword, uniqueEmail } from './support/accounts.ts';
import { assertProblem } from './support/assertions.ts';
import { eachDatabase } from './support/databases.ts';
import { request, startServer, type TestResponse, type TestServer } from './support/latchkey.ts';
import { skipUnlessRedis, testRedisUrl } from './support/redis.ts';
import { freePort } from './support/process.ts';
import { SmtpSink } from './support/smtp-sink.ts';

const redisSkip = await skipUnlessRedis();

/** What a stranger can read on the public listener: status, type and body of both endpoints. */
async function publicView(server: TestServer) {
  const view = (r: TestResponse) => ({ status: r.status, type: r.headers.get('content-type'), body: r.text });
  return {
    health: view(await server.request('GET', '/api/health')),
    metrics: view(await server.request('GET', '/metrics')),
  };
}

/** Polls the management listener until `check` accepts the answer (or 10 s pass; the last answer is returned). */
async function managementUntil(server: TestServer, path: string, check: (response: TestResponse) => boolean): Promise<TestResponse> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await request(server.running.managementAddress!, 'GET', path);
    if (check(response) || Date.now() > deadline) return response;
    await sleep(50);
  }
}

const refuse = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

describe('the public listener while strangers sign up a known and an unknown address', () => {
  let server: TestServer;
  before(async () => { server = await startServer('sqlite'); });
  after(() => server?.stop());

  test('/api/health and /metrics read the same before and after both sign-ups: {"status":"ok"} and a 404', async () => {
    const known = await createAccount(server);
    const unknown = uniqueEmail('stranger');
    const untouched = await publicView(server);

    const first = await server.request('POST', '/api/users', { body: { email: unknown, password: strongPassword() } });
    assert.equal(first.status, 202, first.text);
    await server.smtp.waitForMailTo(unknown);
    const afterUnknown = await publicView(server);

    const second = await server.request('POST', '/api/users', { body: { email: known.email, password: strongPassword() } });
    assert.equal(second.status, 202, second.text);
    await server.smtp.waitForMailTo(known.email, 1);
    const afterKnown = await publicView(server);

    assert.deepEqual(untouched.health, { status: 200, type: 'application/json; charset=utf-8', body: '{"status":"ok"}' });
    assert.equal(untouched.metrics.status, 404);
    assert.match(untouched.metrics.type ?? '', /^application\/problem\+json/);
    assert.equal(JSON.parse(untouched.metrics.body).code, 'not_found');
    assert.deepEqual(afterUnknown, untouched, 'a sign-up of a new address changes nothing a stranger can read');
    assert.deepEqual(afterKnown, untouched, 'a sign-up of a known address changes nothing a stranger can read');

    // The operator still sees both deliveries, on the management listener.
    const metrics = await managementUntil(server, '/metrics', (r) => /^latchkey_mail_deliveries_total\{kind="account_exists",outcome="sent"\} 1$/m.test(r.text));
    assert.match(metrics.text, /^latchkey_mail_deliveries_total\{kind="account_exists",outcome="sent"\} 1$/m);
    assert.match(metrics.text, /^latchkey_mail_deliveries_total\{kind="confirm",outcome="sent"\} 2$/m);
  });
});

eachDatabase((kind, skip) => {
  describe(`the management listener on ${kind}`, { skip }, () => {
    let server: TestServer;
    let smtp: SmtpSink;
    before(async () => {
      // Addresses starting with "refused" are refused at RCPT TO for good (550).
      smtp = await new SmtpSink({ server: {
        onRcptTo(address, _session, callback) {
          callback(address.address.startsWith('refused') ? refuse(550, '5.1.1 No such user here') : null);
        },
      } }).start();
      server = await startServer(kind, { MAIL_PORT: String(smtp.port) });
    });
    after(async () => {
      await server?.stop();
      await smtp?.stop();
    });

    test('it listens on 127.0.0.1 when MANAGEMENT_HOST is not set', () => {
      assert.match(server.running.managementAddress ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    });

    test('GET /health is 200 JSON: database ok, the outbox counts, the webhook deliveries (none without WEBHOOK_URL), no redis without REDIS_URL', async () => {
      const response = await request(server.running.managementAddress!, 'GET', '/health');
      assert.equal(response.status, 200, response.text);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json\b/);
      assert.deepEqual(response.json, {
        status: 'ok',
        database: { status: 'ok' },
        outbox: { pending: 0, due: 0, failed: 0, oldest_due_seconds: 0 },
        webhooks: { pending: 0, due: 0, failed: 0, oldest_due_seconds: 0 },
      });
    });

    test('GET /health counts a message the mail server refused for good as failed', async () => {
      const refused = uniqueEmail('refused');
      const response = await server.request('POST', '/api/users', { body: { email: refused, password: strongPassword() } });
      assert.equal(response.status, 202, response.text);
      const health = await managementUntil(server, '/health', (r) => r.json?.outbox?.failed === 1);
      assert.equal(health.status, 200, health.text);
      assert.deepEqual(health.json.outbox, { pending: 0, due: 0, failed: 1, oldest_due_seconds: 0 });
      // And the public side still says only this.
      assert.equal((await server.request('GET', '/api/health')).text, '{"status":"ok"}');
    });

    test('GET /metrics is Prometheus text with the delivery counters', async () => {
      const response = await managementUntil(server, '/metrics', (r) => /^latchkey_mail_deliveries_total\{kind="confirm",outcome="failed"\} 1$/m.test(r.text));
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(response.text, /^latchkey_mail_deliveries_total\{kind="confirm",outcome="failed"\} 1$/m);
    });

    test('the public routes are not on the management listener, and its unknown paths are 404 problem+json', async () => {
      const management = server.running.managementAddress!;
      for (const path of ['/api/health', '/openapi.json', '/no-such-path']) assertProblem(await request(management, 'GET', path), 404, 'not_found');
    });
  });

  describe(`the management /health without a database on ${kind}`, { skip }, () => {
    let server: TestServer;
    before(async () => { server = await startServer(kind); });
    after(async () => {
      // The database is gone on purpose, so closing the server may complain.
      await server?.running.stop().catch(() => {});
      await server?.smtp.stop();
      await server?.database.drop();
    });

    test('is 503 JSON naming the database unreachable, with no outbox counts', async () => {
      if (kind === 'postgres') await server.database.drop();
      else await server.running.store.close();
      const response = await request(server.running.managementAddress!, 'GET', '/health');
      assert.equal(response.status, 503, response.text);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json\b/);
      assert.deepEqual(response.json, { status: 'unavailable', database: { status: 'unreachable' }, outbox: null, webhooks: null });
    });
  });
});

describe('the management /health with REDIS_URL', () => {
  test('a reachable Redis is reported ok', { skip: redisSkip }, async () => {
    const server = await startServer('sqlite', { REDIS_URL: testRedisUrl });
    try {
      const response = await request(server.running.managementAddress!, 'GET', '/health');
      assert.equal(response.status, 200, response.text);
      assert.deepEqual(response.json.redis, { status: 'ok' });
    } finally {
      await server.stop();
    }
  });

  test('a Redis that cannot be reached makes it 503, naming Redis', async () => {
    // Rate limits are off in test servers, so nothing else needs this Redis at start-up.
    const server = await startServer('sqlite', { REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    try {
      const response = await request(server.running.managementAddress!, 'GET', '/health');
      assert.equal(response.status, 503, response.text);
      assert.equal(response.json.status, 'unavailable');
      assert.deepEqual(response.json.database, { status: 'ok' });
      assert.deepEqual(response.json.redis, { status: 'unreachable' });
    } finally {
      await server.stop();
    }
  });
});

describe('MANAGEMENT_PORT=off', () => {
  test('starts no management listener', async () => {
    const server = await startServer('sqlite', { MANAGEMENT_PORT: 'off' });
    try {
      assert.equal(server.running.managementAddress, undefined);
      assertProblem(await server.request('GET', '/metrics'), 404, 'not_found');
    } finally {
      await server.stop();
    }
  });
});
