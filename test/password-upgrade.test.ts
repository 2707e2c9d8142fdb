// API.md: a hash with older parameters is upgraded at log-in.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hashPassword } from '../src/security/password-hash.ts';
import { createAccount, logIn } from './support/accounts.ts';
import { eachDatabase } from './support/databases.ts';
import { startServer, type TestServer } from './support/latchkey.ts';

eachDatabase((kind, skip) => {
  describe(`password hash upgrade on ${kind}`, { skip }, () => {
    let server: TestServer;
    before(async () => { server = await startServer(kind); });
    after(() => server?.stop());

    test('a log-in with a hash made with weaker argon2id parameters succeeds and stores a hash with the current ones', async () => {
      const account = await createAccount(server);
      const { store } = server.running;
      const user = (await store.findUserByEmail(account.email))!;
      await store.setPassword(user.id, await hashPassword(account.password, { memory: 8192, passes: 1, parallelism: 1 }));

      await logIn(server, account.email, account.password);
      const upgraded = (await store.findUserById(user.id))!.password_hash;
      assert.match(upgraded, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      await logIn(server, account.email, account.password);
    });
  });
});
