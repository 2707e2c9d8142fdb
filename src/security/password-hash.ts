// argon2id from node:crypto, run on a pool of worker threads (one per core)
// so hashing never blocks the event loop: Node 24.9's callback form of
// crypto.argon2 was measured blocking it (8 hashes held the loop 261 ms).
// Hashes are PHC strings, so the parameters travel with each hash and older
// ones can be recognised and upgraded at log-in.
import { randomBytes, timingSafeEqual, type Argon2Parameters } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { RetryLaterError } from '../errors.ts';

const threads = availableParallelism();
// HASH_QUEUE_MAX's default, for processes that never configure it (commands, unit tests).
let queueMax = 100;
let pool: Piscina<Argon2Parameters, Uint8Array> | undefined;
// Milliseconds from asking for a hashing to its answer (waiting included), averaged over
// the recent ones: about how long a full queue takes to drain, so what Retry-After says.
let averageMs = 50;

/**
 * API.md, Passwords: at most HASH_QUEUE_MAX hashings wait for a thread in this
 * process; one more is refused at once (503 unavailable) rather than queued,
 * so a flood of log-ins cannot make every other request wait behind it.
 * Called by the composition root before serving; the pool itself starts on
 * the first hashing, so commands and tests that never hash start no thread.
 */
export function configureHashing(options: { queueMax: number }): void {
  queueMax = options.queueMax;
}

function hashingPool(): Piscina<Argon2Parameters, Uint8Array> {
  pool ??= new Piscina<Argon2Parameters, Uint8Array>({
    filename: new URL('./argon2-worker.js', import.meta.url).href,
    maxThreads: threads,
    minThreads: 0,
    // Idle threads end, so a process that is done hashing (tests, CLI commands) can exit.
    idleTimeout: 1_000,
  });
  return pool;
}

export type Argon2Params = { memory: number; passes: number; parallelism: number };

// OWASP's first recommendation: 19 MiB, 2 passes, 1 lane.
export const currentParams: Argon2Params = { memory: 19456, passes: 2, parallelism: 1 };
const saltLength = 16;
// 1 GiB: far above any sensible setting, low enough that a bad row cannot exhaust memory.
const maxMemoryKiB = 1024 * 1024;
const tagLength = 32;

export async function hashPassword(password: string, params: Argon2Params = currentParams): Promise<string> {
  const salt = randomBytes(saltLength);
  const tag = await derive(password, salt, params, tagLength);
  return `$argon2id$v=19$m=${params.memory},t=${params.passes},p=${params.parallelism}$${phcBase64(salt)}$${phcBase64(tag)}`;
}

/** PHC strings use base64 without padding. */
function phcBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

export type Verification = { ok: boolean; needsRehash: boolean };

export async function verifyPassword(stored: string, password: string): Promise<Verification> {
  const parsed = parsePhc(stored);
  if (parsed === undefined) return { ok: false, needsRehash: false };
  const tag = await derive(password, parsed.salt, parsed.params, parsed.tag.length);
  const ok = timingSafeEqual(tag, parsed.tag);
  const needsRehash = parsed.params.memory < currentParams.memory || parsed.params.passes < currentParams.passes;
  return { ok, needsRehash };
}

/**
 * A hash no password matches, with the current parameters, so an unknown
 * account's log-in costs a real verification. Random salt and tag make a
 * well-formed PHC string without hashing at start-up (which would start a
 * hashing thread, and its memory, in every process).
 */
export const dummyHash = `$argon2id$v=19$m=${currentParams.memory},t=${currentParams.passes},p=${currentParams.parallelism}$${phcBase64(randomBytes(saltLength))}$${phcBase64(randomBytes(tagLength))}`;

async function derive(password: string, nonce: Buffer, params: Argon2Params, length: number): Promise<Buffer> {
  const hashing = hashingPool();
  // Checked here rather than with piscina's maxQueue: the bound can change with the
  // configuration, and the refusal is ours to word (503 with Retry-After).
  if (hashing.queueSize >= queueMax) throw new RetryLaterError('unavailable', Math.max(1, Math.ceil(averageMs / 1000)));
  const started = performance.now();
  const tag = await hashing.run({
    message: Buffer.from(password, 'utf8'),
    nonce,
    memory: params.memory,
    passes: params.passes,
    parallelism: params.parallelism,
    tagLength: length,
  });
  averageMs += (performance.now() - started - averageMs) / 16;
  return Buffer.from(tag.buffer, tag.byteOffset, tag.byteLength);
}

const phc = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function parsePhc(stored: string): { params: Argon2Params; salt: Buffer; tag: Buffer } | undefined {
  const match = phc.exec(stored);
  if (match === null) return undefined;
  const [, m, t, p, salt, tag] = match;
  const parsed = {
    params: { memory: Number(m), passes: Number(t), parallelism: Number(p) },
    salt: Buffer.from(salt!, 'base64'),
    tag: Buffer.from(tag!, 'base64'),
  };
  // A corrupt or tampered row must fail verification, not throw or make us allocate gigabytes.
  const { memory, passes, parallelism } = parsed.params;
  const sane = parallelism >= 1 && parallelism <= 16 && passes >= 1 && passes <= 32
    && memory >= 8 * parallelism && memory <= maxMemoryKiB && parsed.salt.length >= 8 && parsed.tag.length >= 4;
  return sane ? parsed : undefined;
}
