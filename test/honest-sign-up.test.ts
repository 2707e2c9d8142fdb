// API.md, Rate limits: the per-address mail limit counts requests that pass
// validation; a refused form (422: a weak password, one too short, two that
// differ) counts nothing. The harm: three typos used to spend the address's
// three requests, and the valid fourth was refused with no mail (issue 10, point 12).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { strongPassword, uniqueEmail } from './support/accounts.ts';
import { assertProblem, assertValidation } from './support/assertions.ts';
import { FormClient } from './support/forms.ts';
import { startServer, testBaseUrl, type TestServer } from './support/latchkey.ts';

describe('refused sign-ups do not count against the address (default limits)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer('sqlite', { RATE_LIMITS: 'on' });
  });
  after(() => server?.stop());

  test('API: a weak password, a short one and a bad confirm_url are 422, then a valid sign-up is 202 and mailed; the 4th valid one is 429', async () => {
    const email = uniqueEmail('typos');
    const signUp = (body: Record<string, string>) => server.request('POST', '/api/users', { body: { email, ...body } });
    assertValidation(await signUp({ password: 'password1' }), ['password']);
    assertValidation(await signUp({ password: 'Ab1!' }), ['password']);
    assertValidation(await signUp({ password: strongPassword(), confirm_url: 'https://evil.example/{token}' }), ['confirm_url']);
    assert.equal((await signUp({ password: strongPassword() })).status, 202);
    const mail = await server.smtp.waitForMailTo(email, 0);
    assert.ok(mail.links.some((link) => link.startsWith(`${testBaseUrl}/confirm?token=`)), 'the confirmation link arrived');
    for (let i = 0; i < 2; i += 1) assert.equal((await signUp({ password: strongPassword() })).status, 202);
    assertProblem(await signUp({ password: strongPassword() }), 429, 'rate_limited');
  });

  test('the /register form: passwords that differ, a weak one and a short one are 422, then a valid sign-up redirects and is mailed; the 4th valid one is 429', async () => {
    const email = uniqueEmail('form-typos');
    const browser = new FormClient(server.url);
    const register = (password: string, repeated = password) => browser.submit('/register', { email, password, password_confirmation: repeated });
    const password = strongPassword();
    for (const response of [await register(password, `${password}x`), await register('password1'), await register('Ab1!')]) {
      assert.equal(response.status, 422, response.text.slice(0, 300));
    }
    const accepted = await register(strongPassword());
    assert.equal(accepted.status, 303);
    assert.equal(accepted.location, '/login');
    const mail = await server.smtp.waitForMailTo(email, 0);
    assert.ok(mail.links.some((link) => link.startsWith(`${testBaseUrl}/confirm?token=`)), 'the confirmation link arrived');
    for (let i = 0; i < 2; i += 1) assert.equal((await register(strongPassword())).status, 303);
    const refused = await register(strongPassword());
    assert.equal(refused.status, 429);
    assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
  });
});
