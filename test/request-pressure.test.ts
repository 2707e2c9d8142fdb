// RequestPressure: busy only while requests arrive AND the event loop is
// saturated; a loop kept busy by other work (mail) alone is not pressure.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RequestPressure } from '../src/request-pressure.ts';

/** Keeps the event loop working for `ms`, letting it turn (so requests are taken in) every 10 ms. */
async function saturate(ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const slice = performance.now() + 10;
    while (performance.now() < slice) { /* work */ }
    await new Promise(setImmediate);
  }
}

test('busy while requests arrive on a saturated event loop, and only then', async () => {
  const server = createServer((_req, res) => res.end('{}')).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  const pressure = new RequestPressure(server, 50, 0.9);
  try {
    await sleep(120);
    assert.equal(pressure.busy, false, 'idle');

    // Saturated, with requests coming in.
    let stop = false;
    const requests = (async () => { while (!stop) await fetch(url).then((r) => r.text()); })();
    await saturate(300);
    assert.equal(pressure.busy, true, 'requests on a saturated loop');
    stop = true;
    await requests;

    // Requests keep coming, but the loop has time to spare.
    stop = false;
    const calm = (async () => { while (!stop) { await fetch(url).then((r) => r.text()); await sleep(20); } })();
    await sleep(200);
    assert.equal(pressure.busy, false, 'requests on a loop with time to spare');
    stop = true;
    await calm;

    // Saturated by other work, no requests.
    await sleep(100);
    await saturate(300);
    assert.equal(pressure.busy, false, 'a saturated loop without requests');
  } finally {
    pressure.stop();
    server.close();
  }
});
