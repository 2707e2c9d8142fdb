// API.md "Passwords": a log-in to an account with an imported hash answers in
// about the same time as any other. password-hash.ts makes every verification
// last as long as imported hashes take, once it knows how long that is; this
// teaches it before the first log-in: while the database holds an imported
// hash, one is verified (against a random password) before the first
// password of this process is checked. Checked again every few minutes, in
// the background, for imports made while the service runs, and to stop the
// waiting once every imported account has logged in (moved to argon2id).
import { forgetImportedHashTimes, measureLegacyHash } from '../security/password-hash.ts';
import type { Store } from '../store/store.ts';
import { sampleImportedHash } from '../store/user-import.ts';

const recheckMs = 5 * 60_000;
const learned = new WeakMap<Store, { at: number; done: Promise<void> }>();

/** Resolves once this store's imported hashes have been timed (at once when they were, or a recheck runs in the background). */
export function learnImportedHashTime(store: Store): Promise<void> {
  const previous = learned.get(store);
  const now = Date.now();
  if (previous !== undefined && now - previous.at < recheckMs) return previous.done;
  const done = (async () => {
    const sample = await sampleImportedHash(store.db);
    if (sample !== undefined) await measureLegacyHash(sample);
    // Only when this process has timed imported hashes before: a check with none left ends the waiting.
    else if (previous !== undefined) forgetImportedHashTimes();
  })().catch(() => {
    // A failed look-up (database down) is the request's own error to report, not this one's.
    learned.delete(store);
  });
  learned.set(store, { at: now, done });
  return previous === undefined ? done : previous.done;
}
