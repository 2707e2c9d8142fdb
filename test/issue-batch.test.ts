// Links issued side by side (src/store/issue-batch.ts on PostgreSQL, the
// group commit on SQLite): each caller still gets its own link and mail, a
// newer link still voids the older, one bad link fails only its caller, and
// nothing is lost.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Outbox, outboxSecretBox } from '../src/mail/outbox.ts';
import type { NewToken, TokenPurpose } from '../src/store/schema.ts';
import type { Store } from '../src/store/store.ts';
import { OutboxQueue } from '../src/store/outbox-queue.ts';
import { createAccount, linkTo } from './support/accounts.ts';
import { eachDatabase, migratedTestStore, openTestStore, testSecretKey } from './support/databases.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { tokenFromLink } from './support/smtp-sink.ts';

const outbox = new Outbox('latchkey.test', outboxSecretBox(Buffer.from(testSecretKey, 'hex')));

async function addUsers(store: Store, ids: string[]): Promise<void> {
  for (const id of ids) {
    await store.insertUser({ id, email: `${id}@example.com`, email_canonical: `${id}@example.com`, name: null, password_hash: 'x', confirmed_at: null, created_at: 1 });
  }
}

/** A link as issueLink asks for it: its token voids the user's live ones of its purpose (a confirmation link voids none). */
function issue(store: Store, hash: string, userId: string, options: { purpose?: TokenPurpose; now?: number } = {}): Promise<void> {
  const purpose = options.purpose ?? 'reset';
  const now = options.now ?? 1000;
  const token: NewToken = {
    token_hash: hash, user_id: userId, purpose, new_email: null, created_at: now, expires_at: now + 3_600_000,
    code_hash: `code-${hash}`, code_address: `${userId}@example.com`,
  };
  return store.issueToken(token, purpose === 'confirm' ? [] : [purpose], outbox.row({ kind: 'password_changed', to: `${userId}@example.com`, params: { name: hash } }));
}

/** The user's tokens, each with the code still usable with it (a spent token's is not, whatever the column holds). */
async function tokens(store: Store, userId: string) {
  const rows = await store.db.selectFrom('tokens').select(['token_hash', 'spent_at', 'code_hash']).where('user_id', '=', userId).orderBy('token_hash').execute();
  return rows.map((row) => ({ token_hash: row.token_hash, spent_at: row.spent_at, code: row.spent_at === null ? row.code_hash : null }));
}

async function mailRecipients(store: Store): Promise<string[]> {
  return (await new OutboxQueue(store).list()).map((row) => row.recipient).sort();
}

