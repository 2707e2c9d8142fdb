// Look-ups of rows by key, merged: every `get` asked for in one turn of the
// event loop goes out as one `where <key> in (…)` query. Under load a query
// round trip (PostgreSQL) or a driver's per-query overhead (Kysely over
// node:sqlite) costs far more than a few more rows in it, and every caller
// asks the same shape of question (a session by its token's hash, a user by
// address), so many callers share one query.
//
// What a caller can count on: its query starts after its `get` was called, so
// it sees every write committed before then (a revoked session is gone at
// once); a caller never joins a query already running. Only outside a
// transaction: one must see its own uncommitted writes, so it asks directly.

/**
 * Loads the rows whose key is one of `keys`. `keys` may repeat a key (the list
 * is padded, see below); a key with no row is simply absent from the answer.
 */
export type LoadByKeys<K, R> = (keys: readonly K[]) => Promise<readonly R[]>;

export type BatchedLookupsOptions<K, R> = {
  load: LoadByKeys<K, R>;
  /** The key a loaded row answers, e.g. its `token_hash` column. */
  keyOf: (row: R) => K;
  /** Distinct keys per query (default 32). */
  maxKeys?: number;
  /** Queries running at once (default 2): the rest wait and so merge into larger ones. */
  maxInFlight?: number;
};

type Waiter<R> = { resolve: (row: R | undefined) => void; reject: (error: unknown) => void };

export class BatchedLookups<K, R> {
  readonly #load: LoadByKeys<K, R>;
  readonly #keyOf: (row: R) => K;
  readonly #maxKeys: number;
  readonly #maxInFlight: number;
  /** Callers not yet in a query, by key: equal keys wait on one entry. */
  readonly #waiting = new Map<K, Waiter<R>[]>();
  #inFlight = 0;
  #scheduled = false;

  constructor(options: BatchedLookupsOptions<K, R>) {
    this.#load = options.load;
    this.#keyOf = options.keyOf;
    this.#maxKeys = options.maxKeys ?? 32;
    this.#maxInFlight = options.maxInFlight ?? 2;
  }

  /** The row with this key, or undefined when there is none. */
  get(key: K): Promise<R | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.#waiting.get(key);
      if (waiters === undefined) this.#waiting.set(key, [{ resolve, reject }]);
      else waiters.push({ resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // At the end of this turn: the requests read in it have all asked by then.
        setImmediate(() => {
          this.#scheduled = false;
          this.#startQueries();
        });
      }
    });
  }

  #startQueries(): void {
    while (this.#inFlight < this.#maxInFlight && this.#waiting.size > 0) {
      const batch = new Map<K, Waiter<R>[]>();
      for (const [key, waiters] of this.#waiting) {
        if (batch.size === this.#maxKeys) break;
        batch.set(key, waiters);
        this.#waiting.delete(key);
      }
      this.#inFlight += 1;
      void this.#run(batch);
    }
  }

  async #run(batch: Map<K, Waiter<R>[]>): Promise<void> {
    try {
      const rows = await this.#load(padded([...batch.keys()]));
      const byKey = new Map<K, R>();
      for (const row of rows) byKey.set(this.#keyOf(row), row);
      for (const [key, waiters] of batch) for (const { resolve } of waiters) resolve(byKey.get(key));
    } catch (error) {
      for (const waiters of batch.values()) for (const { reject } of waiters) reject(error);
    } finally {
      this.#inFlight -= 1;
      // Whoever asked while both queries ran goes out now, merged.
      this.#startQueries();
    }
  }
}

/**
 * The keys, the last repeated up to a power of two: a prepared-statement cache
 * (sqlite.ts, postgres.ts) then holds a handful of `in (…)` shapes rather than
 * one per list length.
 */
export function padded<K>(keys: readonly K[]): K[] {
  let size = 1;
  while (size < keys.length) size *= 2;
  return [...keys, ...Array<K>(size - keys.length).fill(keys[keys.length - 1]!)];
}
