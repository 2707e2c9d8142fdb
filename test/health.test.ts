// API.md, GET /api/health: 200 {status: "ok"}, 503 when the database cannot be reached.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertProblem } from './support/assertions.ts';
import { skipUnlessPostgres } from './support/databases.ts';
import { startServer, type TestServer } from './support/latchkey.ts';

const postgresSkip = await skipUnlessPostgres();

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`GET /api/health on ${kind}`, { skip: kind === 'postgres' ? postgresSkip : false }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(kind);
    });

    after(() => server?.stop());

    test('a server with its database answers 200 {"status":"ok"} as JSON, with the outbox depth', async () => {
      const response = await server.request('GET', '/api/health');
      assert.equal(response.status, 200, response.text);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json\b/);
      assert.equal(response.json.status, 'ok');
      assert.deepEqual(response.json.outbox, { pending: 0, due: 0, failed: 0, oldest_due_seconds: 0 });
    });
  });

  describe(`GET /api/health without a database on ${kind}`, { skip: kind === 'postgres' ? postgresSkip : false }, () => {
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
      assertProblem(response, 503, response.json?.code);
    });
  });
}
