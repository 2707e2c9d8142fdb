// docs/API.md (v2) read literally from outside, for lines the feature tests
// did not pin down: each test here failed before its fix.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from './support/serve-process.ts';

describe('Commands: every command exits non-zero with one line on a bad argument', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'latchkey-contract-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('an unknown or incomplete command: non-zero, one line on stderr', async () => {
    const env = { DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`, LOG_LEVEL: 'silent' };
    for (const args of [['frobnicate'], ['outbox'], ['outbox', 'bogus'], ['mail'], ['serve', 'extra'], ['outbox', 'stats', 'extra'], ['outbox', 'list', 'extra']]) {
      const result = await runCli(args, env);
      assert.notEqual(result.code, 0, args.join(' '));
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, `${args.join(' ')}: ${JSON.stringify(result.stderr)}`);
      assert.match(result.stderr, /^latchkey: /);
    }
  });
});
