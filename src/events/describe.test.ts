import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEvent, relativeTime, summarizeUserAgent } from './describe.ts';

const firefoxLinux = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const edgeWindows = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0';
const safariIphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
const chromeAndroid = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';
const chromeMac = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

test('the user-agent summary names the browser and system, the specific before the generic', () => {
  assert.deepEqual(summarizeUserAgent(firefoxLinux), { browser: 'Firefox', system: 'Linux' });
  assert.deepEqual(summarizeUserAgent(edgeWindows), { browser: 'Edge', system: 'Windows' });
  assert.deepEqual(summarizeUserAgent(safariIphone), { browser: 'Safari', system: 'iOS' });
  assert.deepEqual(summarizeUserAgent(chromeAndroid), { browser: 'Chrome', system: 'Android' });
  assert.deepEqual(summarizeUserAgent(chromeMac), { browser: 'Chrome', system: 'macOS' });
  assert.deepEqual(summarizeUserAgent('curl/8.5.0'), { browser: 'curl', system: undefined });
  assert.deepEqual(summarizeUserAgent('python-requests/2.32'), { browser: 'python-requests', system: undefined });
  assert.equal(summarizeUserAgent(null), undefined);
});

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
  const line = describeEvent({ type: 'user.signed_in', at: now - 5 * 60_000, ip: '192.0.2.1', user_agent: firefoxLinux, data: { method: 'password' } }, strings, 'en', now);
  assert.equal(describeEvent({ type: 'user.signed_in', at: now, ip: null, user_agent: null, data: { method: 'link' } }, strings, 'en', now).what, 'Signed in with a log-in link');
  assert.deepEqual(line, { what: 'Signed in from Firefox on Linux', details: ['192.0.2.1'], when: '5 minutes ago' });
});
