// The log-in/register limit for bench/load.ts: raw argon2id hashes per second
// with Latchkey's own parameters (src/security/password-hash.ts) on every
// core: one worker thread per core calling argon2Sync in a loop, nothing else.
// Prints one JSON line: { rate, threads, seconds }.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { currentParams } from '../src/security/password-hash.ts';

const seconds = Number(process.env.ARGON2_SECONDS ?? 5);
const threads = availableParallelism();

// Each worker hashes until `until` (a performance.timeOrigin-independent Date.now()) and reports its count.
const workerSource = `
const { argon2Sync, randomBytes } = require('node:crypto');
const { parentPort, workerData } = require('node:worker_threads');
let done = 0;
while (Date.now() < workerData.until) {
  argon2Sync('argon2id', { message: Buffer.from('correct horse battery staple'), nonce: randomBytes(16), tagLength: 32, ...workerData.params });
  done++;
}
parentPort.postMessage(done);
`;

function run(ms: number): Promise<number> {
  const until = Date.now() + ms;
  return Promise.all(Array.from({ length: threads }, () => new Promise<number>((resolve, reject) => {
    const worker = new Worker(workerSource, { eval: true, workerData: { until, params: currentParams } });
    worker.once('message', resolve);
    worker.once('error', reject);
  }))).then((counts) => counts.reduce((a, b) => a + b, 0));
}

await run(500); // warm-up
const start = performance.now();
const done = await run(seconds * 1000);
const elapsed = (performance.now() - start) / 1000;
console.log(JSON.stringify({ rate: done / elapsed, threads, seconds: elapsed }));
