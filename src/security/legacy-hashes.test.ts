// API.md "Passwords": imported hashes verified against the password exactly as
// typed. Vectors made by the real libraries (werkzeug 2.2 generate_password_hash,
// hashlib as werkzeug 3 calls it for scrypt and as werkzeug reads the form with
// no count, python3-bcrypt, passlib), verified through verifyPassword, i.e. in
// the hashing threads. test/users-import.test.ts makes fresh ones every run.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseLegacyHash } from './legacy-hashes.js';
import { verifyPassword } from './password-hash.ts';

const password = 'p\u00e4ssw\u00f6rd, "quoted"\nx';
const vectors: [string, string, string][] = [
  ['werkzeug-pbkdf2-sha256', 'werkzeug pbkdf2:sha256 (260,000)', 'pbkdf2:sha256:260000$r8Ocr7v0JFrdLAoI$68717af05508dcde80b7bd7353529959ab6d23d8ba18826a8c0629b8d5c4c6a6'],
  ['werkzeug-pbkdf2-sha1', 'werkzeug pbkdf2:sha1', 'pbkdf2:sha1:1000$I6FwoEqPvvHiSImA$9211e25596bf78a78506aac915bb7ad6eb0da1f3'],
  ['werkzeug-pbkdf2-sha512', 'werkzeug pbkdf2:sha512', 'pbkdf2:sha512:2000$Sb4ipOfNGKyt5fgR$5342a13cbb0454f9db209e43ea01d281b476d669cc571e160e42ff21632da19d7e9ab63d2ff5d6225370bc1adc84a37e9f7df1dfa08be0bcc02a659f24908b98'],
  ['werkzeug-pbkdf2-sha256', 'werkzeug pbkdf2:sha256 without a count', 'pbkdf2:sha256$abcdEFGH12345678$8a3008fcbd8b1fdde8a9747ae272c2dda1471b763e641d846beee4696fb92f90'],
  ['werkzeug-scrypt', 'werkzeug 3 scrypt', 'scrypt:32768:8:1$abcdEFGH12345678$0d16707d16c78465a61a33f3dde26c51101c954d3b6cf95ac7204fef579efb617bfdf5f1ad7748cd98db607af9361f135575064604a528a51c6156f20823c496'],
  ['bcrypt', 'bcrypt $2b$', '$2b$10$pk1tNjjE4ApTDEoG1QAZvuNB1Bvr3fBzOuFEE50k5aeTwaRCg0Lu.'],
  ['bcrypt', 'bcrypt $2y$', '$2y$10$pk1tNjjE4ApTDEoG1QAZvuNB1Bvr3fBzOuFEE50k5aeTwaRCg0Lu.'],
  ['bcrypt', 'bcrypt $2a$', '$2a$10$pk1tNjjE4ApTDEoG1QAZvuNB1Bvr3fBzOuFEE50k5aeTwaRCg0Lu.'],
  ['passlib-pbkdf2-sha256', 'passlib pbkdf2_sha256', '$pbkdf2-sha256$29000$LiVEiDGG8L4XgpAyxvi/1w$pebMFgXawGjJccbYILQDQif7tBJwEPMVdxXGCfkF/5I'],
  ['django-pbkdf2-sha256', 'passlib django_pbkdf2_sha256', 'pbkdf2_sha256$29000$jrFgDekkdSY3$CF5CByCPJNZAzmJjhiNboFIvt6zLdiKa6rZbtoX94R0='],
];

describe('imported hashes', () => {
  for (const [format, label, stored] of vectors) {
    test(`${label}: recognised as ${format}, the right password verifies, a wrong one does not`, async () => {
      assert.equal(parseLegacyHash(stored)?.format, format);
      assert.deepEqual(await verifyPassword(stored, password), { ok: true, needsRehash: true });
      assert.equal((await verifyPassword(stored, `${password} `)).ok, false);
      assert.equal((await verifyPassword(stored, password.toUpperCase())).ok, false);
    });
  }

  test('the password is not normalised: werkzeug hashed "ﬁancé" and "fiancé" (its NFKC form) does not match', async () => {
    const stored = 'pbkdf2:sha256:1000$1I9ObIPN0xhNl4Wu$c1e233b74aac0db99f16f68ed0eef332da2a19fb6bebfc706e9479f486e04212';
    assert.equal((await verifyPassword(stored, '\ufb01anc\u00e9')).ok, true);
    assert.equal((await verifyPassword(stored, 'fianc\u00e9')).ok, false);
  });

  for (const [label, stored] of [
    ['pbkdf2 past 2,000,000 iterations', 'pbkdf2:sha256:99999999$salt$68717af05508dcde80b7bd7353529959ab6d23d8ba18826a8c0629b8d5c4c6a6'],
    ['pbkdf2 with a digest of the wrong length', 'pbkdf2:sha256:1000$salt$6871'],
    ['scrypt with N not a power of two', `scrypt:30000:8:1$salt$${'0'.repeat(128)}`],
    ['scrypt past 64 MiB', `scrypt:1048576:32:1$salt$${'0'.repeat(128)}`],
    ['pbkdf2 at 2,000,001 iterations', 'pbkdf2:sha256:2000001$salt$68717af05508dcde80b7bd7353529959ab6d23d8ba18826a8c0629b8d5c4c6a6'],
    ['scrypt at 128 MiB', `scrypt:131072:8:1$salt$${'0'.repeat(128)}`],
    ['bcrypt cost 15', '$2b$15$pk1tNjjE4ApTDEoG1QAZvuNB1Bvr3fBzOuFEE50k5aeTwaRCg0Lu.'],
    ['argon2 at 512 MiB', '$argon2id$v=19$m=524288,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY'],
    ['bcrypt cost 31', '$2b$31$pk1tNjjE4ApTDEoG1QAZvuNB1Bvr3fBzOuFEE50k5aeTwaRCg0Lu.'],
    ['argon2 version 16', '$argon2i$v=16$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY'],
    ['md5', 'md5$abc$def'],
    ['plain text', 'hunter2'],
  ] as const) {
    test(`refused at import and never verified: ${label}`, async () => {
      assert.equal(parseLegacyHash(stored), undefined);
      assert.deepEqual(await verifyPassword(stored, 'hunter2'), { ok: false, needsRehash: false });
    });
  }
});
