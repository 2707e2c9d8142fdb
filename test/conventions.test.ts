// API.md, Conventions: what every JSON endpoint does with its body, its
// errors, its origin and its CORS headers, whatever the endpoint.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, logIn, strongPassword, uniqueEmail, type Account } from './support/accounts.ts';
import { assertMessage, assertProblem, assertValidation } from './support/assertions.ts';
import { eachDatabase } from './support/databases.ts';
import { startServer, testBaseUrl, type TestResponse, type TestServer } from './support/latchkey.ts';
import { assertNoNewMail, mailCounts } from './support/mail-barrier.ts';
import { rawRequest } from './support/raw-request.ts';

const appOrigin = 'https://app.example.test';
const devOrigin = 'http://localhost:5173';

type Endpoint = {
  path: string;
  session: boolean;
  required: string[];
  /** A body that passes validation, so a test can break exactly one field. */
  valid(): Record<string, unknown>;
};

eachDatabase((kind, skip) => {
  describe(`conventions on ${kind}`, { skip }, () => {
    let server: TestServer;
    let known: Account;
    let pending: Account;
    let session: string;
    let endpoints: Endpoint[];

    before(async () => {
      server = await startServer(kind, { ALLOWED_ORIGINS: `${appOrigin},${devOrigin}` });
      known = await createAccount(server);
      pending = await createAccount(server, { confirmed: false });
      session = await logIn(server, known.email, known.password);
      endpoints = [
        { path: '/api/users', session: false, required: ['email', 'password'], valid: () => ({ email: uniqueEmail(), password: strongPassword(), name: 'Valid Name', confirm_url: `${appOrigin}/confirm` }) },
        { path: '/api/confirm', session: false, required: ['token'], valid: () => ({ token: 'no-such-token' }) },
        { path: '/api/resend-confirm', session: false, required: ['email'], valid: () => ({ email: uniqueEmail(), confirm_url: `${appOrigin}/confirm` }) },
        { path: '/api/sessions', session: false, required: ['email', 'password'], valid: () => ({ email: uniqueEmail(), password: strongPassword() }) },
        { path: '/api/reset-password-request', session: false, required: ['email'], valid: () => ({ email: uniqueEmail(), reset_url: `${appOrigin}/reset` }) },
        { path: '/api/reset-password', session: false, required: ['token', 'password'], valid: () => ({ token: 'no-such-token', password: strongPassword() }) },
        { path: '/api/update-password', session: true, required: ['current_password', 'new_password'], valid: () => ({ current_password: known.password, new_password: strongPassword() }) },
        { path: '/api/update-email', session: true, required: ['new_email', 'password'], valid: () => ({ new_email: uniqueEmail(), password: known.password }) },
      ];
    });

    after(() => server?.stop());

    const post = (endpoint: Endpoint, body: unknown, headers: Record<string, string> = {}): Promise<TestResponse> =>
      server.request('POST', endpoint.path, endpoint.session ? { body, headers, token: session } : { body, headers });

    const raw = (endpoint: Endpoint, body: string, headers: Record<string, string>): Promise<TestResponse> =>
      rawRequest(server.url, 'POST', endpoint.path, { body, headers: endpoint.session ? { ...headers, authorization: `Bearer ${session}` } : headers });

    test('a body without Content-Type is 415 unsupported_media_type on every JSON endpoint', async () => {
      for (const endpoint of endpoints) {
        assertProblem(await raw(endpoint, JSON.stringify(endpoint.valid()), {}), 415, 'unsupported_media_type');
      }
    });

    test('a body as text/plain, form data or multipart is 415 on every JSON endpoint', async () => {
      for (const endpoint of endpoints) {
        const body = endpoint.valid();
        assertProblem(await raw(endpoint, JSON.stringify(body), { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
        const form = new URLSearchParams(body as Record<string, string>).toString();
        assertProblem(await raw(endpoint, form, { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
        assertProblem(await raw(endpoint, '--x\r\n\r\n--x--', { 'content-type': 'multipart/form-data; boundary=x' }), 415, 'unsupported_media_type');
      }
    });

    test('a sign-up refused with 415 creates no account and sends no mail', async () => {
      const email = uniqueEmail('plain');
      const password = strongPassword();
      const users = endpoints[0]!;
      assertProblem(await raw(users, JSON.stringify({ email, password }), { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
      await assertNoNewMail(server, [email]);
      assertProblem(await server.request('POST', '/api/sessions', { body: { email, password } }), 401, 'invalid_credentials');
    });

    test('application/json with a charset parameter, in any letter case, is accepted', async () => {
      const response = await rawRequest(server.url, 'POST', '/api/resend-confirm', {
        body: JSON.stringify({ email: uniqueEmail() }),
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
      assert.equal(response.status, 202, response.text);
      const upper = await rawRequest(server.url, 'POST', '/api/resend-confirm', {
        body: JSON.stringify({ email: uniqueEmail() }),
        headers: { 'content-type': 'Application/JSON;charset=UTF-8' },
      });
      assert.equal(upper.status, 202, `media types are case-insensitive: ${upper.text}`);
    });

    test('a body of exactly 65,536 bytes is accepted and one byte more is 413 payload_too_large', async () => {
      const body = (size: number): string => {
        const json = JSON.stringify({ email: uniqueEmail('size') });
        // JSON allows any amount of whitespace between tokens: pad to the exact size.
        return `${json.slice(0, -1)}${' '.repeat(size - Buffer.byteLength(json))}}`;
      };
      const atLimit = body(65_536);
      assert.equal(Buffer.byteLength(atLimit), 65_536);
      const accepted = await server.request('POST', '/api/resend-confirm', { body: atLimit });
      assert.equal(accepted.status, 202, accepted.text);
      const over = body(65_537);
      assert.equal(Buffer.byteLength(over), 65_537);
      assertProblem(await server.request('POST', '/api/resend-confirm', { body: over }), 413, 'payload_too_large');
    });

    test('a body far over the limit is 413 on every JSON endpoint', async () => {
      for (const endpoint of endpoints) {
        const body = JSON.stringify({ ...endpoint.valid(), padding: 'x'.repeat(200_000) });
        assertProblem(await post(endpoint, body), 413, 'payload_too_large');
      }
    });

    test('a chunked body (no Content-Length) over the limit is 413 payload_too_large', async () => {
      const chunk = new TextEncoder().encode(' '.repeat(8_192));
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(`{"email":"${uniqueEmail('chunked')}"`));
          for (let i = 0; i < 9; i += 1) controller.enqueue(chunk);
          controller.enqueue(new TextEncoder().encode('}'));
          controller.close();
        },
      });
      const init = { method: 'POST', body, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit;
      const response = await fetch(new URL('/api/resend-confirm', server.url), init);
      const text = await response.text();
      assertProblem({ status: response.status, headers: response.headers, text, json: JSON.parse(text) }, 413, 'payload_too_large');
    });

    test('malformed JSON is 400 invalid_json on every JSON endpoint', async () => {
      for (const endpoint of endpoints) {
        for (const body of ['{"email":', '{email: "a@example.com"}', "{'a': 1}", '{"a": 1,}', 'nonsense']) {
          assertProblem(await post(endpoint, body), 400, 'invalid_json');
        }
      }
    });

    test('an empty body with Content-Type application/json is 400 invalid_json', async () => {
      for (const endpoint of endpoints) {
        assertProblem(await raw(endpoint, '', { 'content-type': 'application/json' }), 400, 'invalid_json');
      }
    });

    test('well-formed JSON that is not an object is 422 validation_failed', async () => {
      for (const endpoint of endpoints) {
        for (const body of ['[]', '["a@example.com"]', '"a@example.com"', '42', 'true', 'null']) {
          const response = await post(endpoint, body);
          assertProblem(response, 422, 'validation_failed');
        }
      }
    });

    test('a body without its required fields is 422 naming each missing field', async () => {
      for (const endpoint of endpoints) {
        assertValidation(await post(endpoint, {}), endpoint.required);
      }
    });

    // API.md: an array, object, number or null where a string is expected is 422, never coerced.
    const wrongTypes: [string, unknown][] = [['an array', ['a@example.com', 'b@example.com']], ['an object', { value: 'x' }], ['a number', 12345678], ['null', null], ['a boolean', true]];
    const fieldsByPath: Record<string, string[]> = {
      '/api/users': ['email', 'password', 'name', 'confirm_url'],
      '/api/confirm': ['token'],
      '/api/resend-confirm': ['email', 'confirm_url'],
      '/api/sessions': ['email', 'password'],
      '/api/reset-password-request': ['email', 'reset_url'],
      '/api/reset-password': ['token', 'password'],
      '/api/update-password': ['current_password', 'new_password'],
      '/api/update-email': ['new_email', 'password'],
    };
    for (const [path, fields] of Object.entries(fieldsByPath)) {
      for (const field of fields) {
        test(`${path}: ${field} as an array, object, number, null or boolean is 422 naming ${field}`, async () => {
          const endpoint = endpoints.find((e) => e.path === path)!;
          for (const [, value] of wrongTypes) {
            assertValidation(await post(endpoint, { ...endpoint.valid(), [field]: value }), [field]);
          }
        });
      }
    }

    test('{"email": [a, b]} mails nobody: sign-up, resend, reset request and email change', async () => {
      const fresh = [uniqueEmail('array'), uniqueEmail('array')];
      const watched = [known.email, pending.email, ...fresh];
      const counts = mailCounts(server, watched);
      assertValidation(await server.request('POST', '/api/users', { body: { email: [pending.email, fresh[0]], password: strongPassword() } }), ['email']);
      assertValidation(await server.request('POST', '/api/users', { body: { email: [known.email], password: strongPassword() } }), ['email']);
      assertValidation(await server.request('POST', '/api/resend-confirm', { body: { email: [pending.email, known.email] } }), ['email']);
      assertValidation(await server.request('POST', '/api/reset-password-request', { body: { email: [known.email, pending.email] } }), ['email']);
      assertValidation(await server.request('POST', '/api/update-email', { token: session, body: { new_email: fresh, password: known.password } }), ['new_email']);
      assertValidation(await server.request('POST', '/api/update-email', { token: session, body: { new_email: { address: fresh[1] }, password: known.password } }), ['new_email']);
      await assertNoNewMail(server, watched, counts);
      // And no account came of the refused sign-up.
      assertProblem(await server.request('POST', '/api/sessions', { body: { email: fresh[0], password: 'whatever-it-was-1' } }), 401, 'invalid_credentials');
    });

    // What a NUL or a lone surrogate in each field must get, from API.md: an address or a link target
    // with a control or non-ASCII character is 422 naming it, a malformed token 400 invalid_token,
    // a wrong password 401 invalid_credentials. API.md says nothing of such characters in a
    // password or a display name: there the answer may accept them or refuse them with a 422
    // naming the field, and nothing else.
    type Outcome = { status: number; code?: string };
    const refused = (code: string, status: number): Outcome => ({ status, code });
    const invalid: Outcome = { status: 422, code: 'validation_failed' };
    const oddOutcomes: Record<string, Record<string, Outcome[]>> = {
      '/api/users': { email: [invalid], password: [{ status: 202 }, invalid], name: [{ status: 202 }, invalid], confirm_url: [invalid] },
      '/api/confirm': { token: [refused('invalid_token', 400)] },
      '/api/resend-confirm': { email: [invalid], confirm_url: [invalid] },
      '/api/sessions': { email: [invalid], password: [refused('invalid_credentials', 401)] },
      '/api/reset-password-request': { email: [invalid], reset_url: [invalid] },
      // The token is checked before the new password is looked at.
      '/api/reset-password': { token: [refused('invalid_token', 400)], password: [refused('invalid_token', 400)] },
      '/api/update-password': { current_password: [refused('invalid_credentials', 401)], new_password: [{ status: 200 }, invalid] },
      '/api/update-email': { new_email: [invalid], password: [refused('invalid_credentials', 401)] },
    };

    /** Sends `odd` in `field` of `endpoint`, everything else valid, and checks the answer against oddOutcomes. */
    async function sendOdd(endpoint: Endpoint, field: string, odd: string, own: Account, ownSession: string): Promise<void> {
      // A link target is otherwise valid (an allowed origin), so that only the odd character can refuse it.
      const value = field.endsWith('_url') ? `${appOrigin}/odd${odd}path` : `odd${odd}${field}@example.com`;
      const body = { ...endpoint.valid(), [field]: value };
      const passwordField = endpoint.path === '/api/update-password' ? 'current_password' : 'password';
      if (endpoint.session && field !== passwordField) body[passwordField] = own.password;
      const response = await server.request('POST', endpoint.path, endpoint.session ? { body, token: ownSession } : { body });
      const what = `${endpoint.path} ${field} with ${JSON.stringify(odd)}`;
      const allowed = oddOutcomes[endpoint.path]![field]!;
      const outcome = allowed.find((o) => o.status === response.status);
      assert.ok(outcome !== undefined, `${what}: expected ${allowed.map((o) => o.status).join(' or ')}, got ${response.status} ${response.text}`);
      if (outcome.status === 422) assertValidation(response, [field]);
      else if (outcome.code !== undefined) assertProblem(response, outcome.status, outcome.code);
      else assertMessage(response, outcome.status);
      // A new password that was taken is the account's password from now on (the session stays).
      if (endpoint.path === '/api/update-password' && response.status === 200) own.password = body.new_password as string;
    }

    const oddCharacters = ['\u0000', '\ud800', '\udfff\ud800'];

    test('a NUL character or a lone surrogate in any string field gets the answer that field must give', async () => {
      const own = await createAccount(server);
      const ownSession = await logIn(server, own.email, own.password);
      for (const endpoint of endpoints) {
        for (const field of fieldsByPath[endpoint.path]!) for (const odd of oddCharacters) {
          await sendOdd(endpoint, field, odd, own, ownSession);
        }
      }
    });

    test('an unknown route is a 404 not_found problem', async () => {
      for (const [method, path] of [['GET', '/api/nothing-here'], ['GET', '/nothing-here'], ['DELETE', '/api/nothing-here'], ['GET', '/api/users'], ['GET', '/api/sessions/other']] as const) {
        assertProblem(await server.request(method, path), 404, 'not_found');
      }
      assertProblem(await server.request('POST', '/api/nothing-here', { body: {} }), 404, 'not_found');
    });

    test('an unknown route or method is 404 not_found even when it carries no JSON body', async () => {
      for (const [method, path] of [['POST', '/api/nothing-here'], ['PUT', '/api/users'], ['PATCH', '/api/sessions/current'], ['PUT', '/api/sessions/current']] as const) {
        assertProblem(await rawRequest(server.url, method, path), 404, 'not_found');
      }
    });

    test('problem bodies hold exactly type, title, status, detail and code, and errors only on 422', async () => {
      const cases: [TestResponse, number][] = [
        [await server.request('GET', '/api/nothing-here'), 404],
        [await server.request('POST', '/api/confirm', { body: '{' }), 400],
        [await server.request('POST', '/api/confirm', { body: { token: 'unknown' } }), 400],
        [await server.request('GET', '/api/me'), 401],
        [await server.request('POST', '/api/confirm', { body: { token: 'x' }, headers: { origin: 'https://evil.example' } }), 403],
        [await raw(endpoints[1]!, '{}', { 'content-type': 'text/plain' }), 415],
        [await server.request('POST', '/api/confirm', { body: JSON.stringify({ token: 'x'.repeat(70_000) }) }), 413],
      ];
      for (const [response, status] of cases) {
        assert.equal(response.status, status, response.text);
        assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json\b/);
        assert.deepEqual(Object.keys(response.json).sort(), ['code', 'detail', 'status', 'title', 'type'], response.text);
      }
      const invalid = await server.request('POST', '/api/confirm', { body: {} });
      assert.equal(invalid.status, 422);
      assert.deepEqual(Object.keys(invalid.json).sort(), ['code', 'detail', 'errors', 'status', 'title', 'type'], invalid.text);
    });

    test('a request from a foreign Origin is 403 cross_site on every JSON endpoint', async () => {
      const foreign = ['https://evil.example', 'null', 'http://accounts.latchkey.test.evil.example', 'https://accounts.latchkey.test', 'https://app.example.test:8443'];
      for (const endpoint of endpoints) {
        for (const origin of foreign) {
          const response = await post(endpoint, endpoint.valid(), { origin });
          assertProblem(response, 403, 'cross_site');
          assert.equal(response.headers.get('access-control-allow-origin'), null, `no CORS answer for ${origin}`);
        }
      }
    });

    test('a cross-site sign-up, resend or reset request sends no mail and creates no account', async () => {
      const email = uniqueEmail('cross');
      const password = strongPassword();
      const headers = { origin: 'https://evil.example' };
      const counts = mailCounts(server, [email, pending.email, known.email]);
      assertProblem(await server.request('POST', '/api/users', { body: { email, password }, headers }), 403, 'cross_site');
      assertProblem(await server.request('POST', '/api/resend-confirm', { body: { email: pending.email }, headers }), 403, 'cross_site');
      assertProblem(await server.request('POST', '/api/reset-password-request', { body: { email: known.email }, headers }), 403, 'cross_site');
      await assertNoNewMail(server, [email, pending.email, known.email], counts);
      assertProblem(await server.request('POST', '/api/sessions', { body: { email, password } }), 401, 'invalid_credentials');
    });

    test('requests from BASE_URL and ALLOWED_ORIGINS origins are served with CORS headers for that origin', async () => {
      for (const origin of [new URL(testBaseUrl).origin, appOrigin, devOrigin]) {
        const response = await server.request('POST', '/api/resend-confirm', { body: { email: uniqueEmail() }, headers: { origin } });
        assert.equal(response.status, 202, `${origin}: ${response.text}`);
        assert.equal(response.headers.get('access-control-allow-origin'), origin);
        const me = await server.request('GET', '/api/me', { token: session, headers: { origin } });
        assert.equal(me.status, 200, me.text);
        assert.equal(me.headers.get('access-control-allow-origin'), origin);
      }
    });

    test('a CORS preflight is answered for an allowed origin and not for a foreign one', async () => {
      const preflight = (origin: string) => server.request('OPTIONS', '/api/users', {
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      const allowed = await preflight(appOrigin);
      assert.ok(allowed.status >= 200 && allowed.status < 300, `preflight status ${allowed.status}`);
      assert.equal(allowed.headers.get('access-control-allow-origin'), appOrigin);
      assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /POST/);
      assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /content-type/i);
      const foreign = await preflight('https://evil.example');
      assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    });

    test('a request without Origin (not from a browser) is served without CORS headers', async () => {
      const response = await server.request('POST', '/api/resend-confirm', { body: { email: uniqueEmail() } });
      assert.equal(response.status, 202, response.text);
      assert.equal(response.headers.get('access-control-allow-origin'), null);
    });

    test('JSON answers are application/json', async () => {
      const response = await server.request('GET', '/api/me', { token: session });
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json\b/);
    });
  });
});
