// Runs in a worker thread (see password-hash.ts): in this Node build the
// asynchronous crypto.argon2 still does its work on the calling thread, so
// the synchronous form is called here, away from the event loop. Imported
// hashes (legacy-hashes.js) are verified here too, for the same reason.
//
// Plain JavaScript, the one file that is: a .ts file would make each hashing
// thread load Node's type stripper (a WebAssembly compiler), 14–33 MB of
// memory per thread measured here, for three lines of code.
import { argon2Sync } from 'node:crypto';
import { setPriority } from 'node:os';
import { parseLegacyHash, verifyLegacyTask } from './legacy-hashes.js';

// Hashing threads yield the CPU to the event loop: on Linux a thread's nice
// value is its own, so the loop keeps answering (/api/me during a log-in
// flood) while the hashes use every cycle it leaves. Raising one's own nice
// value needs no privilege.
try {
  setPriority(10);
} catch {
  // Not allowed here (some sandboxes): hashing still works, at normal priority.
}

/**
 * Either argon2id parameters (the tag is returned), or `{ legacy, password }`:
 * an imported hash and the password's UTF-8 bytes as typed (whether they match).
 * @param {import('node:crypto').Argon2Parameters | { legacy: string, password: Uint8Array }} task
 */
export default function derive(task) {
  if ('legacy' in task) {
    const parsed = parseLegacyHash(task.legacy);
    return parsed !== undefined && verifyLegacyTask(parsed.task, task.password);
  }
  return argon2Sync('argon2id', task);
}
