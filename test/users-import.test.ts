// API.md "Commands" (users import) and "Passwords" (imported hashes): a Flask
// app's user table, made by the real libraries (test/support/flask-app.py:
// Flask-SQLAlchemy, werkzeug, python3-bcrypt, passlib), exported with the
// README's sqlite3 command, imported by the spawned CLI; then every user logs
// in over HTTP with their old password and is moved to argon2id.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { eachDatabase, testSecretKey } from './support/databases.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { runCli } from './support/serve-process.ts';
import { selectRows } from './support/sql.ts';
import { skipUnless } from './support/proxies.ts';

type FlaskUser = { email: string; password: string | null; format: string; confirmed: boolean; name: string | null };
type UserRow = { id: string; email_canonical: string; password_hash: string; name: string | null; confirmed_at: number | null; created_at: number; locale: string };

const flaskApp = fileURLToPath(new URL('./support/flask-app.py', import.meta.url));
// The README's export, word for word but the file names.
const exportQuery = 'select email, name, confirmed, member_since as created_at, password_hash from user';

/** The Flask app's database, made by Debian's python3 (the one with Flask and the hash libraries). */
function makeFlaskDatabase(file: string): FlaskUser[] {
  const out = execFileSync('/usr/bin/python3', [flaskApp, file], { encoding: 'utf8' });
  return out.trim().split('\n').map((line) => JSON.parse(line) as FlaskUser);
}

const wrong = (password: string | null) => `${password ?? ''}-not-it`;

// Top level: a describe callback must not throw, and CI=true must fail without the tools.
const toolsSkip = skipUnless('flask-hashes');

