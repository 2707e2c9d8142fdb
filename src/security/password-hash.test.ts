// API.md "Passwords": argon2id with OWASP parameters at least, stored as a PHC
// string, and older parameters recognised so login can upgrade them.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { currentParams, dummyHash, hashPassword, verifyPassword } from './password-hash.ts';

const phc = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const weak = { memory: 8192, passes: 1, parallelism: 1 };

describe('hashPassword', () => {
  test('a hash is a PHC argon2id string with m=19456, t=2, p=1', async () => {
    const hash = await hashPassword('correct horse battery staple');
    const match = phc.exec(hash);
    assert.ok(match, hash);
    assert.deepEqual(match.slice(1, 4), ['19456', '2', '1']);
  });

  test('the current parameters meet OWASP (19 MiB, 2 passes, 1 lane)', () => {
    assert.ok(currentParams.memory >= 19456);
    assert.ok(currentParams.passes >= 2);
    assert.ok(currentParams.parallelism >= 1);
  });

  test('the salt is 16 random bytes and the tag 32 bytes', async () => {
    const [, , , , salt, tag] = phc.exec(await hashPassword('pw-for-lengths'))!;
    assert.equal(Buffer.from(salt!, 'base64').length, 16);
    assert.equal(Buffer.from(tag!, 'base64').length, 32);
  });

  test('the same password hashes differently each time (random salt)', async () => {
    const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
    assert.notEqual(a, b);
  });

  test('the hash does not contain the password', async () => {
    const hash = await hashPassword('plainly-visible');
    assert.ok(!hash.includes('plainly-visible'));
  });
});

describe('hashing threads', () => {
  test('run at a lower priority than the event loop (Linux: a thread\'s nice value is its own)', { skip: existsSync('/proc/self/task') ? false : 'no /proc here' }, async () => {
    await Promise.all([hashPassword('a'), hashPassword('b')]);
    const nice = (task: string) => {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    };
    const threads = readdirSync('/proc/self/task').map((task) => ({ name: readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim(), nice: nice(task) }));
    assert.equal(threads.find((t) => t.name === 'MainThread')?.nice, 0);
    const hashing = threads.filter((t) => t.name === 'WorkerThread');
    assert.ok(hashing.length > 0);
    for (const t of hashing) assert.equal(t.nice, 10);
  });
});

describe('dummyHash', () => {
  test('is shaped like a real hash with the current parameters (so verifying it costs a full hash) and matches no password', async () => {
    assert.match(dummyHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.equal((await hashPassword('x')).length, dummyHash.length);
    assert.deepEqual(await verifyPassword(dummyHash, ''), { ok: false, needsRehash: false });
  });
});

describe('verifyPassword', () => {
  test('the right password verifies and needs no rehash', async () => {
    const hash = await hashPassword('correct horse battery staple');
    assert.deepEqual(await verifyPassword(hash, 'correct horse battery staple'), { ok: true, needsRehash: false });
  });

  test('a wrong password does not verify', async () => {
    const hash = await hashPassword('correct horse battery staple');
    assert.equal((await verifyPassword(hash, 'correct horse battery stapler')).ok, false);
  });

  test('a password differing only in case does not verify', async () => {
    const hash = await hashPassword('Correct Horse');
    assert.equal((await verifyPassword(hash, 'correct horse')).ok, false);
  });

  test('a hash made with weaker parameters verifies and reports needsRehash', async () => {
    const hash = await hashPassword('old account password', weak);
    assert.match(hash, /\$m=8192,t=1,p=1\$/);
    assert.deepEqual(await verifyPassword(hash, 'old account password'), { ok: true, needsRehash: true });
  });

  test('a hash with less memory only reports needsRehash', async () => {
    const hash = await hashPassword('less memory', { memory: 12288, passes: 3, parallelism: 1 });
    assert.deepEqual(await verifyPassword(hash, 'less memory'), { ok: true, needsRehash: true });
  });

  test('a hash with fewer passes only reports needsRehash', async () => {
    const hash = await hashPassword('fewer passes', { memory: 19456, passes: 1, parallelism: 1 });
    assert.deepEqual(await verifyPassword(hash, 'fewer passes'), { ok: true, needsRehash: true });
  });

  test('a wrong password against a weak hash does not verify', async () => {
    const hash = await hashPassword('old account password', weak);
    assert.equal((await verifyPassword(hash, 'not it')).ok, false);
  });

  test('a tampered tag does not verify', async () => {
    const hash = await hashPassword('tamper me');
    const parts = hash.split('$');
    const tag = Buffer.from(parts[5]!, 'base64');
    tag[0] = tag[0]! ^ 1;
    parts[5] = tag.toString('base64').replace(/=+$/, '');
    assert.equal((await verifyPassword(parts.join('$'), 'tamper me')).ok, false);
  });

  for (const [label, stored] of [
    ['an empty string', ''],
    ['plain text', 'hunter2'],
    ['an argon2id hash of another version', '$argon2id$v=16$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY'],
    ['an argon2id hash without its tag', '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA'],
  ] as const) {
    test(`a malformed stored hash (${label}) is not ok`, async () => {
      assert.deepEqual(await verifyPassword(stored, 'hunter2'), { ok: false, needsRehash: false });
    });
  }

  // Imported formats (legacy-hashes.js): verified, so a wrong password is not ok, and a right one would be rehashed.
  for (const [label, stored] of [
    ['a bcrypt hash', '$2b$12$C6UzMDM.H6dfI/f/IKxGhuI3TG3k2N5Jq6PvQxPkdhYpZB9ivmNKy'],
    ['an argon2i (not argon2id) hash', '$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY'],
  ] as const) {
    test(`an imported hash (${label}) does not verify a wrong password`, async () => {
      assert.deepEqual(await verifyPassword(stored, 'hunter2'), { ok: false, needsRehash: true });
    });
  }

  for (const [label, stored] of [
    ['memory below argon2 minimum, m=0', '$argon2id$v=19$m=0,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY'],
    ['zero passes', '$argon2id$v=19$m=19456,t=0,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY'],
    ['a 3-byte salt', '$argon2id$v=19$m=19456,t=2,p=1$YWJj$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY'],
  ] as const) {
    test(`a stored hash with impossible parameters (${label}) is not ok rather than an exception`, async () => {
      assert.deepEqual(await verifyPassword(stored, 'hunter2'), { ok: false, needsRehash: false });
    });
  }
});
