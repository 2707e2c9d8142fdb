// API.md "Tokens": 256-bit random, URL-safe, stored only as a hash.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hashToken, newToken } from './tokens.ts';

describe('newToken', () => {
  test('a token is 43 base64url characters', () => {
    assert.match(newToken().token, /^[A-Za-z0-9_-]{43}$/);
  });

  test('a token carries 256 bits', () => {
    assert.equal(Buffer.from(newToken().token, 'base64url').length, 32);
  });

  test('the stored hash differs from the token and does not contain it', () => {
    const { token, hash } = newToken();
    assert.notEqual(hash, token);
    assert.ok(!hash.includes(token));
  });

  test('the returned hash is hashToken of the token', () => {
    const { token, hash } = newToken();
    assert.equal(hashToken(token), hash);
  });

  test('every token is distinct', () => {
    const tokens = new Set(Array.from({ length: 2000 }, () => newToken().token));
    assert.equal(tokens.size, 2000);
  });

  test('every hash is distinct', () => {
    const hashes = new Set(Array.from({ length: 2000 }, () => newToken().hash));
    assert.equal(hashes.size, 2000);
  });
});

describe('hashToken', () => {
  test('hashing is deterministic, so a presented token finds its stored hash', () => {
    assert.equal(hashToken('abc'), hashToken('abc'));
  });

  test('tokens differing in one character hash differently', () => {
    const { token } = newToken();
    const other = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    assert.notEqual(hashToken(token), hashToken(other));
  });

  test('tokens differing only in case hash differently', () => {
    assert.notEqual(hashToken('abcDEF'), hashToken('abcdef'));
  });
});
