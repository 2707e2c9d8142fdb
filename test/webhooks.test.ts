// API.md, Events and webhooks: every flow's event reaches a real receiver as a
// Standard Webhooks delivery, checked by the receiver's own implementation of
// the specification (test/support/webhook-receiver.ts), on each database; an
// event of a transaction that rolled back never arrives.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, linkTo, logIn, requestEmailChange, requestReset, signUp, strongPassword, uniqueEmail } from './support/accounts.ts';
import { eachDatabase, testSecretKey } from './support/databases.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { sleep, until } from './support/process.ts';
import { tokenFromLink } from './support/smtp-sink.ts';
import { executeSql, selectRows } from './support/sql.ts';
import { runCli } from './support/serve-process.ts';
import { WebhookReceiver, type Delivery } from './support/webhook-receiver.ts';

const userAgent = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';

/** The one accepted delivery of `type` for `email` (the user's address as the event describes it). */
async function deliveryOf(receiver: WebhookReceiver, type: string, userId: string, count = 1): Promise<Delivery[]> {
  return until(`${count} ${type} delivered for ${userId}`, () => {
    const found = receiver.accepted().filter((d) => d.body.type === type && d.body.data.user?.id === userId);
    return found.length >= count ? found : undefined;
  });
}

eachDatabase((kind, skip) => {
  describe(`webhooks on ${kind}`, { skip }, () => {
    let receiver: WebhookReceiver;
    let server: TestServer;
    before(async () => {
      receiver = await new WebhookReceiver().start();
      server = await startServer(kind, { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret });
    });
    after(async () => {
      await server?.stop();
      await receiver?.stop();
    });

    test('every flow announces its event: signed, with its type, the user as the API gives it, the client and the event fields', async () => {
      const email = uniqueEmail('hooked');
      const password = strongPassword();
      const headers = { 'user-agent': userAgent };
      assert.equal((await server.request('POST', '/api/users', { body: { email, password, name: 'Ada' }, headers })).status, 202);
      const confirmToken = tokenFromLink(linkTo(await server.smtp.waitForMailTo(email), '/confirm'));
      const confirmed = await server.request('POST', '/api/confirm', { body: { token: confirmToken }, headers });
      assert.equal(confirmed.status, 200);
      const userId = confirmed.json.user.id as string;

      const [created] = await deliveryOf(receiver, 'user.created', userId);
      assert.equal(created!.body.data.user.email, email);
      assert.equal(created!.body.data.user.name, 'Ada');
      assert.equal(created!.body.data.user.confirmed, false);
      assert.equal(created!.body.data.ip, '127.0.0.1');
      assert.equal(created!.body.data.user_agent, userAgent);
      assert.match(created!.body.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal((await deliveryOf(receiver, 'user.confirmed', userId))[0]!.body.data.user.confirmed, true);

      const signedIn = await server.request('POST', '/api/sessions', { body: { email, password }, headers });
      assert.equal(signedIn.status, 201);
      const session = signedIn.json.token as string;
      assert.equal((await deliveryOf(receiver, 'user.signed_in', userId))[0]!.body.data.method, 'password');

      const newPassword = strongPassword();
      assert.equal((await server.request('POST', '/api/update-password', { token: session, body: { current_password: password, new_password: newPassword } })).status, 200);
      assert.equal((await deliveryOf(receiver, 'user.password_changed', userId))[0]!.body.data.via, 'change');

      const newEmail = uniqueEmail('moved');
      const changeToken = await requestEmailChange(server, session, newEmail, newPassword);
      assert.equal((await server.request('POST', '/api/confirm', { body: { token: changeToken } })).status, 200);
      const [moved] = await deliveryOf(receiver, 'user.email_changed', userId);
      assert.equal(moved!.body.data.old_email, email);
      assert.equal(moved!.body.data.user.email, newEmail);

      assert.equal((await server.request('DELETE', '/api/sessions/current', { token: await logIn(server, newEmail, newPassword) })).status, 204);
      await deliveryOf(receiver, 'user.signed_out', userId);
      // A session ended from the list is a sign-out too.
      const keep = await logIn(server, newEmail, newPassword);
      const ended = await logIn(server, newEmail, newPassword);
      const endedId = (await server.request('GET', '/api/me', { token: ended })).json.session.id as string;
      assert.equal((await server.request('DELETE', `/api/sessions/${endedId}`, { token: keep })).status, 204);
      await deliveryOf(receiver, 'user.signed_out', userId, 2);

      const resetToken = await requestReset(server, newEmail);
      assert.equal((await server.request('POST', '/api/reset-password', { body: { token: resetToken, password: strongPassword() } })).status, 200);
      const changed = await deliveryOf(receiver, 'user.password_changed', userId, 2);
      assert.deepEqual(changed.map((d) => d.body.data.via).sort(), ['change', 'reset']);

      const mine = receiver.deliveries.filter((d) => d.body.data.user?.id === userId);
      assert.ok(mine.every((d) => d.verified), 'every delivery verifies');
      // One webhook-id per event, and the same ids as the events the API lists.
      const ids = new Set(mine.map((d) => d.id));
      assert.equal(ids.size, mine.length, 'no event delivered twice here');
    });

    test('operator commands and account deletion announce theirs: created, confirmed, disabled, enabled, deleted (with the user), and the events go with the account', async () => {
      const env = { DATABASE_URL: server.database.url, SECRET_KEY: testSecretKey, WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret, LOG_LEVEL: 'silent' };
      const email = uniqueEmail('operated');
      const password = strongPassword();
      const created = await runCli(['users', 'create', email, '--confirmed', '--password-stdin'], env, 30_000, `${password}\n`);
      assert.equal(created.code, 0, created.stderr);
      for (const verb of ['disable', 'enable']) assert.equal((await runCli(['users', verb, email], env)).code, 0);
      const token = await logIn(server, email, password);
      const userId = (await server.request('GET', '/api/me', { token })).json.user.id as string;
      assert.equal((await server.request('DELETE', '/api/me', { token, body: { password } })).status, 204);
      for (const type of ['user.created', 'user.confirmed', 'user.disabled', 'user.enabled', 'user.signed_in']) await deliveryOf(receiver, type, userId);
      const [deleted] = await deliveryOf(receiver, 'user.deleted', userId);
      assert.equal(deleted!.body.data.user.email, email);
      assert.equal(deleted!.body.data.ip, '127.0.0.1');
      assert.equal((await deliveryOf(receiver, 'user.disabled', userId))[0]!.body.data.ip, null, 'an operator command has no IP');
      assert.deepEqual(await selectRows(server.database, `select id from events where user_id = '${userId}'`), [], 'the account\'s events are deleted with it');
    });

    test('the management listener counts deliveries by type and outcome, and /health shows their queue', async () => {
      const management = server.running.managementAddress!;
      const metrics = await (await fetch(`${management}/metrics`)).text();
      assert.match(metrics, /^latchkey_webhook_deliveries_total\{type="user\.created",outcome="delivered"\} [1-9]\d*$/m);
      const health = await (await fetch(`${management}/health`)).json() as { webhooks: unknown; outbox: unknown };
      assert.deepEqual(Object.keys(health.webhooks as object).sort(), ['due', 'failed', 'oldest_due_seconds', 'pending']);
      assert.notDeepEqual(health.outbox, null);
    });

    test('an event written in a transaction that rolled back never arrives, and the change it described did not happen', async () => {
      // An unconfirmed account's reset confirms it (user.confirmed) and changes its password
      // (user.password_changed). Refusing the second event's row fails the transaction after
      // the first event and its outbox row were written.
      const account = { email: uniqueEmail('rollback'), password: strongPassword() };
      await signUp(server, account);
      const resetToken = await requestReset(server, account.email);
      await executeSql(server.database, {
        sqlite: `create trigger refuse_password_event before insert on events when new.type = 'user.password_changed' begin select raise(abort, 'refused by the test'); end`,
        postgres: `create function refuse_password_event() returns trigger language plpgsql as $$ begin if new.type = 'user.password_changed' then raise exception 'refused by the test'; end if; return new; end $$`,
      });
      if (kind === 'postgres') await executeSql(server.database, { sqlite: '', postgres: 'create trigger refuse_password_event before insert on events for each row execute function refuse_password_event()' });
      try {
        const refused = await server.request('POST', '/api/reset-password', { body: { token: resetToken, password: strongPassword() } });
        assert.equal(refused.status, 500);
      } finally {
        await executeSql(server.database, { sqlite: 'drop trigger refuse_password_event', postgres: 'drop trigger refuse_password_event on events' });
      }
      // The account is still unconfirmed, so its old password is refused as unconfirmed, not as wrong.
      const login = await server.request('POST', '/api/sessions', { body: account });
      assert.equal(login.json?.code, 'email_not_confirmed');
      // A later event of another account is delivered; by then the worker has long passed the rolled-back one.
      const other = await createAccount(server);
      const otherId = (await server.request('POST', '/api/sessions', { body: other })).json.user.id as string;
      await deliveryOf(receiver, 'user.signed_in', otherId);
      await sleep(200);
      const rolledBack = receiver.deliveries.filter((d) => d.body.data.user?.email === account.email);
      assert.deepEqual(rolledBack.map((d) => d.body.type), ['user.created'], 'only the sign-up was announced');
    });
  });
});
