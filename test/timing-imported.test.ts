// API.md "Passwords": a log-in to an account with an imported hash answers in
// about the same time as any other. A werkzeug PBKDF2-SHA256 at 600,000
// iterations (werkzeug 3.0's default, made by werkzeug itself) costs several
// times our argon2id, so without the padding in password-hash.ts the wrong
// password of an imported account would tell it apart from an unknown
// address and from an argon2id account. Measured as test/timing.test.ts
// measures (test/support/timing.ts), on both databases.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { strongPassword, uniqueEmail } from './support/accounts.ts';
import { eachDatabase, testSecretKey } from './support/databases.ts';
import { runCli } from './support/serve-process.ts';
import { describeMeasured, measure, startTimingTarget, type Comparison, type TimingTarget } from './support/timing.ts';
import { skipUnless } from './support/proxies.ts';

const rounds = 60;
const flaskApp = fileURLToPath(new URL('./support/flask-app.py', import.meta.url));

// Top level: a describe callback must not throw, and CI=true must fail without the tools.
const toolsSkip = skipUnless('flask-hashes');

eachDatabase((kind, databaseSkip) => {
  const skip = databaseSkip === false ? toolsSkip : databaseSkip;
  describe(`imported hashes answer in about the same time on ${kind}`, { skip, timeout: 600_000 }, () => {
    let target: TimingTarget;
    let imported: string;
    let dir: string;

    before(async () => {
      target = await startTimingTarget(kind);
      dir = mkdtempSync(join(tmpdir(), 'latchkey-timing-import-'));
      const [user] = execFileSync('/usr/bin/python3', [flaskApp, join(dir, 'app.db'), '600000'], { encoding: 'utf8' }).trim().split('\n').map((line) => JSON.parse(line) as { email: string });
      imported = user!.email;
      const csv = join(dir, 'users.csv');
      writeFileSync(csv, execFileSync('sqlite3', [join(dir, 'app.db'), '-csv', '-header', 'select email, name, confirmed, member_since as created_at, password_hash from user']));
      const result = await runCli(['users', 'import', csv], { DATABASE_URL: target.server.database.url, SECRET_KEY: testSecretKey });
      assert.match(result.stdout, /1 written/, result.stdout + result.stderr);
      assert.match(result.stdout, /werkzeug-pbkdf2-sha256 1/);
    });

    after(async () => {
      await target?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    test('log-in: unknown address vs wrong password (argon2id) vs wrong password (imported werkzeug pbkdf2, 600,000 iterations)', async (t) => {
      const post = (email: string) => target.server.request('POST', '/api/sessions', { body: { email, password: strongPassword() } });
      const comparison: Comparison = {
        label: 'log-in with imported hashes',
        cases: [
          { name: 'unknown address', status: 401, code: 'invalid_credentials', send: () => post(uniqueEmail('nobody')) },
          { name: 'argon2id, wrong password', status: 401, code: 'invalid_credentials', send: (t) => post(t.confirmed.email) },
          { name: 'imported pbkdf2, wrong password', status: 401, code: 'invalid_credentials', send: () => post(imported) },
        ],
      };
      const measured = await measure(target, comparison, rounds);
      t.diagnostic(describeMeasured(measured));
      assert.ok(measured.results.every((result) => result.samples >= 50), 'at least 50 requests per case');
      assert.ok(measured.within, describeMeasured(measured));
    });
  });
});
