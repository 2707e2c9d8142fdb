// Runs in a worker thread (see password-hash.ts): in this Node build the
// asynchronous crypto.argon2 still does its work on the calling thread, so
// the synchronous form is called here, away from the event loop.
//
// Plain JavaScript, the one file that is: a .ts file would make each hashing
// thread load Node's type stripper (a WebAssembly compiler), 14–33 MB of
// memory per thread measured here, for three lines of code.
import { argon2Sync } from 'node:crypto';
import { setPriority } from 'node:os';

// Hashing threads yield the CPU to the event loop: on Linux a thread's nice
// value is its own, so the loop keeps answering (/api/me during a log-in
// flood) while the hashes use every cycle it leaves. Raising one's own nice
// value needs no privilege.
try {
  setPriority(10);
} catch {
  // Not allowed here (some sandboxes): hashing still works, at normal priority.
}

/** @param {import('node:crypto').Argon2Parameters} parameters */
export default function derive(parameters) {
  return argon2Sync('argon2id', parameters);
}
