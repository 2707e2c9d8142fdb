// API.md, GET /api/health: 200 {status: "ok"} and nothing else, 503 when the
// database cannot be reached. The detailed health is the management
// listener's (test/management.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertProblem } from './support/assertions.ts';
import { eachDatabase } from './support/databases.ts';
import { startServer, type TestServer } from './support/latchkey.ts';

eachDatabase((kind, skip) => {
  describe(`GET /api/health on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind);
    });

    after(() => server?.stop());

    // v2: the outbox depth is no longer here (it moved with a sign-up for known addresses only).
    test('a server with its database answers 200 with exactly {"status":"ok"} as JSON', async () => {
      const response = await server.request('GET', '/api/health');
      assert.equal(response.status, 200, response.text);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json\b/);
      assert.equal(response.text, '{"status":"ok"}');
    });
  });

  describe(`GET /api/health without a database on ${kind}`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind);
    });

    after(async () => {
      // The database is gone on purpose, so closing the server may complain.
      await server?.running.stop().catch(() => {});
      await server?.smtp.stop();
      await server?.database.drop();
    });

    test('a server that cannot reach its database answers 503 problem+json', async () => {
      assert.equal((await server.request('GET', '/api/health')).status, 200);
      // PostgreSQL: the database disappears under the server. SQLite has no
      // server to lose, so its connection is closed instead.
      if (kind === 'postgres') await server.database.drop();
      else await server.running.store.close();
      const response = await server.request('GET', '/api/health');
      assertProblem(response, 503, 'unavailable');
      assert.match(response.headers.get('retry-after') ?? '', /^[1-9]\d*$/, 'Retry-After in seconds');
    });
  });
});