eachDatabase((kind, skip) => {
  describe(`links issued side by side on ${kind}`, { skip }, () => {
    let store: Store;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await migratedTestStore(kind)));
    after(() => close?.());

    test('many links asked for at once are all written, each with its own token and mail (more than one statement holds)', async () => {
      const users = Array.from({ length: 100 }, (_, i) => `many${i}`);
      await addUsers(store, users);
      await Promise.all(users.map((user) => issue(store, `t-${user}`, user)));
      for (const user of users) assert.deepEqual(await tokens(store, user), [{ token_hash: `t-${user}`, spent_at: null, code: `code-t-${user}` }]);
      const recipients = (await mailRecipients(store)).filter((to) => to.startsWith('many'));
      assert.deepEqual(recipients, users.map((user) => `${user}@example.com`).sort());
    });

    test('links of one user asked for together: the last asked for is the one left live, and every one is mailed', async () => {
      await addUsers(store, ['same', 'beside']);
      await Promise.all([
        issue(store, 'same-1', 'same', { now: 1001 }),
        issue(store, 'beside-1', 'beside', { now: 1001 }),
        issue(store, 'same-2', 'same', { now: 1002 }),
        issue(store, 'same-3', 'same', { now: 1003 }),
        issue(store, 'same-c', 'same', { purpose: 'confirm', now: 1003 }),
      ]);
      assert.deepEqual(await tokens(store, 'same'), [
        { token_hash: 'same-1', spent_at: 1002, code: null },
        { token_hash: 'same-2', spent_at: 1003, code: null },
        { token_hash: 'same-3', spent_at: null, code: 'code-same-3' },
        { token_hash: 'same-c', spent_at: null, code: 'code-same-c' },
      ]);
      assert.deepEqual(await tokens(store, 'beside'), [{ token_hash: 'beside-1', spent_at: null, code: 'code-beside-1' }]);
      assert.equal((await mailRecipients(store)).filter((to) => to === 'same@example.com').length, 4);
    });

    test('a newer confirmation link leaves the older live but forgets its code, beside other users\' links', async () => {
      await addUsers(store, ['conf', 'other']);
      await issue(store, 'conf-1', 'conf', { purpose: 'confirm' });
      await Promise.all([issue(store, 'conf-2', 'conf', { purpose: 'confirm', now: 2000 }), issue(store, 'other-1', 'other')]);
      assert.deepEqual(await tokens(store, 'conf'), [
        { token_hash: 'conf-1', spent_at: null, code: null },
        { token_hash: 'conf-2', spent_at: null, code: 'code-conf-2' },
      ]);
    });

    test('a link that cannot be written fails only its own caller; the others beside it are written', async () => {
      const users = Array.from({ length: 8 }, (_, i) => `fail${i}`);
      await addUsers(store, users);
      await issue(store, 'taken', 'fail0', { purpose: 'confirm' });
      const results = await Promise.allSettled([
        ...users.map((user) => issue(store, `t-${user}`, user)),
        // No such user: the foreign key refuses the token.
        issue(store, 't-ghost', 'ghost'),
        // A token hash already stored: the primary key refuses it.
        issue(store, 'taken', 'fail1'),
      ]);
      assert.deepEqual(results.map((r) => r.status), [...users.map(() => 'fulfilled'), 'rejected', 'rejected']);
      for (const user of users) assert.ok((await tokens(store, user)).some((t) => t.token_hash === `t-${user}` && t.spent_at === null), user);
      const recipients = await mailRecipients(store);
      assert.equal(recipients.filter((to) => to.startsWith('fail')).length, users.length + 1);
      assert.ok(!recipients.includes('ghost@example.com'));
      // The refused link voided nothing: fail1's own link, written beside it, is still live.
      assert.deepEqual((await tokens(store, 'fail1')).map((t) => [t.token_hash, t.spent_at]), [['t-fail1', null]]);
    });
  });

  describe(`reset requests at once through the API on ${kind}`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startServer(kind);
    });
    after(() => server?.stop());

    const ask = (email: string) => server.request('POST', '/api/reset-password-request', { body: { email } });

    test('each account asking at once gets its own mail with its own working link', async () => {
      const accounts = await Promise.all(Array.from({ length: 12 }, () => createAccount(server)));
      const before = accounts.map((a) => server.smtp.to(a.email).length);
      for (const response of await Promise.all(accounts.map((a) => ask(a.email)))) assert.equal(response.status, 202);
      const links = await Promise.all(accounts.map(async (a, i) => tokenFromLink(linkTo(await server.smtp.waitForMailTo(a.email, before[i]), '/reset-password'))));
      assert.equal(new Set(links).size, accounts.length);
      for (const [i, token] of links.entries()) {
        const response = await server.request('POST', '/api/reset-password', { body: { token, password: `${accounts[i]!.password}-new` } });
        assert.equal(response.status, 200, response.text);
      }
    });

    test('one account asking several times at once gets every mail, and only one of the links stays live', async () => {
      const account = await createAccount(server);
      const before = server.smtp.to(account.email).length;
      for (const response of await Promise.all([1, 2, 3].map(() => ask(account.email)))) assert.equal(response.status, 202);
      await server.smtp.waitForMailTo(account.email, before + 2);
      const store = openTestStore(server.database);
      try {
        const user = await store.findUserByEmail(account.email);
        const resets = await store.db.selectFrom('tokens').select('spent_at').where('user_id', '=', user!.id).where('purpose', '=', 'reset').execute();
        assert.equal(resets.length, 3);
        assert.equal(resets.filter((t) => t.spent_at === null).length, 1);
      } finally {
        await store.close();
      }
    });
  });
});
