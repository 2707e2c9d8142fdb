// API.md: GET /openapi.json is an OpenAPI 3 document of every JSON endpoint;
// GET /metrics (management listener only) is Prometheus text, with delivery
// counters by kind and outcome.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { createAccount } from './support/accounts.ts';
import { assertProblem } from './support/assertions.ts';
import { request, startServer, type TestServer } from './support/latchkey.ts';

const endpoints: [string, string][] = [
  ['post', '/api/users'], ['post', '/api/confirm'], ['post', '/api/resend-confirm'], ['post', '/api/sessions'],
  ['delete', '/api/sessions/current'], ['get', '/api/me'], ['get', '/api/me/events'], ['get', '/api/me/export'], ['post', '/api/reset-password-request'], ['post', '/api/reset-password'],
  ['post', '/api/update-password'], ['post', '/api/update-email'], ['get', '/api/health'],
  ['get', '/api/sessions'], ['delete', '/api/sessions/{id}'], ['delete', '/api/sessions'],
  ['get', '/api/authz/auth-request'], ['get', '/api/authz/forward-auth'], ['post', '/api/login-links'],
];

describe('/openapi.json and /metrics', () => {
  let server: TestServer;
  before(async () => { server = await startServer('sqlite'); });
  after(() => server?.stop());

  test('/openapi.json is an OpenAPI 3 document naming every JSON endpoint of the contract, and nothing else', async () => {
    const response = await server.request('GET', '/openapi.json');
    assert.equal(response.status, 200);
    const document = response.json;
    assert.match(document.openapi, /^3\./);
    for (const [method, path] of endpoints) assert.ok(document.paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`);
    assert.deepEqual(Object.keys(document.paths).sort(), [...new Set(endpoints.map(([, path]) => path))].sort());
    const signUp = document.paths['/api/users'].post;
    assert.deepEqual(signUp.requestBody.content['application/json'].schema.required, ['email', 'password']);
    assert.ok(signUp.responses['202'], 'the 202 answer is documented');
    assert.deepEqual(document.paths['/api/me'].get.security, [{ bearer: [] }]);
    // POST /api/sessions takes exactly one of three shapes (API.md), and says so.
    const shapes = document.paths['/api/sessions'].post.requestBody.content['application/json'].schema.anyOf;
    assert.deepEqual(shapes.map((shape: { required: string[] }) => shape.required.sort()), [['email', 'password'], ['token'], ['code', 'email']]);
    const forwardAuth = document.paths['/api/authz/forward-auth'].get.responses;
    assert.deepEqual(Object.keys(forwardAuth).sort(), ['200', '302', '401']);
    assert.deepEqual(Object.keys(forwardAuth['200'].headers).sort(), ['X-Latchkey-Email', 'X-Latchkey-Session-Id', 'X-Latchkey-User-Id']);
    const sessionFields = document.paths['/api/sessions'].get.responses['200'].content['application/json'].schema.properties.sessions.items.properties;
    assert.deepEqual(Object.keys(sessionFields), ['id', 'created_at', 'last_used_at', 'expires_at', 'current', 'ip', 'user_agent']);
  });

  test('/api/health is documented as {status} and nothing else', async () => {
    const document = (await server.request('GET', '/openapi.json')).json;
    const schema = document.paths['/api/health'].get.responses['200'].content['application/json'].schema;
    assert.deepEqual(Object.keys(schema.properties), ['status']);
  });

  // v2: the counters moved to the management listener; the public /metrics is gone.
  test('/metrics on the public listener is 404 not_found', async () => {
    assertProblem(await server.request('GET', '/metrics'), 404, 'not_found');
  });

  test('/metrics on the management listener is Prometheus text counting deliveries by message kind and outcome', async () => {
    await createAccount(server);
    const management = server.running.managementAddress!;
    // The worker counts a delivery after the SMTP answer reached it, which may be just after the mail arrived: poll.
    const deadline = Date.now() + 10_000;
    let response = await request(management, 'GET', '/metrics');
    while (!/^latchkey_mail_deliveries_total\{kind="confirm",outcome="sent"\} 1$/m.test(response.text) && Date.now() < deadline) {
      await sleep(50);
      response = await request(management, 'GET', '/metrics');
    }
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(response.text, /^latchkey_mail_deliveries_total\{kind="confirm",outcome="sent"\} 1$/m);
    assert.match(response.text, /^# TYPE latchkey_process_resident_memory_bytes gauge$/m);
  });
});
