// The log-in/register limit for bench/load.ts: raw argon2id hashes per second
// with Latchkey's own parameters (src/security/password-hash.ts), as many
// calls in flight as libuv's thread pool has threads (UV_THREADPOOL_SIZE,
// default 4), so every core hashes. Prints one JSON line: { rate, threads, seconds }.
import { argon2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { currentParams } from '../src/security/password-hash.ts';

const argon2Async = promisify(argon2);
const seconds = Number(process.env.ARGON2_SECONDS ?? 5);
const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

const hash = () => argon2Async('argon2id', {
  message: Buffer.from('correct horse battery staple'),
  nonce: randomBytes(16),
  memory: currentParams.memory,
  passes: currentParams.passes,
  parallelism: currentParams.parallelism,
  tagLength: 32,
});

async function run(ms: number): Promise<number> {
  let done = 0;
  const end = performance.now() + ms;
  await Promise.all(Array.from({ length: threads }, async () => {
    while (performance.now() < end) { await hash(); done++; }
  }));
  return done;
}

await run(500); // warm-up
const start = performance.now();
const done = await run(seconds * 1000);
const elapsed = (performance.now() - start) / 1000;
console.log(JSON.stringify({ rate: done / elapsed, threads, seconds: elapsed }));
