// API.md, Tokens: link tokens and session tokens are "stored only as a hash".
// The database is read beside the server (plain SQL, every table, every row)
// after a sign-up, a reset request, an email change and a log-in: the token a
// mail carried, or the answer gave, appears nowhere in it; its SHA-256 is in
// the tokens (or sessions) table. A copy of the database opens no account.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { linkTo, logIn, requestEmailChange, requestReset, signUp, strongPassword, uniqueEmail } from './support/accounts.ts';
import { skipUnlessPostgres, type DatabaseKind, type TestDatabase } from './support/databases.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { mailBarrier } from './support/mail-barrier.ts';
import { tokenFromLink } from './support/smtp-sink.ts';
import { selectRows } from './support/sql.ts';

const postgresSkip = await skipUnlessPostgres();

/** Every row of every table the server made, as one JSON line per row, named by its table. */
async function everyRow(database: TestDatabase): Promise<{ table: string; row: string }[]> {
  const tables = database.kind === 'sqlite'
    ? await selectRows<{ name: string }>(database, "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")
    : await selectRows<{ name: string }>(database, "select table_name as name from information_schema.tables where table_schema = 'public'");
  assert.ok(tables.some((t) => t.name === 'tokens') && tables.some((t) => t.name === 'sessions'), `tables: ${tables.map((t) => t.name).join(', ')}`);
  const rows: { table: string; row: string }[] = [];
  for (const { name } of tables) {
    for (const row of await selectRows(database, `select * from "${name}"`)) {
      rows.push({ table: name, row: JSON.stringify(row, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value)) });
    }
  }
  return rows;
}

/** The SHA-256 of a token in the encodings a column could hold it in. */
function sha256Forms(token: string): string[] {
  const digest = createHash('sha256').update(token).digest();
  return [digest.toString('hex'), digest.toString('base64url'), digest.toString('base64')];
}

async function assertStoredOnlyAsHash(database: TestDatabase, secrets: Record<string, { token: string; table: 'tokens' | 'sessions' }>): Promise<void> {
  const rows = await everyRow(database);
  for (const [name, { token, table }] of Object.entries(secrets)) {
    const leaks = rows.filter(({ row }) => row.includes(token));
    assert.deepEqual(leaks.map((l) => l.table), [], `the ${name} token is stored in the clear`);
    const hashes = sha256Forms(token);
    const holders = rows.filter(({ row }) => hashes.some((hash) => row.includes(hash)));
    assert.deepEqual(holders.map((h) => h.table), [table], `the SHA-256 of the ${name} token is in one row of ${table}`);
  }
}

for (const kind of ['sqlite', 'postgres'] as DatabaseKind[]) {
  describe(`tokens at rest on ${kind}`, { skip: kind === 'postgres' ? postgresSkip : false }, () => {
    let server: TestServer;
    before(async () => {
      server = await startServer(kind);
    });
    after(() => server?.stop());

    test('after a sign-up, a log-in, a reset request and an email change, no token is in any row; each one\'s SHA-256 is', async () => {
      const email = uniqueEmail('at-rest');
      const password = strongPassword();
      const confirmMail = await signUp(server, { email, password });
      const confirmToken = tokenFromLink(linkTo(confirmMail, '/confirm'));
      // Unspent first: a token waiting to be used is the one a stolen copy would use.
      await mailBarrier(server);
      await assertStoredOnlyAsHash(server.database, { confirmation: { token: confirmToken, table: 'tokens' } });

      assert.equal((await server.request('POST', '/api/confirm', { body: { token: confirmToken } })).status, 200);
      const session = await logIn(server, email, password);
      const resetToken = await requestReset(server, email);
      const newEmail = uniqueEmail('at-rest-new');
      const emailChangeToken = await requestEmailChange(server, session, newEmail, password);
      await mailBarrier(server);

      await assertStoredOnlyAsHash(server.database, {
        confirmation: { token: confirmToken, table: 'tokens' },
        session: { token: session, table: 'sessions' },
        reset: { token: resetToken, table: 'tokens' },
        'email-change': { token: emailChangeToken, table: 'tokens' },
      });
      // And the tokens are live: the rows found are the ones that work.
      assert.equal((await server.request('GET', '/api/me', { token: session })).status, 200);
    });
  });
}
