// Runs in a worker thread (see password-hash.ts): in this Node build the
// asynchronous crypto.argon2 still does its work on the calling thread, so
// the synchronous form is called here, away from the event loop.
import { argon2Sync, type Argon2Parameters } from 'node:crypto';

export default function derive(parameters: Argon2Parameters): Uint8Array {
  return argon2Sync('argon2id', parameters);
}
