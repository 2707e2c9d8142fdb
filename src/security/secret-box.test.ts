import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SecretBox } from './secret-box.ts';

const secret = Buffer.alloc(32, 7);
const box = SecretBox.derive(secret, 'outbox params');

test('a sealed text opens with the same key and associated data, and shows nothing of the plaintext', () => {
  const plaintext = '{"link":"http://x.test/reset-password?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}';
  const sealed = box.seal(plaintext, 'row-1');
  assert.match(sealed, /^v1\.[A-Za-z0-9_-]+$/);
  assert.ok(!sealed.includes('token') && !sealed.includes('AAAAAAAA'));
  assert.equal(box.open(sealed, 'row-1'), plaintext);
});

test('each seal uses a fresh IV: the same plaintext twice gives different texts', () => {
  assert.notEqual(box.seal('same', 'row-1'), box.seal('same', 'row-1'));
});

test('a text moved to another row, under another secret or purpose, or altered, does not open', () => {
  const sealed = box.seal('secret link', 'row-1');
  assert.equal(box.open(sealed, 'row-2'), undefined);
  assert.equal(SecretBox.derive(Buffer.alloc(32, 8), 'outbox params').open(sealed, 'row-1'), undefined);
  assert.equal(SecretBox.derive(secret, 'another purpose').open(sealed, 'row-1'), undefined);
  const raw = Buffer.from(sealed.slice(3), 'base64url');
  raw.writeUInt8(raw.readUInt8(raw.length - 20) ^ 1, raw.length - 20);
  assert.equal(box.open(`v1.${raw.toString('base64url')}`, 'row-1'), undefined);
  assert.equal(box.open('v1.', 'row-1'), undefined);
  assert.equal(box.open('{"name":null}', 'row-1'), undefined);
});
