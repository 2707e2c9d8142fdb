// API.md: a reset or resend request answers "in about the same time" whether
// or not the address has an account. A known address costs one committed
// write (token and mail together), an unknown one only a read; on PostgreSQL
// the commit's WAL flush made the known path 1–3 ms slower on a quiet machine
// and up to 8 ms under load (test/timing.test.ts). So the unknown path waits
// about as long as recent writes took: what is left is noise, not signal.
export class WriteTime {
  #averageMs = 0;

  /** Runs the write and keeps a moving average of how long writes take. */
  async measure<T>(write: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await write();
    } finally {
      this.#averageMs += (performance.now() - started - this.#averageMs) / 16;
    }
  }

  /** Waits about as long as a write takes; below a millisecond (SQLite) a timer would overshoot, so not at all. */
  wait(): Promise<void> {
    const ms = this.#averageMs;
    return ms < 1 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
  }
}