eachDatabase((kind, databaseSkip) => {
  const skip = databaseSkip === false ? toolsSkip : databaseSkip;
  describe(`latchkey users import on ${kind}`, { skip, timeout: 300_000 }, () => {
    let server: TestServer;
    let dir: string;
    let users: FlaskUser[];
    let csv: string;
    const importCli = (...args: string[]) => runCli(['users', 'import', ...args], { DATABASE_URL: server.database.url, SECRET_KEY: testSecretKey }, 120_000);
    const rows = () => selectRows<UserRow>(server.database, 'select id, email_canonical, password_hash, name, confirmed_at, created_at, locale from users order by email_canonical');
    const row = async (email: string) => (await rows()).find((r) => r.email_canonical === email.toLowerCase())!;

    before(async () => {
      server = await startServer(kind);
      dir = mkdtempSync(join(tmpdir(), 'latchkey-import-'));
      users = makeFlaskDatabase(join(dir, 'app.db'));
      csv = join(dir, 'users.csv');
      writeFileSync(csv, execFileSync('sqlite3', [join(dir, 'app.db'), '-csv', '-header', exportQuery]));
    });

    after(async () => {
      await server?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    test('a dry run reports every row it would write and writes nothing', async () => {
      const result = await importCli(csv, '--dry-run');
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`dry run, nothing written: ${users.length} rows read, ${users.length} would be written, 0 refused`));
      assert.deepEqual(await rows(), []);
    });

    test('the import writes every user of the Flask app, counts the hash formats and sends no mail', async () => {
      const result = await importCli(csv);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^${users.length} rows read, ${users.length} written, 0 refused$`, 'm'), result.stdout);
      const expected = new Map<string, number>();
      for (const user of users) expected.set(user.format, (expected.get(user.format) ?? 0) + 1);
      for (const [format, count] of expected) assert.match(result.stdout, new RegExp(`[:,] ${format.replace(/[()]/g, '\\$&')} ${count}(,|$)`, 'm'), `${format} ${count} in:\n${result.stdout}`);
      assert.equal((await rows()).length, users.length);
      const quoted = users.find((u) => u.name?.includes('\n'))!;
      // The CSV's quoted name (comma, quotes, line break) arrives whole, its line break made a space.
      assert.equal((await row(quoted.email)).name, quoted.name!.replace('\n', ' '));
      const outbox = await selectRows<{ n: number | string }>(server.database, 'select count(*) as n from outbox');
      assert.equal(Number(outbox[0]!.n), 0, 'no mail');
    });

    test('every user logs in with the old password as typed, then holds an argon2id hash; a wrong password fails before and after', async () => {
      for (const user of users.filter((u) => u.confirmed && u.password !== null)) {
        const before = (await row(user.email)).password_hash;
        assert.doesNotMatch(before, /^\$argon2id\$/);
        const refused = await server.request('POST', '/api/sessions', { body: { email: user.email, password: wrong(user.password) } });
        assert.equal(refused.status, 401, `${user.format}: ${refused.text}`);
        assert.equal(refused.json.code, 'invalid_credentials');
        const answer = await server.request('POST', '/api/sessions', { body: { email: user.email, password: user.password } });
        assert.equal(answer.status, 201, `${user.format} (${JSON.stringify(user.password)}): ${answer.text}`);
        assert.equal(answer.json.user.confirmed, true);
        assert.equal(answer.json.user.created_at, '2021-03-04T05:06:07Z');
        assert.match((await row(user.email)).password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/, user.format);
        const again = await server.request('POST', '/api/sessions', { body: { email: user.email, password: user.password } });
        assert.equal(again.status, 201, `${user.format} after the upgrade: ${again.text}`);
        const wrongAfter = await server.request('POST', '/api/sessions', { body: { email: user.email, password: wrong(user.password) } });
        assert.equal(wrongAfter.status, 401, `${user.format} after the upgrade`);
      }
    });

    test('an unconfirmed imported user with the right password is 403 email_not_confirmed; one without a password matches nothing', async () => {
      const unconfirmed = users.find((u) => !u.confirmed)!;
      const answer = await server.request('POST', '/api/sessions', { body: { email: unconfirmed.email, password: unconfirmed.password } });
      assert.equal(answer.status, 403, answer.text);
      assert.equal(answer.json.code, 'email_not_confirmed');
      const none = users.find((u) => u.password === null)!;
      for (const password of ['', 'anything at all']) {
        const refused = await server.request('POST', '/api/sessions', { body: { email: none.email, password } });
        assert.equal(refused.status, 401, refused.text);
      }
    });

    test('the same import again changes nothing: every row is already taken', async () => {
      const snapshot = await rows();
      const result = await importCli(csv);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`${users.length} rows read, 0 written, ${users.length} refused`));
      assert.equal(result.stdout.match(/refused: address already taken/g)?.length, users.length);
      assert.deepEqual(await rows(), snapshot);
    });

    test('a duplicate, a bad address, an unknown format and a taken address are each reported with their line', async () => {
      const file = join(dir, 'mixed.csv');
      writeFileSync(file, [
        'email,name,confirmed,created_at,locale,password_hash',
        'first-mixed@example.com,"Two',
        'lines, one name",yes,2020-01-02T03:04:05Z,ru,',
        'second-mixed@example.com,,no,,,md5$abc$def',
        'not-an-address,,1,,,',
        'FIRST-mixed@Example.com,,1,,,',
        `${users[0]!.email},,1,,,`,
        'third-mixed@example.com,,t,1600000000,de,',
        '',
      ].join('\r\n'));
      const dry = await importCli(file, '--dry-run');
      const result = await importCli(file);
      for (const output of [dry.stdout, result.stdout]) {
        assert.match(output, /^line 4: refused: unknown hash format$/m, output);
        assert.match(output, /^line 5: refused: bad address \(email_invalid\)$/m, output);
        assert.match(output, /^line 6: refused: address repeated in the file \(line 2\)$/m, output);
        assert.match(output, /^line 7: refused: address already taken$/m, output);
        assert.match(output, /6 rows read, 2 (written|would be written), 4 refused/, output);
      }
      const first = await row('first-mixed@example.com');
      assert.equal(first.name, 'Two lines, one name');
      assert.equal(Number(first.confirmed_at), Date.parse('2020-01-02T03:04:05Z'));
      assert.equal(first.locale, 'ru');
      assert.equal(first.password_hash, '');
      const third = await row('third-mixed@example.com');
      assert.equal(Number(third.created_at), 1_600_000_000_000);
      assert.equal(third.locale, 'en', 'a locale we do not have becomes en');
      assert.equal(await row('second-mixed@example.com'), undefined);
    });

    test('JSON Lines: one object a line, booleans and numbers as JSON has them', async () => {
      const file = join(dir, 'users.jsonl');
      writeFileSync(file, [
        JSON.stringify({ email: 'json-one@example.com', name: 'Jay', confirmed: true, created_at: 1_500_000_000, locale: 'zh-CN', password_hash: null }),
        '[1, 2]',
        JSON.stringify({ email: 'json two@example.com' }),
        JSON.stringify({ email: 'json-three@example.com', confirmed: false, password_hash: 'pbkdf2:sha256:1000$salt$00' }),
      ].join('\n'));
      const result = await importCli(file);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^line 2: refused: not a JSON object$/m);
      assert.match(result.stdout, /^line 3: refused: bad address/m);
      assert.match(result.stdout, /^line 4: refused: unknown hash format$/m);
      const one = await row('json-one@example.com');
      assert.equal(Number(one.created_at), 1_500_000_000_000);
      assert.equal(Number(one.confirmed_at), 1_500_000_000_000);
      assert.equal(one.locale, 'zh-CN');
      assert.equal(one.name, 'Jay');
    });

    // The README's other export: the same Flask table kept in PostgreSQL (booleans t/f, timestamps without a zone).
    test('the psql \\copy export of the same table imports the same way', { skip: kind === 'postgres' ? false : 'a PostgreSQL app only' }, async () => {
      const flask = new DatabaseSync(join(dir, 'app.db'), { readOnly: true });
      const source = flask.prepare('select username, email, password_hash, name, member_since, confirmed from user').all() as Record<string, string | number | null>[];
      flask.close();
      const client = new pg.Client({ connectionString: server.database.url });
      await client.connect();
      try {
        await client.query('create table "user" (id serial primary key, username varchar(64), email varchar(120), password_hash varchar(256), name varchar(64), member_since timestamp, confirmed boolean)');
        for (const r of source) {
          await client.query('insert into "user" (username, email, password_hash, name, member_since, confirmed) values ($1, $2, $3, $4, $5, $6)', [r.username, `pg-${r.email}`, r.password_hash, r.name, r.member_since, r.confirmed === 1]);
        }
      } finally {
        await client.end();
      }
      const file = join(dir, 'from-postgres.csv');
      execFileSync('psql', [server.database.url, '-c', `\\copy (select email, name, confirmed, member_since as created_at, password_hash from "user") to '${file}' with (format csv, header)`]);
      const result = await importCli(file);
      assert.match(result.stdout, new RegExp(`^${users.length} rows read, ${users.length} written, 0 refused$`, 'm'), result.stdout + result.stderr);
      for (const user of users.filter((u) => u.password !== null)) {
        const answer = await server.request('POST', '/api/sessions', { body: { email: `pg-${user.email}`, password: user.password } });
        assert.equal(answer.status, user.confirmed ? 201 : 403, `${user.format}: ${answer.text}`);
        if (user.confirmed) assert.equal(answer.json.user.created_at, '2021-03-04T05:06:07Z');
      }
    });

    test('a bad argument: non-zero exit and one line', async () => {
      const cases: string[][] = [[], [csv, csv], [csv, '--bogus'], [csv, '--format', 'xml'], [join(dir, 'missing.csv')], [join(dir, 'app.db')]];
      for (const args of cases) {
        const result = await importCli(...args);
        assert.notEqual(result.code, 0, args.join(' '));
        assert.equal(result.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, /^latchkey: users import: /);
      }
    });
  });
});
