// argon2id from node:crypto, run on a pool of worker threads (one per core)
// so hashing never blocks the event loop: Node 24.9's callback form of
// crypto.argon2 was measured blocking it (8 hashes held the loop 261 ms).
// Hashes are PHC strings, so the parameters travel with each hash and older
// ones can be recognised and upgraded at log-in.
import { randomBytes, timingSafeEqual, type Argon2Parameters } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { RetryLaterError } from '../errors.ts';
import { parseLegacyHash } from './legacy-hashes.js';
import { normalizePassword } from './password-policy.ts';

const threads = availableParallelism();
// HASH_QUEUE_MAX's default, for processes that never configure it (commands, unit tests).
let queueMax = 100;
/** argon2id parameters (a tag comes back), or an imported hash to check a password against (a match or not). */
type HashingTask = Argon2Parameters | { legacy: string; password: Uint8Array };
let pool: Piscina<HashingTask, Uint8Array | boolean> | undefined;
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

function hashingPool(): Piscina<HashingTask, Uint8Array | boolean> {
  pool ??= new Piscina<HashingTask, Uint8Array | boolean>({
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
// 256 MiB: four times argon2-cffi's default (64 MiB), low enough that a bad imported row cannot exhaust memory.
const maxMemoryKiB = 256 * 1024;
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

/**
 * `typed` is the password as typed: argon2id hashes (ours) are of its NFKC
 * form, imported ones of the string itself (API.md: "exactly as typed").
 * A hash of no known format (an imported account without a password) costs
 * a dummy verification and matches nothing. Every answer takes at least as
 * long as imported hashes take to verify (see legacyFloorMs).
 */
export async function verifyPassword(stored: string, typed: string): Promise<Verification> {
  const started = performance.now();
  const verification = await verifyAny(stored, typed);
  const wait = legacyFloorMs() - (performance.now() - started);
  if (wait >= 1) await new Promise((resolve) => setTimeout(resolve, wait));
  return verification;
}

async function verifyAny(stored: string, typed: string): Promise<Verification> {
  const parsed = parsePhc(stored);
  if (parsed !== undefined) {
    const started = performance.now();
    const tag = await derive(normalizePassword(typed), parsed.salt, parsed.params, parsed.tag.length);
    if (parsed.params.memory === currentParams.memory && parsed.params.passes === currentParams.passes) noteOwnTime(performance.now() - started);
    const ok = timingSafeEqual(tag, parsed.tag);
    const needsRehash = parsed.params.memory < currentParams.memory || parsed.params.passes < currentParams.passes;
    return { ok, needsRehash };
  }
  const legacy = parseLegacyHash(stored);
  if (legacy === undefined) {
    await verifyAny(dummyHash, typed);
    return { ok: false, needsRehash: false };
  }
  // Ours is timed first (once): the dummy verification teaches it.
  if (ownMs === undefined) await verifyAny(dummyHash, typed);
  const started = performance.now();
  const ok = await runHashing({ legacy: stored, password: Buffer.from(typed, 'utf8') }) === true;
  const work = performance.now() - started;
  noteLegacyTime(legacy.cost, work);
  // An imported hash cheaper than ours (bcrypt at a low cost, PBKDF2 at a few
  // thousand iterations) waits as long as ours takes: its quick "no" would
  // tell that the address has an account.
  const wait = (ownMs?.average ?? 0) - work;
  if (wait >= 1) await new Promise((resolve) => setTimeout(resolve, wait));
  return { ok, needsRehash: true };
}

/** How long our own argon2id verifications take (a moving average), once one has run. */
let ownMs: { average: number } | undefined;

function noteOwnTime(ms: number): void {
  if (ownMs === undefined) ownMs = { average: ms };
  else ownMs.average += (ms - ownMs.average) / 8;
}

// API.md: a log-in to an imported account answers in about the same time as
// any other, but a werkzeug PBKDF2 at 600,000 iterations costs several times
// our argon2id. Nothing can make it faster, so every verification waits until
// it has taken as long as imported hashes take (an average per format and
// cost, the slowest of them): an idle timer, not work. Zero until an imported
// hash has been verified, so a service without imports pays nothing;
// flows/legacy-timing.ts verifies one at start-up when the database holds any.
// The padding is the average plus twice the mean deviation: an imported
// hash's own answer is the slower of its work and the padding, so a padding
// of the bare average would leave it a few milliseconds behind the others.
const legacyMs = new Map<string, { average: number; deviation: number }>();

function noteLegacyTime(cost: string, ms: number): void {
  const seen = legacyMs.get(cost);
  if (seen === undefined) {
    legacyMs.set(cost, { average: ms, deviation: ms / 10 });
    return;
  }
  seen.deviation += (Math.abs(ms - seen.average) - seen.deviation) / 8;
  seen.average += (ms - seen.average) / 8;
}

/** How long every password verification takes at least, in milliseconds. */
export function legacyFloorMs(): number {
  let floor = 0;
  for (const { average, deviation } of legacyMs.values()) floor = Math.max(floor, average + 2 * deviation);
  return floor;
}

/** No imported hash is left to hide (every owner has logged in since): log-ins stop waiting. */
export function forgetImportedHashTimes(): void {
  legacyMs.clear();
}

/** Verifies a random password against an imported hash, to learn how long its kind takes (false when it is none we know). */
export async function measureLegacyHash(stored: string): Promise<boolean> {
  if (parseLegacyHash(stored) === undefined) return false;
  await verifyAny(stored, randomBytes(12).toString('base64'));
  return true;
}

/**
 * A hash no password matches, with the current parameters, so an unknown
 * account's log-in costs a real verification. Random salt and tag make a
 * well-formed PHC string without hashing at start-up (which would start a
 * hashing thread, and its memory, in every process).
 */
export const dummyHash = `$argon2id$v=19$m=${currentParams.memory},t=${currentParams.passes},p=${currentParams.parallelism}$${phcBase64(randomBytes(saltLength))}$${phcBase64(randomBytes(tagLength))}`;

async function derive(password: string, nonce: Buffer, params: Argon2Params, length: number): Promise<Buffer> {
  const tag = await runHashing({
    message: Buffer.from(password, 'utf8'),
    nonce,
    memory: params.memory,
    passes: params.passes,
    parallelism: params.parallelism,
    tagLength: length,
  }) as Uint8Array;
  return Buffer.from(tag.buffer, tag.byteOffset, tag.byteLength);
}

async function runHashing(task: HashingTask): Promise<Uint8Array | boolean> {
  const hashing = hashingPool();
  // Checked here rather than with piscina's maxQueue: the bound can change with the
  // configuration, and the refusal is ours to word (503 with Retry-After).
  if (hashing.queueSize >= queueMax) throw new RetryLaterError('unavailable', Math.max(1, Math.ceil(averageMs / 1000)));
  const started = performance.now();
  const result = await hashing.run(task);
  averageMs += (performance.now() - started - averageMs) / 16;
  return result;
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
