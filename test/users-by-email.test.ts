// The look-up of a user by address (before a link is issued, at log-in):
// outside a transaction many callers share one query (batched-lookups.ts),
// and each still gets its own answer, up to date when it asked.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Store } from '../src/store/store.ts';
import { eachDatabase, migratedTestStore } from './support/databases.ts';

async function addUser(store: Store, id: string): Promise<void> {
  await store.insertUser({ id, email: `${id}@Example.com`, email_canonical: `${id}@example.com`, name: null, password_hash: 'x', confirmed_at: null, created_at: 1 });
}

eachDatabase((kind, skip) => {
  describe(`users by address on ${kind}`, { skip }, () => {
    let store: Store;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await migratedTestStore(kind)));
    after(() => close?.());

    test('many look-ups at once, known, unknown and repeated, each get their own user or none', async () => {
      const ids = Array.from({ length: 70 }, (_, i) => `u${i}`);
      for (const id of ids) await addUser(store, id);
      const asked = [...ids, 'nobody', 'u3', 'nobody-else', 'u69'];
      const found = await Promise.all(asked.map((id) => store.findUserByEmail(`${id}@example.com`)));
      assert.deepEqual(found.map((user) => user?.id), [...ids, undefined, 'u3', undefined, 'u69']);
    });

    test('a user added just before the look-up is found, one deleted just before is not', async () => {
      await addUser(store, 'late');
      const added = store.findUserByEmail('late@example.com');
      await store.db.deleteFrom('users').where('id', '=', 'u0').execute();
      assert.equal((await added)?.id, 'late');
      assert.equal(await store.findUserByEmail('u0@example.com'), undefined);
    });

    test('inside a transaction the look-up sees that transaction\'s own writes', async () => {
      const seen = await store.transaction(async (tx) => {
        await tx.insertUser({ id: 'in-tx', email: 'in-tx@example.com', email_canonical: 'in-tx@example.com', name: null, password_hash: 'x', confirmed_at: null, created_at: 1 });
        return (await tx.findUserByEmail('in-tx@example.com'))?.id;
      });
      assert.equal(seen, 'in-tx');
    });
  });
});
