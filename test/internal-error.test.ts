// API.md, Conventions: `internal` 500 is "a bug; logged with a request id,
// nothing else leaks" — no stack trace, SQL or file path reaches a client.
// The server is made to fail for real: a table is dropped from under the
// running `latchkey serve` (its database is the test's own), and an endpoint
// whose error nothing maps is asked. The answer is read as a client reads it,
// the log as an operator does.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { linkTo, strongPassword, uniqueEmail } from './support/accounts.ts';
import { skipUnlessPostgres, type DatabaseKind, type TestDatabase } from './support/databases.ts';
import { until } from './support/process.ts';
import { startServeProcess, type ServerProcess } from './support/serve-process.ts';
import { SmtpSink, tokenFromLink } from './support/smtp-sink.ts';
import { executeSql } from './support/sql.ts';

const postgresSkip = await skipUnlessPostgres();

async function dropTable(database: TestDatabase, table: string): Promise<void> {
  await executeSql(database, { sqlite: `drop table ${table}`, postgres: `drop table ${table} cascade` });
}

type LogLine = { level: number; msg: string; reqId?: string; err?: unknown };

function logLines(server: ServerProcess): LogLine[] {
  return server.log().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);
}

for (const kind of ['sqlite', 'postgres'] as DatabaseKind[]) {
  describe(`an internal error on ${kind}`, { skip: kind === 'postgres' ? postgresSkip : false }, () => {
    let server: ServerProcess;
    let session: string;
    let sink: SmtpSink;
    before(async () => {
      sink = await new SmtpSink().start();
      server = await startServeProcess(kind, { RATE_LIMITS: 'off', MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(sink.port) });
      const email = uniqueEmail('internal');
      const password = strongPassword();
      assert.equal((await server.request('POST', '/api/users', { body: { email, password } })).status, 202);
      const token = tokenFromLink(linkTo(await sink.waitForMailTo(email), '/confirm'));
      assert.equal((await server.request('POST', '/api/confirm', { body: { token } })).status, 200);
      const loggedIn = await server.request('POST', '/api/sessions', { body: { email, password } });
      assert.equal(loggedIn.status, 201, loggedIn.text);
      session = loggedIn.json.token as string;
    });
    after(async () => {
      await server?.stop();
      await sink?.stop();
    });

    test('a table dropped under the server: 500 problem+json `internal` with a request id that the error log line carries, and no stack, SQL or path', async () => {
      assert.equal((await server.request('GET', '/api/me', { token: session })).status, 200, 'the session works before');
      await dropTable(server.database, 'sessions');
      const response = await server.request('GET', '/api/me', { token: session });

      assert.equal(response.status, 500, response.text);
      assert.equal(response.headers.get('content-type')?.split(';')[0], 'application/problem+json');
      const body = response.json as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ['code', 'detail', 'request_id', 'status', 'title', 'type']);
      assert.equal(body.type, 'about:blank');
      assert.equal(body.status, 500);
      assert.equal(body.code, 'internal');
      assert.match(String(body.request_id), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a request id');
      // Nothing of the failure: not the table, not the SQL, not a file or a stack frame.
      for (const leak of [/sessions/i, /select|from\s|where\s/i, /no such table|relation|does not exist|sqlite|postgres/i, /\.ts\b|\.js\b|node:|\/src\/|\/work\//, /\bat\s+\S+\s+\(/]) {
        assert.doesNotMatch(response.text, leak);
      }

      const logged = await until('the error log line', () => logLines(server).find((line) => line.level >= 50 && line.reqId === body.request_id));
      assert.ok(JSON.stringify(logged.err ?? logged).match(/sessions/), `the log line says what failed: ${JSON.stringify(logged)}`);
    });
  });
}
