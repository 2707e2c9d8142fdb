// API.md, Rate limits: a wrong current password on update-password or
// update-email is a failed log-in of the account, and those endpoints (and
// their forms, sharing the counter) have a per-client limit. The attack: a
// stolen session guessing the password without end (issue 10, point 3).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, strongPassword, type Account } from './support/accounts.ts';
import { assertProblem } from './support/assertions.ts';
import { FormClient } from './support/forms.ts';
import { startServer, type TestResponse, type TestServer } from './support/latchkey.ts';

let clients = 0;
/** A client address of its own for each test, so that per-client counts never meet. */
function freshClient(): string {
  clients += 1;
  return `10.20.${clients >> 8}.${clients & 255}`;
}

function assertThrottled(response: TestResponse): void {
  assertProblem(response, 429, 'rate_limited');
  const seconds = Number(response.headers.get('retry-after'));
  assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 900, `Retry-After within the 900 s window: ${response.headers.get('retry-after')}`);
}

describe('wrong current passwords count as failed log-ins (default limits)', () => {
  let server: TestServer;
  before(async () => {
    // Default limits; the loopback is the proxy so that each test is a client of its own.
    server = await startServer('sqlite', { RATE_LIMITS: 'on', TRUST_PROXY: '127.0.0.1,::1' });
  });
  after(() => server?.stop());

  async function signedIn(client: string): Promise<Account & { session: string }> {
    const account = await createAccount(server);
    const response = await server.request('POST', '/api/sessions', { body: account, headers: { 'x-forwarded-for': client } });
    assert.equal(response.status, 201, response.text);
    return { ...account, session: response.json.token as string };
  }

  const guesses: [string, (account: Account, password: string) => Record<string, string>][] = [
    ['/api/update-password', (_account, password) => ({ current_password: password, new_password: strongPassword() })],
    ['/api/update-email', (_account, password) => ({ new_email: `moved-${Math.random().toString(36).slice(2)}@example.com`, password })],
  ];
  for (const [path, body] of guesses) {
    test(`ten wrong passwords on ${path}, then log-in with the right password is 429 with Retry-After`, async () => {
      const client = freshClient();
      const account = await signedIn(client);
      const send = (password: string) => server.request('POST', path, { token: account.session, body: body(account, password), headers: { 'x-forwarded-for': client } });
      for (let i = 0; i < 10; i += 1) assertProblem(await send(strongPassword()), 401, 'invalid_credentials');
      assertThrottled(await send(account.password));
      // From another client too: the count is the account's, not the client's.
      assertThrottled(await server.request('POST', '/api/sessions', { body: { email: account.email, password: account.password }, headers: { 'x-forwarded-for': freshClient() } }));
    });
  }

  test('a right current password is not counted', async () => {
    const client = freshClient();
    const account = await signedIn(client);
    const send = (current: string, next = strongPassword()) =>
      server.request('POST', '/api/update-password', { token: account.session, body: { current_password: current, new_password: next }, headers: { 'x-forwarded-for': client } });
    for (let i = 0; i < 9; i += 1) assertProblem(await send(strongPassword()), 401, 'invalid_credentials');
    const changed = strongPassword();
    assert.equal((await send(account.password, changed)).status, 200);
    assertProblem(await send(strongPassword()), 401, 'invalid_credentials');
    assertThrottled(await server.request('POST', '/api/sessions', { body: { email: account.email, password: changed }, headers: { 'x-forwarded-for': freshClient() } }));
  });
});

describe('per-client limits on changing the password and the address', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer('sqlite', { RATE_LIMITS: 'on', TRUST_PROXY: '127.0.0.1,::1', RATE_LIMIT_IP_PER_MINUTE: '4' });
  });
  after(() => server?.stop());

  // Refused bodies (422) cost no password check, so only the per-client count can stop them.
  const endpoints = [
    { api: '/api/update-password', form: '/account/password', refused: (a: Account) => ({ current_password: a.password, new_password: 'short' }), formFields: (a: Account) => ({ current_password: a.password, new_password: 'short', new_password_confirmation: 'short' }) },
    { api: '/api/update-email', form: '/account/email', refused: (a: Account) => ({ new_email: a.email, password: a.password }), formFields: (a: Account) => ({ new_email: a.email, password: a.password }) },
  ];
  for (const { api, form, refused, formFields } of endpoints) {
    test(`${api} and the form ${form} share one count per client: the 5th request in a minute is 429`, async () => {
      const client = freshClient();
      const account = await createAccount(server);
      const browser = new FormClient(server.url, { 'x-forwarded-for': client });
      assert.equal((await browser.submit('/login', { email: account.email, password: account.password })).status, 303);
      const logIn = await server.request('POST', '/api/sessions', { body: account, headers: { 'x-forwarded-for': freshClient() } });
      const viaApi = () => server.request('POST', api, { token: logIn.json.token, body: refused(account), headers: { 'x-forwarded-for': client } });
      const viaForm = () => browser.submit('/account', formFields(account), form);
      for (let i = 0; i < 2; i += 1) assertProblem(await viaApi(), 422, 'validation_failed');
      for (let i = 0; i < 2; i += 1) assert.equal((await viaForm()).status, 422);
      assertThrottled(await viaApi());
      const page = await viaForm();
      assert.equal(page.status, 429);
      assert.match(page.headers.get('retry-after') ?? '', /^\d+$/);
      assertProblem(await server.request('POST', api, { token: logIn.json.token, body: refused(account), headers: { 'x-forwarded-for': freshClient() } }), 422, 'validation_failed');
    });
  }
});
