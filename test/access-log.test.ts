// The access log and the reverse-proxy endpoints (API.md, "Reverse proxies"):
// a proxy asks them before every request of the app it protects, so their
// access-log lines are at debug, not info (the app's each request would log
// twice at info); and their answers carry no CORS headers (they are for the
// proxy, not a browser), while /api/me still does for an allowed origin.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDatabase, testSecretKey } from './support/databases.ts';
import { request, testBaseUrl } from './support/latchkey.ts';
import { startServe } from './support/serve-process.ts';
import { SmtpSink, tokenFromLink } from './support/smtp-sink.ts';

const appOrigin = 'http://app.example.test';
const info = 30;
const debug = 20;

test('authz answers: access-log lines at debug, no CORS headers; /api/me: at info, with CORS', { timeout: 60_000 }, async () => {
  const sink = await new SmtpSink().start();
  const database = await createDatabase('sqlite');
  const serve = startServe({
    BASE_URL: testBaseUrl, DATABASE_URL: database.url, MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(sink.port),
    LOG_LEVEL: 'debug', RATE_LIMITS: 'off', SECRET_KEY: testSecretKey, ALLOWED_ORIGINS: appOrigin,
  });
  try {
    const base = await serve.listening;
    const email = 'proxied@example.com';
    const password = 'a passphrase for the proxy';
    await request(base, 'POST', '/api/users', { body: { email, password } });
    const confirmToken = tokenFromLink((await sink.waitForMailTo(email)).links[0]!);
    assert.equal((await request(base, 'POST', '/api/confirm', { body: { token: confirmToken } })).status, 200);
    const session = (await request(base, 'POST', '/api/sessions', { body: { email, password } })).json.token as string;

    const headers = { origin: appOrigin, authorization: `Bearer ${session}` };
    const me = await request(base, 'GET', '/api/me', { headers });
    assert.equal(me.status, 200);
    assert.equal(me.headers.get('access-control-allow-origin'), appOrigin, 'the JSON API still answers an allowed origin with CORS');
    for (const path of ['/api/authz/auth-request', '/api/authz/forward-auth']) {
      for (const [auth, status] of [[headers, 200], [{ origin: appOrigin }, 401]] as const) {
        const answer = await fetch(new URL(path, base), { headers: auth });
        assert.equal(answer.status, status);
        const cors = [...answer.headers.keys()].filter((name) => name.startsWith('access-control-') || (name === 'vary' && /origin/i.test(answer.headers.get(name)!)));
        assert.deepEqual(cors, [], `${path} ${status}: no CORS headers`);
      }
    }

    const lines = await serve.waitFor('the access log of every request', () => {
      const parsed = serve.stdout().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, any>);
      return parsed.filter((line) => line.msg === 'request completed').length >= 8 ? parsed : undefined;
    });
    // The completed line names only its request's id: its path is on the incoming line.
    const requestIds = new Map<string, string>();
    for (const line of lines) if (line.msg === 'incoming request') requestIds.set(line.reqId, line.req.url);
    const levels = (path: string) => lines.filter((line) => ['incoming request', 'request completed'].includes(line.msg) && requestIds.get(line.reqId)?.startsWith(path)).map((line) => line.level);
    assert.deepEqual(levels('/api/me'), [info, info]);
    for (const path of ['/api/authz/auth-request', '/api/authz/forward-auth']) assert.deepEqual(levels(path), [debug, debug, debug, debug], path);
  } finally {
    await serve.stop();
    await sink.stop();
    await database.drop();
  }
});
