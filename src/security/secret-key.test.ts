import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../config.ts';
import { resolveSecretKey } from './secret-key.ts';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-key-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('SECRET_KEY, when given, is the key, and no file is written', () => {
  withDir((dir) => {
    const given = Buffer.alloc(32, 1);
    assert.equal(resolveSecretKey({ secretKey: given, database: { kind: 'sqlite', path: join(dir, 'a.db') } }), given);
    assert.deepEqual(readdirSync(dir), []);
  });
});

test('without SECRET_KEY, SQLite gets a 32-byte key in <database>.key (mode 0600, in a new directory too), the same on every call, and no stray file', () => {
  withDir((dir) => {
    const database = { kind: 'sqlite' as const, path: join(dir, 'data', 'a.db') };
    const first = resolveSecretKey({ secretKey: undefined, database });
    assert.equal(first.length, 32);
    assert.equal(statSync(join(dir, 'data', 'a.db.key')).mode & 0o777, 0o600);
    assert.deepEqual(resolveSecretKey({ secretKey: undefined, database }), first);
    assert.deepEqual(readdirSync(join(dir, 'data')), ['a.db.key']);
  });
});

test('a key file that does not hold a key stops start-up naming SECRET_KEY, rather than being replaced', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'a.db.key'), 'not a key\n');
    assert.throws(() => resolveSecretKey({ secretKey: undefined, database: { kind: 'sqlite', path: join(dir, 'a.db') } }), (error) => error instanceof ConfigError && /^SECRET_KEY /.test(error.message));
  });
});
