// API.md, Rate limits and Configuration: the client is the socket's address
// unless TRUST_PROXY names the proxy (addresses, CIDR ranges or a hop count);
// TRUST_PROXY=true, which believed anyone's X-Forwarded-For, is refused. The
// attack: rotating X-Forwarded-For to get a fresh per-client count with every
// request (issue 10, point 6).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { uniqueEmail } from './support/accounts.ts';
import { assertProblem } from './support/assertions.ts';
import { request, startServer, type TestResponse, type TestServer } from './support/latchkey.ts';
import { until } from './support/process.ts';
import { assertRefusedToStart, serveOutput, startServe, type ServeProcess } from './support/serve-process.ts';

const limits = { RATE_LIMITS: 'on', RATE_LIMIT_IP_PER_MINUTE: '2' };

let clients = 0;
function freshClient(): string {
  clients += 1;
  return `198.51.${clients >> 8}.${clients & 255}`;
}

/** A request that costs nothing but its per-client count (and sends no mail: the address has no account). */
function resend(base: string, forwardedFor?: string): Promise<TestResponse> {
  return request(base, 'POST', '/api/resend-confirm', { body: { email: uniqueEmail('proxy') }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } });
}

test('serve with TRUST_PROXY=true exits non-zero with one line naming TRUST_PROXY', { timeout: 30_000 }, async () => {
  const outcome = await serveOutput({ TRUST_PROXY: 'true' });
  assertRefusedToStart(outcome, 'TRUST_PROXY');
  assert.equal(outcome.output.trim().split('\n').length, 1, outcome.output);
});

for (const trustProxy of ['127.0.0.1', '127.0.0.0/8', '1']) {
  describe(`TRUST_PROXY=${trustProxy}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startServer('sqlite', { ...limits, TRUST_PROXY: trustProxy });
    });
    after(() => server?.stop());

    test('X-Forwarded-For decides the client: its 3rd request in a minute is 429, another client is served', async () => {
      const client = freshClient();
      for (let i = 0; i < 2; i += 1) assert.equal((await resend(server.url, client)).status, 202);
      assertProblem(await resend(server.url, client), 429, 'rate_limited');
      assert.equal((await resend(server.url, freshClient())).status, 202);
    });

    test('only the hops the proxy added are believed: a client forging entries to the left of its own is still itself', async () => {
      const client = freshClient();
      const statuses = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await resend(server.url, `203.0.113.${i + 1}, ${client}`)).status);
      assert.deepEqual(statuses, [202, 202, 429]);
    });
  });
}

describe('TRUST_PROXY unset (latchkey serve)', () => {
  let serve: ServeProcess;
  let url: string;
  before(async () => {
    serve = startServe(limits);
    url = await serve.listening;
  });
  after(() => serve?.stop());

  test('rotating X-Forwarded-For does not dodge the per-client limit, and a warning that the header is ignored is logged once', { timeout: 30_000 }, async () => {
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await resend(url, freshClient())).status);
    assert.deepEqual(statuses, [202, 202, 429, 429]);
    // The log comes through a pipe of its own: wait for it rather than for a fixed time.
    const warnings = () => serve.output().split('\n').filter((line) => line.includes('X-Forwarded-For'));
    await until('the warning logged', () => warnings().length > 0, 5000).catch(() => {});
    assert.equal(warnings().length, 1, serve.output());
    const warning = JSON.parse(warnings()[0]!) as { level: number; msg: string };
    assert.equal(warning.level, 40, 'at warn level');
    assert.match(warning.msg, /ignored/);
    assert.match(warning.msg, /TRUST_PROXY=/);
  });
});
