// Security review of issue 14: an imported hash CHEAPER than our argon2id
// (PBKDF2 at 1,000 iterations, as old werkzeug, passlib and Django settings
// made them) must not answer sooner than any other account either. The
// padding of password-hash.ts only raised every answer to the imported
// hashes' time; a cheap imported hash then answered in a millisecond while an
// unknown address took argon2id's time: a wrong password told which addresses
// have an (imported) account. Measured as timing-imported.test.ts measures.
import assert from 'node:assert/strict';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { strongPassword, uniqueEmail } from './support/accounts.ts';
import { eachDatabase, testSecretKey } from './support/databases.ts';
import { runCli } from './support/serve-process.ts';
import { describeMeasured, measure, startTimingTarget, type Comparison, type TimingTarget } from './support/timing.ts';

const rounds = 60;

/** werkzeug's "pbkdf2:sha256:<iterations>$salt$hex" of a random password. */
function werkzeugHash(iterations: number): string {
  const salt = randomBytes(12).toString('hex');
  return `pbkdf2:sha256:${iterations}$${salt}$${pbkdf2Sync(strongPassword(), salt, iterations, 32, 'sha256').toString('hex')}`;
}

eachDatabase((kind, skip) => {
  describe(`a cheap imported hash answers in about the same time on ${kind}`, { skip, timeout: 600_000 }, () => {
    let target: TimingTarget;
    let imported: string;
    let dir: string;

    before(async () => {
      target = await startTimingTarget(kind);
      dir = mkdtempSync(join(tmpdir(), 'latchkey-timing-cheap-'));
      imported = uniqueEmail('imported');
      const csv = join(dir, 'users.csv');
      writeFileSync(csv, `email,confirmed,password_hash\n${imported},1,${werkzeugHash(1000)}\n`);
      const result = await runCli(['users', 'import', csv], { DATABASE_URL: target.server.database.url, SECRET_KEY: testSecretKey });
      assert.match(result.stdout, /1 written/, result.stdout + result.stderr);
    });

    after(async () => {
      await target?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    test('log-in: unknown address vs wrong password (argon2id) vs wrong password (imported pbkdf2, 1,000 iterations)', async (t) => {
      const post = (email: string) => target.server.request('POST', '/api/sessions', { body: { email, password: strongPassword() } });
      const comparison: Comparison = {
        label: 'log-in with a cheap imported hash',
        cases: [
          { name: 'unknown address', status: 401, code: 'invalid_credentials', send: () => post(uniqueEmail('nobody')) },
          { name: 'argon2id, wrong password', status: 401, code: 'invalid_credentials', send: (t) => post(t.confirmed.email) },
          { name: 'imported pbkdf2 1000, wrong password', status: 401, code: 'invalid_credentials', send: () => post(imported) },
        ],
      };
      const measured = await measure(target, comparison, rounds);
      t.diagnostic(describeMeasured(measured));
      assert.ok(measured.results.every((result) => result.samples >= 50), 'at least 50 requests per case');
      assert.ok(measured.within, describeMeasured(measured));
    });
  });
});
