// The log-in/register limit for bench/load.ts: raw argon2id hashes per second
// with Latchkey's own parameters (src/security/password-hash.ts) on every
// core: one worker thread per core calling argon2Sync in a loop, nothing else.
// The threads are started and warmed up (one hash each) before any clock
// runs; then ARGON2_ROUNDS rounds (default 5) of ARGON2_SECONDS (default 2)
// each. In a round every thread times its own loop, and the round's rate is
// the sum of the threads' hashes/s. Prints one JSON line:
// { rate (the median round), rates, threads, seconds }.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { currentParams } from '../src/security/password-hash.ts';

const seconds = Number(process.env.ARGON2_SECONDS ?? 2);
const rounds = Number(process.env.ARGON2_ROUNDS ?? 5);
const threads = availableParallelism();

// A thread answers 'ready' after one hash; then for each { ms } it hashes for
// that long by its own clock and answers [hashes, elapsed ms].
const workerSource = `
const { argon2Sync, randomBytes } = require('node:crypto');
const { parentPort, workerData } = require('node:worker_threads');
const hash = () => argon2Sync('argon2id', { message: Buffer.from('correct horse battery staple'), nonce: randomBytes(16), tagLength: 32, ...workerData.params });
hash();
parentPort.postMessage('ready');
parentPort.on('message', ({ ms }) => {
  const start = performance.now();
  let done = 0;
  while (performance.now() - start < ms) { hash(); done++; }
  parentPort.postMessage([done, performance.now() - start]);
});
`;

function nextMessage<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

const workers = Array.from({ length: threads }, () => new Worker(workerSource, { eval: true, workerData: { params: currentParams } }));
await Promise.all(workers.map((w) => nextMessage<'ready'>(w)));

async function round(ms: number): Promise<number> {
  const answers = await Promise.all(workers.map((w) => {
    const answer = nextMessage<[number, number]>(w);
    w.postMessage({ ms });
    return answer;
  }));
  return answers.reduce((rate, [done, elapsed]) => rate + done / (elapsed / 1000), 0);
}

await round(500); // warm-up: every thread hashing at once for a moment
const rates: number[] = [];
for (let i = 0; i < rounds; i++) rates.push(await round(seconds * 1000));
await Promise.all(workers.map((w) => w.terminate()));
const sorted = [...rates].sort((a, b) => a - b);
console.log(JSON.stringify({ rate: sorted[Math.floor(sorted.length / 2)], rates, threads, seconds }));
