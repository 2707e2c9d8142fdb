// API.md "Passwords": length in code points after NFKC, the common list, the
// app name and the email address.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fieldMessage } from '../field-errors.ts';
import { checkPassword, normalizePassword } from './password-policy.ts';

const rules = { minLength: 8, appName: 'Latchkey' };
const email = 'alice@example.com';

const ok = (password: string, r = rules, emails = [email]) =>
  assert.equal(checkPassword(password, r, emails), undefined, `expected ${JSON.stringify(password)} to be accepted`);
/** The reason, as the JSON API words it. */
const refused = (password: string, r = rules, emails = [email]): string => {
  const reason = checkPassword(password, r, emails);
  assert.notEqual(reason, undefined, `expected ${JSON.stringify(password)} to be refused`);
  const message = fieldMessage(reason!);
  assert.match(message, /\S/);
  return message;
};

describe('checkPassword length', () => {
  test('a password of exactly the minimum length is accepted', () => {
    ok('qz7!Kp2@');
  });

  test('a password one code point shorter than the minimum is refused', () => {
    assert.match(refused('qz7!Kp2'), /at least 8/);
  });

  test('the minimum follows PASSWORD_MIN_LENGTH', () => {
    refused('qz7!Kp2@vb5#Lm', { minLength: 15, appName: 'Latchkey' });
    ok('qz7!Kp2@vb5#Lm9', { minLength: 15, appName: 'Latchkey' });
  });

  test('a password of 128 code points is accepted', () => {
    ok('qz7!Kp2@'.repeat(16));
  });

  test('a password of 129 code points is refused', () => {
    assert.match(refused(`${'qz7!Kp2@'.repeat(16)}x`), /at most 128/);
  });

  test('length counts code points, not UTF-16 units: 7 emoji (14 units) are too short', () => {
    const seven = '🔑🚪🐢🌵🎻🧊🦉';
    assert.equal(seven.length, 14);
    refused(seven);
    ok(`${seven}🍋`);
  });

  test('length counts code points, not UTF-16 units: 128 emoji are accepted', () => {
    ok('🔑🚪🐢🌵🎻🧊🦉🍋'.repeat(16));
  });

  test('length counts code points, not UTF-16 units: 129 emoji are refused', () => {
    refused(`${'🔑🚪🐢🌵🎻🧊🦉🍋'.repeat(16)}🔑`);
  });

  test('length is counted after NFKC: three ﬃ ligatures count as nine characters', () => {
    // U+FB03 is one code point that NFKC expands to "ffi".
    ok('\uFB03\uFB03\uFB03');
  });

  test('length is counted after NFKC: e + combining acute counts as one character', () => {
    // Eight decomposed é are 16 code points as typed, 8 after NFKC.
    refused('e\u0301'.repeat(8), { minLength: 9, appName: 'Latchkey' });
    ok('e\u0301'.repeat(9), { minLength: 9, appName: 'Latchkey' });
  });

  test('a huge input is refused as too long', () => {
    assert.match(refused('a'.repeat(1_000_000)), /at most 128/);
  });
});

describe('checkPassword content', () => {
  test('a password from the common list is refused', () => {
    refused('password');
    refused('iloveyou');
  });

  test('a common password with different case is refused', () => {
    refused('PassWord');
  });

  test('the common list reaches at least the 10,000th most common password', () => {
    // Entries near rank 10,000 of the bundled list, each at least 8 characters long.
    for (const common of ['reloaded', 'gigabyte', 'dortmund', 'greedisgood', 'zoomzoom']) refused(common);
  });

  test('a common password typed in full-width forms is refused after NFKC', () => {
    refused('\uFF50\uFF41\uFF53\uFF53\uFF57\uFF4F\uFF52\uFF44');
  });

  test('a password containing the app name is refused, whatever its case', () => {
    assert.match(refused('my-latchkey-2026'), /Latchkey/);
    refused('LATCHKEY!2026');
  });

  test('the app name checked is the configured APP_NAME', () => {
    refused('acme-secret-99', { minLength: 8, appName: 'Acme' });
    ok('acme-secret-99');
  });

  test('a password equal to the email address is refused', () => {
    assert.match(refused('alice@example.com'), /email/);
  });

  test('a password equal to the email address in another case is refused', () => {
    refused('Alice@Example.com');
  });

  test('a password equal to any of the given addresses is refused', () => {
    refused('alice@new.example', rules, ['alice@example.com', 'alice@new.example']);
  });

  test('a password merely containing the email address is not refused for it', () => {
    ok('alice@example.com is my quiet 42 place');
  });

  test('a long uncommon password is accepted', () => {
    ok('correct horse battery staple');
  });
});

describe('normalizePassword', () => {
  test('the same password typed composed or decomposed normalises to one form', () => {
    assert.equal(normalizePassword('caf\u00e9-mot'), normalizePassword('cafe\u0301-mot'));
  });

  test('compatibility characters normalise to their plain form (NFKC)', () => {
    assert.equal(normalizePassword('\uFB03\uFF21'), 'ffiA');
  });
});
