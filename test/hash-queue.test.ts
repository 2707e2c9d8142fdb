// API.md, Passwords: at most HASH_QUEUE_MAX hashings wait for a thread; one
// more is answered at once with 503 unavailable and Retry-After, whatever the
// address, and the rest of the server keeps answering. The attack: a flood of
// simultaneous log-ins that would queue hashing without end (issue 10, point 3).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, strongPassword, uniqueEmail, type Account } from './support/accounts.ts';
import { assertProblem } from './support/assertions.ts';
import { FormClient, csrfOf } from './support/forms.ts';
import { startServer, type TestResponse, type TestServer } from './support/latchkey.ts';

const flood = 150;

function assertRetryAfter(headers: Headers): void {
  assert.match(headers.get('retry-after') ?? '', /^[1-9]\d*$/, 'Retry-After in whole seconds');
}

describe('a flood of log-ins with HASH_QUEUE_MAX=20', () => {
  let server: TestServer;
  let account: Account;
  before(async () => {
    server = await startServer('sqlite', { HASH_QUEUE_MAX: '20' });
    account = await createAccount(server);
  });
  after(() => server?.stop());

  test('150 simultaneous log-ins: some 503 unavailable with Retry-After, no 500, the rest answered as usual, and /api/health answers meanwhile', { timeout: 120_000 }, async () => {
    let answered = 0;
    let health: Promise<{ response: TestResponse; answeredBefore: number }> | undefined;
    const bodies = Array.from({ length: flood }, (_, i) => [
      { email: account.email, password: account.password },
      { email: account.email, password: strongPassword() },
      { email: uniqueEmail('flood'), password: strongPassword() },
    ][i % 3]!);
    const responses = await Promise.all(bodies.map(async (body) => {
      const response = await server.request('POST', '/api/sessions', { body });
      answered += 1;
      // The first refusal shows the queue is full: the health check is asked while the flood is in flight.
      if (response.status === 503) {
        health ??= server.request('GET', '/api/health').then((h) => ({ response: h, answeredBefore: answered }));
      }
      return { body, response };
    }));

    const refused = responses.filter(({ response }) => response.status === 503);
    assert.ok(refused.length > 0, 'some log-ins are refused with 503');
    for (const { response } of refused) {
      assertProblem(response, 503, 'unavailable');
      assertRetryAfter(response.headers);
    }
    for (const { body, response } of responses.filter(({ response }) => response.status !== 503)) {
      if (body.password === account.password) assert.equal(response.status, 201, response.text);
      else assertProblem(response, 401, 'invalid_credentials');
    }
    assert.ok(health !== undefined);
    const checked = await health;
    assert.equal(checked.response.status, 200, checked.response.text);
    assert.equal(checked.response.json.status, 'ok');
    assert.ok(checked.answeredBefore < flood, `/api/health answered while log-ins were still waiting (${checked.answeredBefore} of ${flood} answered)`);
  });

  test('150 simultaneous log-in forms: the refused ones get the HTML error page, 503 with Retry-After', { timeout: 120_000 }, async () => {
    const browser = new FormClient(server.url);
    const csrf = csrfOf((await browser.get('/login')).text, '/login');
    const responses = await Promise.all(Array.from({ length: flood }, () =>
      browser.post('/login', { _csrf: csrf, email: uniqueEmail('form-flood'), password: strongPassword() })));
    const refused = responses.filter((response) => response.status === 503);
    assert.ok(refused.length > 0, 'some forms are refused with 503');
    for (const response of refused) {
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(response.text, /Service unavailable/);
      assertRetryAfter(response.headers);
    }
    // The others are the login form again, saying the password is wrong: no 500 among them.
    for (const response of responses) assert.ok(response.status === 503 || response.status === 401, `${response.status}`);
  });
});
