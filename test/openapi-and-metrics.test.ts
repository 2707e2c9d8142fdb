// API.md: GET /openapi.json is an OpenAPI 3 document of every JSON endpoint;
// GET /metrics is Prometheus text, with delivery counters by kind and outcome.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount } from './support/accounts.ts';
import { startServer, type TestServer } from './support/latchkey.ts';

const endpoints: [string, string][] = [
  ['post', '/api/users'], ['post', '/api/confirm'], ['post', '/api/resend-confirm'], ['post', '/api/sessions'],
  ['delete', '/api/sessions/current'], ['get', '/api/me'], ['post', '/api/reset-password-request'], ['post', '/api/reset-password'],
  ['post', '/api/update-password'], ['post', '/api/update-email'], ['get', '/api/health'],
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
  });

  test('/metrics is Prometheus text counting deliveries by message kind and outcome', async () => {
    await createAccount(server);
    const response = await server.request('GET', '/metrics');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(response.text, /^latchkey_mail_deliveries_total\{kind="confirm",outcome="sent"\} 1$/m);
    assert.match(response.text, /^# TYPE latchkey_process_resident_memory_bytes gauge$/m);
  });
});
