// Password hashes made by other software (API.md "Passwords": imported
// hashes), parsed here for the importer and verified here by the hashing
// threads. Plain JavaScript, like argon2-worker.js which imports it: a .ts
// file would load Node's type stripper into every hashing thread. Types for
// the TypeScript side are in legacy-hashes.d.ts.
//
// Every format keeps its own reading of the password: the bytes of the
// string as typed, UTF-8, never normalised (werkzeug, passlib, Django and
// bcrypt do not normalise either). Parameters are bounded so that a hostile
// or corrupt row cannot make one log-in cost minutes or gigabytes.
import { argon2Sync, pbkdf2Sync, scryptSync, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';

// werkzeug 2.x's DEFAULT_PBKDF2_ITERATIONS: what its check_password_hash uses for
// "pbkdf2:sha256$salt$hex" with no count (werkzeug 3.0 would use 600,000 and 3.1
// 1,000,000, but no werkzeug since 0.9 writes the short form itself).
export const werkzeugDefaultIterations = 260_000;
// Twice the highest default any library ships (werkzeug 3.1: 1,000,000; Django 5.2: 1,000,000):
// every imported check is padded to the slowest one seen, so one absurd row would slow every log-in.
const maxIterations = 2_000_000;
const digestBytes = { sha1: 20, sha256: 32, sha512: 64 };

const werkzeugPbkdf2 = /^pbkdf2:(sha1|sha256|sha512)(?::(\d{1,8}))?\$([^$]+)\$([0-9a-f]+)$/;
const werkzeugScrypt = /^scrypt:(\d{1,8}):(\d{1,3}):(\d{1,3})\$([^$]+)\$([0-9a-f]+)$/;
const bcryptHash = /^\$2([aby])\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const passlibPbkdf2 = /^\$pbkdf2(?:-(sha256|sha512))?\$(\d{1,8})\$([./A-Za-z0-9]*)\$([./A-Za-z0-9]+)$/;
const djangoPbkdf2 = /^pbkdf2_(sha256|sha1)\$(\d{1,8})\$([^$]+)\$([A-Za-z0-9+/]+={0,2})$/;
const argon2Phc = /^\$(argon2id|argon2i|argon2d)\$v=19\$m=(\d{1,8}),t=(\d{1,3}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** passlib's "adapted base64": '.' for '+', no padding. */
function ab64(text) {
  return Buffer.from(text.replaceAll('.', '+'), 'base64');
}

function pbkdf2(digest, iterations, salt, expected) {
  if (iterations < 1 || iterations > maxIterations || expected.length !== digestBytes[digest]) return undefined;
  return { kind: 'pbkdf2', digest, iterations, salt, expected };
}

/**
 * The format of a stored hash and what verifying it needs, or undefined when
 * it is none we know (or its parameters are out of bounds). `format` names it
 * in the import's report; `cost` tells hashes of one format apart by how long
 * they take to verify.
 */
export function parseLegacyHash(stored) {
  let m = werkzeugPbkdf2.exec(stored);
  if (m !== null) {
    const [, digest, count, salt, hex] = m;
    if (hex.length % 2 !== 0) return undefined;
    const iterations = count === undefined ? werkzeugDefaultIterations : Number(count);
    const task = pbkdf2(digest, iterations, Buffer.from(salt, 'utf8'), Buffer.from(hex, 'hex'));
    return task && { format: `werkzeug-pbkdf2-${digest}`, cost: `${digest}:${iterations}`, task };
  }
  m = werkzeugScrypt.exec(stored);
  if (m !== null) {
    const [, n, r, p, salt, hex] = m.map((v, i) => (i >= 1 && i <= 3 ? Number(v) : v));
    // werkzeug 3: hashlib.scrypt(..., n, r, p, maxmem=132*n*r*p), 64 bytes; N a power of two.
    const sane = n >= 2 && (n & (n - 1)) === 0 && n <= 1 << 20 && r >= 1 && r <= 32 && p >= 1 && p <= 4 && 128 * n * r <= 64 * 1024 * 1024;
    if (!sane || hex.length !== 128) return undefined;
    return { format: 'werkzeug-scrypt', cost: `${n}:${r}:${p}`, task: { kind: 'scrypt', n, r, p, salt: Buffer.from(salt, 'utf8'), expected: Buffer.from(hex, 'hex') } };
  }
  m = bcryptHash.exec(stored);
  if (m !== null) {
    const rounds = Number(m[2]);
    if (rounds < 4 || rounds > 14) return undefined;
    // $2y$ (PHP) and $2a$ are bcrypt as $2b$ is for any password a Flask app stored.
    return { format: 'bcrypt', cost: String(rounds), task: { kind: 'bcrypt', hash: `$2b$${stored.slice(4)}` } };
  }
  m = passlibPbkdf2.exec(stored);
  if (m !== null) {
    const digest = m[1] ?? 'sha1';
    const task = pbkdf2(digest, Number(m[2]), ab64(m[3]), ab64(m[4]));
    return task && { format: `passlib-pbkdf2-${digest}`, cost: `${digest}:${task.iterations}`, task };
  }
  m = djangoPbkdf2.exec(stored);
  if (m !== null) {
    const [, digest, count, salt, b64] = m;
    const task = pbkdf2(digest, Number(count), Buffer.from(salt, 'utf8'), Buffer.from(b64, 'base64'));
    return task && { format: `django-pbkdf2-${digest}`, cost: `${digest}:${task.iterations}`, task };
  }
  m = argon2Phc.exec(stored);
  if (m !== null) {
    const [, algorithm, memory, passes, parallelism, salt, tag] = m;
    const parameters = { memory: Number(memory), passes: Number(passes), parallelism: Number(parallelism), nonce: Buffer.from(salt, 'base64'), tagLength: Buffer.from(tag, 'base64').length };
    const sane = parameters.parallelism >= 1 && parameters.parallelism <= 8 && parameters.passes >= 1 && parameters.passes <= 16
      && parameters.memory >= 8 * parameters.parallelism && parameters.memory <= 256 * 1024 && parameters.nonce.length >= 8 && parameters.tagLength >= 4;
    if (!sane) return undefined;
    return { format: algorithm, cost: `${memory}:${passes}:${parallelism}`, task: { kind: 'argon2', algorithm, parameters, expected: Buffer.from(tag, 'base64') } };
  }
  return undefined;
}

/** Runs in a hashing thread: whether `password` (UTF-8 bytes, as typed) matches the parsed hash's task. */
export function verifyLegacyTask(task, password) {
  switch (task.kind) {
    case 'pbkdf2':
      return equal(pbkdf2Sync(password, task.salt, task.iterations, task.expected.length, task.digest), task.expected);
    case 'scrypt':
      return equal(scryptSync(password, task.salt, 64, { N: task.n, r: task.r, p: task.p, maxmem: 132 * task.n * task.r * task.p + 1024 * 1024 }), task.expected);
    case 'bcrypt':
      // bcryptjs compares in constant time itself; it reads the string's UTF-8 bytes.
      return bcrypt.compareSync(Buffer.from(password).toString('utf8'), task.hash);
    case 'argon2':
      return equal(argon2Sync(task.algorithm, { ...task.parameters, message: password }), task.expected);
    default:
      return false;
  }
}

function equal(a, b) {
  return a.length === b.length && timingSafeEqual(a, b);
}
