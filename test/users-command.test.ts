// API.md, "Commands": `latchkey users …` run as an operator runs them (a
// child process on the server's database), checked through the public HTTP
// API of a running server and the mail its worker delivers to a real SMTP sink.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, linkTo, logIn, strongPassword, uniqueEmail } from './support/accounts.ts';
import { assertProblem, assertUser } from './support/assertions.ts';
import { eachDatabase, testSecretKey } from './support/databases.ts';
import { startServer, testBaseUrl, type TestServer } from './support/latchkey.ts';
import { runCli } from './support/serve-process.ts';
import { tokenFromLink } from './support/smtp-sink.ts';
import { selectRows } from './support/sql.ts';

eachDatabase((kind, skip) => {
  describe(`latchkey users on ${kind}`, { skip }, () => {
    let server: TestServer;
    let env: Record<string, string>;

    before(async () => {
      server = await startServer(kind);
      env = { DATABASE_URL: server.database.url, SECRET_KEY: testSecretKey, BASE_URL: testBaseUrl, MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(server.smtp.port), LOG_LEVEL: 'silent' };
    });

    after(() => server?.stop());

    const users = (args: string[], input?: string) => runCli(['users', ...args], env, 30_000, input);

    /** A refusal: a non-zero exit, exactly one line on stderr, nothing on stdout. */
    async function refused(args: string[], pattern: RegExp, input?: string): Promise<void> {
      const result = await users(args, input);
      assert.notEqual(result.code, 0, `users ${args.join(' ')} must fail: ${result.stdout}`);
      assert.equal(result.stdout, '', `users ${args.join(' ')} prints nothing on stdout`);
      assert.match(result.stderr, /^latchkey: [^\n]+\n$/, `users ${args.join(' ')}: exactly one line: ${JSON.stringify(result.stderr)}`);
      assert.match(result.stderr, pattern);
    }

    test('create --password-stdin --confirmed --name: the account logs in over HTTP; show, list and --json describe it', async () => {
      const email = uniqueEmail('Created');
      const password = strongPassword();
      const created = await users(['create', email, '--name', 'Cora Created', '--confirmed', '--password-stdin'], `${password}\n`);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /created .*confirmed/);
      const token = await logIn(server, email, password);
      const me = await server.request('GET', '/api/me', { token });
      assertUser(me.json.user, { email, name: 'Cora Created', confirmed: true });

      const shown = await users(['show', email.toUpperCase().replace(/^(.*)@/, (m) => m.toLowerCase()), '--json']);
      assert.equal(shown.code, 0, shown.stderr);
      const json = JSON.parse(shown.stdout);
      assert.equal(json.user.id, me.json.user.id);
      assert.equal(json.user.email, email);
      assert.equal(json.user.confirmed, true);
      assert.equal(json.user.disabled, false);
      assert.equal(json.sessions, 1);
      const byId = await users(['show', me.json.user.id]);
      assert.equal(byId.code, 0, byId.stderr);
      assert.match(byId.stdout, new RegExp(`email +${email.replace(/[.+]/g, '\\$&')}`));
      assert.match(byId.stdout, /sessions +1 live/);

      const listed = await users(['list', '--search', 'cora CREATED', '--json']);
      assert.deepEqual(JSON.parse(listed.stdout).users.map((u: { email: string }) => u.email), [email]);
      const plain = await users(['list', '--limit', '1']);
      assert.equal(plain.code, 0, plain.stderr);
      const lines = plain.stdout.trim().split('\n');
      assert.match(lines[0]!, /^id\temail\tname\tconfirmed\tstatus\tcreated$/);
      assert.equal(lines.length, 2, '--limit 1 lists one account');
    });

    test('create without a password: an account that no password opens; the same address twice is refused', async () => {
      const email = uniqueEmail('nopass');
      const created = await users(['create', email]);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /no usable password/);
      for (const guess of ['', 'password', strongPassword()]) {
        assertProblem(await server.request('POST', '/api/sessions', { body: { email, password: guess } }), 401, 'invalid_credentials');
      }
      await refused(['create', email.toUpperCase()], /already exists/);
    });

    test('every bad argument: a non-zero exit and one line on stderr', async () => {
      const known = uniqueEmail('known');
      assert.equal((await users(['create', known])).code, 0);
      await refused([], /subcommand/);
      await refused(['frobnicate'], /unknown users subcommand "frobnicate"/);
      await refused(['list', '--limit', '0'], /--limit/);
      await refused(['list', '--limit', 'ten'], /--limit/);
      await refused(['list', '--limit', '-3'], /.+/);
      await refused(['list', '--bogus'], /bogus/);
      await refused(['list', 'extra'], /no argument/);
      await refused(['show'], /needs EMAIL or ID/);
      await refused(['show', 'nobody@example.com'], /no user/);
      await refused(['show', known, 'another'], /one account/);
      await refused(['create'], /needs EMAIL/);
      await refused(['create', 'not-an-address'], /EMAIL must be an email address/);
      await refused(['create', uniqueEmail(), '--password-stdin'], /password must be at least/, 'short\n');
      await refused(['create', uniqueEmail(), '--json'], /takes no --json/);
      await refused(['invite'], /needs EMAIL/);
      await refused(['invite', 'nope'], /EMAIL/);
      for (const verb of ['confirm', 'disable', 'enable', 'delete', 'revoke-sessions']) {
        await refused([verb], /needs EMAIL or ID/);
        await refused([verb, 'no-such-id'], /no user/);
        await refused([verb, 'nobody@example.com'], /no user/);
      }
    });

    test('confirm: an unconfirmed account logs in afterwards', async () => {
      const account = await createAccount(server, { confirmed: false });
      assertProblem(await server.request('POST', '/api/sessions', { body: account }), 403, 'email_not_confirmed');
      const result = await users(['confirm', account.email]);
      assert.equal(result.code, 0, result.stderr);
      await logIn(server, account.email, account.password);
    });

    test('revoke-sessions: every session ends at once; the password still works', async () => {
      const account = await createAccount(server);
      const sessions = [await logIn(server, account.email, account.password), await logIn(server, account.email, account.password)];
      const result = await users(['revoke-sessions', account.email]);
      assert.equal(result.code, 0, result.stderr);
      for (const token of sessions) assertProblem(await server.request('GET', '/api/me', { token }), 401, 'unauthenticated');
      await logIn(server, account.email, account.password);
    });

    test('invite: a mailed set-password link; using it sets the password, confirms the account, and log-in works', async () => {
      const email = uniqueEmail('invited');
      const result = await users(['invite', email, '--name', 'Ivy Invited']);
      assert.equal(result.code, 0, result.stderr);
      const mail = await server.smtp.waitForMailTo(email, 0, 10_000);
      assert.match(mail.subject, /invited/i);
      assert.match(mail.text, /Hi Ivy Invited/);
      assert.match(mail.text, /7 days/, 'says how long it lasts (INVITE_TOKEN_TTL, 7 days by default)');
      const link = linkTo(mail, '/reset-password');
      const token = tokenFromLink(link);
      // Before the password is set, the account opens with nothing.
      assertProblem(await server.request('POST', '/api/sessions', { body: { email, password: 'anything at all' } }), 401, 'invalid_credentials');
      const page = await fetch(new URL(`/reset-password?token=${encodeURIComponent(token)}`, server.url));
      assert.equal(page.status, 200, 'the link opens the set-password page');
      const password = strongPassword();
      const set = await server.request('POST', '/api/reset-password', { body: { token, password } });
      assert.equal(set.status, 200, set.text);
      const session = await server.request('POST', '/api/sessions', { body: { email, password } });
      assert.equal(session.status, 201, session.text);
      assertUser(session.json.user, { email, name: 'Ivy Invited', confirmed: true });
      // Spent: the link works once.
      assertProblem(await server.request('POST', '/api/reset-password', { body: { token, password: strongPassword() } }), 400, 'invalid_token');
      // A confirmed account is not invited again: its owner has a password.
      await refused(['invite', email], /confirmed/);
    });

    test('invite on an unconfirmed account mails it an invitation instead of making a second account; the newer link voids the older', async () => {
      const account = await createAccount(server, { confirmed: false });
      assert.equal((await users(['invite', account.email])).code, 0);
      const first = tokenFromLink(linkTo(await server.smtp.waitForMailTo(account.email, 1, 10_000), '/reset-password'));
      assert.equal((await users(['invite', account.email])).code, 0);
      const second = tokenFromLink(linkTo(await server.smtp.waitForMailTo(account.email, 2, 10_000), '/reset-password'));
      assertProblem(await server.request('POST', '/api/reset-password', { body: { token: first, password: strongPassword() } }), 400, 'invalid_token');
      assert.equal((await server.request('POST', '/api/reset-password', { body: { token: second, password: strongPassword() } })).status, 200);
      const rows = await selectRows<{ n: number | string }>(server.database, `select count(*) as n from users where email_canonical = '${account.email.toLowerCase()}'`);
      assert.equal(Number(rows[0]!.n), 1);
    });

    test('delete: the account and its sessions go, the notice is mailed, the address signs up again', async () => {
      const account = await createAccount(server);
      const session = await logIn(server, account.email, account.password);
      const before = server.smtp.to(account.email).length;
      const result = await users(['delete', account.email]);
      assert.equal(result.code, 0, result.stderr);
      assertProblem(await server.request('GET', '/api/me', { token: session }), 401, 'unauthenticated');
      assertProblem(await server.request('POST', '/api/sessions', { body: account }), 401, 'invalid_credentials');
      const notice = await server.smtp.waitForMailTo(account.email, before, 10_000);
      assert.match(notice.subject, /deleted/i);
      await refused(['show', account.email], /no user/);
      const again = await createAccount(server, { email: account.email });
      await logIn(server, again.email, again.password);
    });
  });
});
