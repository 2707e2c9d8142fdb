import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEvent, relativeTime } from './describe.ts';

test('relative time is the largest whole unit, in each language', () => {
  const now = Date.UTC(2026, 10, 30, 12);
  assert.equal(relativeTime('en', now - 5 * 60_000, now), '5 minutes ago');
  assert.equal(relativeTime('en', now - 20_000, now), 'now');
  assert.equal(relativeTime('en', now - 86_400_000, now), 'yesterday');
  assert.equal(relativeTime('ru', now - 5 * 60_000, now), '5 минут назад');
  assert.equal(relativeTime('zh-CN', now - 3 * 3_600_000, now), '3小时前');
});

test('an event reads as one sentence: what, from which device, where and when', () => {
  const strings = { types: { signed_in: 'Signed in' }, methods: { password: '', link: ' with a log-in link' }, via: {}, device: '{browser} on {system}', from: ' from {device}' };
  const now = Date.now();
  const line = describeEvent({ type: 'user.signed_in', at: now - 5 * 60_000, ip: '192.0.2.1', user_agent: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', data: { method: 'password' } }, strings, 'en', now);
  assert.equal(describeEvent({ type: 'user.signed_in', at: now, ip: null, user_agent: null, data: { method: 'link' } }, strings, 'en', now).what, 'Signed in with a log-in link');
  assert.deepEqual(line, { what: 'Signed in from Firefox on Linux', details: ['192.0.2.1'], when: '5 minutes ago' });
});
