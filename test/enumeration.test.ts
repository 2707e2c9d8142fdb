// API.md: nothing in an answer tells whether an address has an account.
// Every endpoint that takes an address answers known and unknown ones with
// the same status, the same headers (Date aside) and byte-identical bodies.
// Equal timing is asserted by test/timing.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, logIn, strongPassword, uniqueEmail, type Account } from './support/accounts.ts';
import { assertMessage, assertProblem, headersButDate } from './support/assertions.ts';
import { eachDatabase } from './support/databases.ts';
import { startServer, type TestResponse, type TestServer } from './support/latchkey.ts';

/** Every response is the `status` the endpoint must give, and all are alike (equal answers that are all wrong prove nothing). */
function assertIndistinguishable(status: number, responses: Record<string, TestResponse>): void {
  const [[firstName, first], ...rest] = Object.entries(responses) as [[string, TestResponse], ...[string, TestResponse][]];
  assert.equal(first.status, status, `${firstName}: expected ${status}, got ${first.status} ${first.text}`);
  if (status === 202) assertMessage(first, 202);
  for (const [name, response] of rest) {
    assert.equal(response.status, first.status, `${name} vs ${firstName}: status`);
    assert.equal(response.text, first.text, `${name} vs ${firstName}: body`);
    assert.deepEqual(headersButDate(response), headersButDate(first), `${name} vs ${firstName}: headers`);
  }
}

eachDatabase((kind, skip) => {
  describe(`account enumeration on ${kind}`, { skip }, () => {
    let server: TestServer;
    let confirmed: Account;
    let pending: Account;

    before(async () => {
      server = await startServer(kind);
      confirmed = await createAccount(server);
      pending = await createAccount(server, { confirmed: false });
    });

    after(() => server?.stop());

    const post = (path: string, body: unknown, token?: string) => server.request('POST', path, token === undefined ? { body } : { body, token });

    test('POST /api/users answers a confirmed, an unconfirmed and a new address alike', async () => {
      assertIndistinguishable(202, {
        confirmed: await post('/api/users', { email: confirmed.email, password: strongPassword() }),
        unconfirmed: await post('/api/users', { email: pending.email, password: strongPassword() }),
        new: await post('/api/users', { email: uniqueEmail('fresh'), password: strongPassword() }),
        'new, other case': await post('/api/users', { email: uniqueEmail('Fresh').toUpperCase(), password: strongPassword() }),
      });
    });

    test('POST /api/resend-confirm answers a confirmed, an unconfirmed and an unknown address alike', async () => {
      assertIndistinguishable(202, {
        confirmed: await post('/api/resend-confirm', { email: confirmed.email }),
        unconfirmed: await post('/api/resend-confirm', { email: pending.email }),
        unknown: await post('/api/resend-confirm', { email: uniqueEmail('nobody') }),
      });
    });

    test('POST /api/reset-password-request answers a confirmed, an unconfirmed and an unknown address alike', async () => {
      assertIndistinguishable(202, {
        confirmed: await post('/api/reset-password-request', { email: confirmed.email }),
        unconfirmed: await post('/api/reset-password-request', { email: pending.email }),
        unknown: await post('/api/reset-password-request', { email: uniqueEmail('nobody') }),
      });
    });

    test('POST /api/sessions answers an unknown address and a wrong password alike', async () => {
      const responses = {
        'wrong password': await post('/api/sessions', { email: confirmed.email, password: strongPassword() }),
        'unknown address': await post('/api/sessions', { email: uniqueEmail('nobody'), password: strongPassword() }),
        'unconfirmed, wrong password': await post('/api/sessions', { email: pending.email, password: strongPassword() }),
      };
      assertProblem(responses['wrong password'], 401, 'invalid_credentials');
      assertIndistinguishable(401, responses);
    });

    test('POST /api/update-email answers a free and a taken new address alike', async () => {
      const mover = await createAccount(server);
      const session = await logIn(server, mover.email, mover.password);
      assertIndistinguishable(202, {
        free: await post('/api/update-email', { new_email: uniqueEmail('free'), password: mover.password }, session),
        'taken by a confirmed account': await post('/api/update-email', { new_email: confirmed.email, password: mover.password }, session),
        'taken by an unconfirmed account': await post('/api/update-email', { new_email: pending.email, password: mover.password }, session),
      });
    });
  });
});
