import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarizeUserAgent } from './user-agent.ts';

const firefoxLinux = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const edgeWindows = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0';
const safariIphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
const chromeAndroid = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';
const chromeMac = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

test('the user-agent summary names the browser and system, the specific before the generic', () => {
  assert.deepEqual(summarizeUserAgent(firefoxLinux), { browser: 'Firefox', system: 'Linux' });
  assert.deepEqual(summarizeUserAgent(edgeWindows), { browser: 'Edge', system: 'Windows' });
  assert.deepEqual(summarizeUserAgent(safariIphone), { browser: 'Safari', system: 'iPhone' });
  assert.deepEqual(summarizeUserAgent(chromeAndroid), { browser: 'Chrome', system: 'Android' });
  assert.deepEqual(summarizeUserAgent(chromeMac), { browser: 'Chrome', system: 'macOS' });
  assert.deepEqual(summarizeUserAgent('curl/8.5.0'), { browser: 'curl', system: undefined });
  assert.deepEqual(summarizeUserAgent('python-requests/2.32'), { browser: 'python-requests', system: undefined });
  assert.deepEqual(summarizeUserAgent('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36'), { browser: 'Headless Chrome', system: 'Linux' });
  assert.deepEqual(summarizeUserAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) EdgiOS/131.0 Mobile/15E148 Safari/605.1.15'), { browser: 'Edge', system: 'iPhone' });
  assert.equal(summarizeUserAgent(null), undefined);
  assert.equal(summarizeUserAgent('  '), undefined);
});
