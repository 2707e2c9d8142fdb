// Runs in a worker thread (see password-hash.ts): in this Node build the
// asynchronous crypto.argon2 still does its work on the calling thread, so
// the synchronous form is called here, away from the event loop.
import { argon2Sync, type Argon2Parameters } from 'node:crypto';
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

export default function derive(parameters: Argon2Parameters): Uint8Array {
  return argon2Sync('argon2id', parameters);
}
