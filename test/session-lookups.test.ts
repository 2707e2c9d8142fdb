// Session look-ups by the token's hash, merged per turn of the event loop
// (src/store/batched-lookups.ts, session-lookups.ts): every caller gets its own
// answer, a revoked session is refused at once, a failing query fails only
// its own callers, and a transaction sees its own writes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { hashToken } from '../src/security/tokens.ts';
import { BatchedLookups } from '../src/store/batched-lookups.ts';
import type { Session } from '../src/store/schema.ts';
import type { Store } from '../src/store/store.ts';
import { createAccount, logIn, type Account } from './support/accounts.ts';
import { eachDatabase, migratedTestStore } from './support/databases.ts';
import { startServer, type TestServer } from './support/latchkey.ts';

const day = 86_400_000;

function session(token: string, userId: string): Session {
  const now = Date.now();
  return { token_hash: hashToken(token), user_id: userId, created_at: now, last_used_at: now, expires_at: now + day, id: `id-${token}`, ip: null, user_agent: null };
}

async function addUser(store: Store, id: string): Promise<void> {
  await store.insertUser({ id, email: `${id}@example.com`, email_canonical: `${id}@example.com`, name: null, password_hash: 'x', confirmed_at: null, created_at: 1 });
}

describe('BatchedLookups', () => {
  test('one turn\'s look-ups: at most 32 distinct keys a query, padded to a power of two, at most 2 queries at once', async () => {
    const queries: string[][] = [];
    let running = 0;
    let mostRunning = 0;
    const lookups = new BatchedLookups<string, { key: string }>({
      keyOf: (row) => row.key,
      load: async (keys) => {
        queries.push([...keys]);
        mostRunning = Math.max(mostRunning, ++running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running -= 1;
        return [...new Set(keys)].filter((key) => !key.startsWith('unknown')).map((key) => ({ key }));
      },
    });
    const keys = [...Array.from({ length: 70 }, (_, i) => `k${i}`), 'k1', 'k1', 'unknown'];
    const answers = await Promise.all(keys.map((key) => lookups.get(key)));
    assert.deepEqual(answers, keys.map((key) => (key === 'unknown' ? undefined : { key })));
    assert.equal(mostRunning, 2);
    assert.deepEqual(queries.map((q) => q.length), [32, 32, 8], 'k1 asked thrice counts once; 7 keys are padded to 8');
    assert.deepEqual(new Set(queries.flat()), new Set(keys));
  });

  test('a key asked for while its query runs gets a query of its own, started after it asked', async () => {
    const started: string[][] = [];
    const lookups = new BatchedLookups<string, { key: string; at: number }>({
      keyOf: (row) => row.key,
      load: async (keys) => {
        started.push([...keys]);
        const at = started.length;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return keys.map((key) => ({ key, at }));
      },
    });
    const first = lookups.get('a');
    await new Promise((resolve) => setTimeout(resolve, 1));
    const second = lookups.get('a');
    assert.equal((await first)?.at, 1);
    assert.equal((await second)?.at, 2);
  });
});

eachDatabase((kind, skip) => {
  describe(`session look-ups on ${kind}`, { skip }, () => {
    let store: Store;
    let close: () => Promise<void>;
    const tokens = Array.from({ length: 80 }, (_, i) => `token-${i}`);

    before(async () => {
      ({ store, close } = await migratedTestStore(kind));
      for (let u = 0; u < 4; u++) await addUser(store, `user-${u}`);
      for (const [i, token] of tokens.entries()) await store.insertSession(session(token, `user-${i % 4}`));
    });

    after(() => close?.());

    test('many concurrent look-ups of distinct and equal tokens each get their own session and user; unknown ones undefined', async () => {
      const asked = [...tokens, ...tokens.slice(0, 20), ...tokens.slice(0, 20), 'not-a-session', 'nor-this'];
      const found = await Promise.all(asked.map((token) => store.findSessionWithUser(hashToken(token))));
      for (const [i, token] of asked.entries()) {
        if (!token.startsWith('token-')) {
          assert.equal(found[i], undefined, token);
          continue;
        }
        const n = Number(token.slice('token-'.length));
        assert.equal(found[i]?.session.token_hash, hashToken(token));
        assert.equal(found[i]?.session.id, `id-${token}`);
        assert.equal(found[i]?.session.user_id, `user-${n % 4}`);
        assert.equal(found[i]?.user.id, `user-${n % 4}`);
        assert.equal(found[i]?.user.email, `user-${n % 4}@example.com`);
      }
    });

    test('a deleted session is not found by a look-up asked after the delete, among concurrent ones', async () => {
      const before = Promise.all(tokens.slice(40).map((token) => store.findSessionWithUser(hashToken(token))));
      await store.deleteSession(hashToken('token-79'));
      const afterDelete = await Promise.all(tokens.slice(40).map((token) => store.findSessionWithUser(hashToken(token))));
      await before;
      assert.equal(afterDelete.at(-1), undefined);
      assert.equal(afterDelete.filter((found) => found === undefined).length, 1);
    });

    test('inside a transaction a look-up sees the transaction\'s own session', async () => {
      const seen = await store.transaction(async (tx) => {
        await tx.insertSession(session('in-transaction', 'user-0'));
        return tx.findSessionWithUser(hashToken('in-transaction'));
      });
      assert.equal(seen?.session.id, 'id-in-transaction');
    });

    test('a database error rejects the callers of its query only', async () => {
      // A real query on the real database; the batch with "poison" in it asks for a table that does not exist.
      const lookups = new BatchedLookups<string, { token_hash: string }>({
        keyOf: (row) => row.token_hash,
        maxInFlight: 1,
        maxKeys: 4,
        load: async (keys) => (keys.includes('poison')
          ? (await sql<{ token_hash: string }>`select token_hash from no_such_table`.execute(store.db)).rows
          : store.db.selectFrom('sessions').select('token_hash').where('token_hash', 'in', keys).execute()),
      });
      const hashes = tokens.slice(0, 8).map(hashToken);
      const asked = [...hashes.slice(0, 3), 'poison', ...hashes.slice(3)];
      const outcomes = await Promise.allSettled(asked.map((key) => lookups.get(key)));
      assert.deepEqual(outcomes.map((o) => o.status), [...Array(4).fill('rejected'), ...Array(5).fill('fulfilled')]);
      assert.deepEqual(outcomes.slice(4).map((o) => (o as PromiseFulfilledResult<{ token_hash: string }>).value.token_hash), hashes.slice(3));
      // The next look-up is answered as usual.
      assert.equal((await lookups.get(hashes[0]!))?.token_hash, hashes[0]);
    });
  });

  describe(`a revoked session under concurrent load on ${kind}`, { skip }, () => {
    let server: TestServer;
    let account: Account;

    before(async () => {
      server = await startServer(kind);
      account = await createAccount(server);
    });

    after(() => server?.stop());

    test('is 401 at once on /api/me and both authz endpoints, while the other sessions stay 200', { timeout: 60_000 }, async () => {
      const others = [await logIn(server, account.email, account.password), await logIn(server, account.email, account.password)];
      const revoked = await logIn(server, account.email, account.password);
      const ask = (path: string, token: string) => fetch(new URL(path, server.url), { headers: { authorization: `Bearer ${token}` } }).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      });
      const paths = ['/api/me', '/api/authz/auth-request', '/api/authz/forward-auth'];
      let loading = true;
      const otherStatuses: number[] = [];
      const load = Array.from({ length: 16 }, async (_, i) => {
        while (loading) otherStatuses.push(await ask(paths[i % 3]!, others[i % 2]!));
      });
      try {
        for (const path of paths) assert.equal(await ask(path, revoked), 200);
        assert.equal((await server.request('DELETE', '/api/sessions/current', { token: revoked })).status, 204);
        const afterRevoke = await Promise.all(Array.from({ length: 30 }, (_, i) => ask(paths[i % 3]!, revoked)));
        assert.deepEqual(afterRevoke, Array(30).fill(401));
      } finally {
        loading = false;
        await Promise.all(load);
      }
      assert.ok(otherStatuses.length > 30, `load ran (${otherStatuses.length} requests)`);
      assert.deepEqual(new Set(otherStatuses), new Set([200]));
    });
  });
});
