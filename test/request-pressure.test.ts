// RequestPressure: busy only while requests arrive AND the event loop is
// saturated; a loop kept busy by other work (mail) alone is not pressure.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { test } from 'node:test';
import { RequestPressure } from '../src/request-pressure.ts';
import { sleep, until } from './support/process.ts';

/**
 * Keeps the event loop working for up to `ms`, letting it turn (so requests
 * are taken in and the pressure's window closes) every 10 ms; stops early once
 * `enough` holds. Returns the values of `pressure.busy` seen after `from` ms.
 */
async function saturate(ms: number, pressure: RequestPressure, options: { from?: number; enough?: () => boolean } = {}): Promise<boolean[]> {
  const start = performance.now();
  const seen: boolean[] = [];
  while (performance.now() < start + ms) {
    const slice = performance.now() + 10;
    while (performance.now() < slice) { /* work */ }
    await new Promise(setImmediate);
    if (performance.now() - start >= (options.from ?? 0)) seen.push(pressure.busy);
    if (options.enough?.() === true) break;
  }
  return seen;
}

// The window is 50 ms: rather than sleeping a fixed time and reading the flag
// once (a loaded machine may not have closed the window yet), each phase runs
// until the flag says what it must, within seconds, or checks every reading
// once the earlier phase's windows are certainly over.
test('busy while requests arrive on a saturated event loop, and only then', async () => {
  const server = createServer((_req, res) => res.end('{}')).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  const pressure = new RequestPressure(server, 50, 0.9);
  try {
    // No request has ever come: no window can be busy.
    await sleep(120);
    assert.equal(pressure.busy, false, 'idle');

    // Saturated, with requests coming in.
    let stop = false;
    const requests = (async () => { while (!stop) await fetch(url).then((r) => r.text()); })();
    await saturate(5000, pressure, { enough: () => pressure.busy });
    assert.equal(pressure.busy, true, 'requests on a saturated loop');
    stop = true;
    await requests;

    // Requests keep coming, but the loop has time to spare.
    stop = false;
    const calm = (async () => { while (!stop) { await fetch(url).then((r) => r.text()); await sleep(20); } })();
    const calmed = await until('not busy while requests come to a loop with time to spare', () => (pressure.busy ? undefined : true), 5000, 10).catch(() => false);
    assert.equal(calmed, true, 'requests on a loop with time to spare');
    stop = true;
    await calm;

    // Saturated by other work, no requests: once the windows that saw the
    // last requests are over (three windows in), never busy.
    const readings = await saturate(400, pressure, { from: 150 });
    assert.ok(readings.length > 0, 'readings were taken');
    assert.deepEqual(readings.filter((busy) => busy), [], 'a saturated loop without requests');
  } finally {
    pressure.stop();
    server.close();
  }
});
