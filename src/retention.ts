// RETENTION_DAYS: sent and failed mail, dead tokens and ended sessions are
// history nobody reads, and some of it (mail kept for an operator's retry)
// still holds a sealed link. A running `serve` deletes what is past retention
// at start-up and every hour after; `latchkey prune` does the same once.
// Events are kept EVENT_RETENTION_DAYS (365 by default) and pruned in the same pass.
import type { Config } from './config.ts';
import type { PruneOptions, PruneReport } from './store/retention.ts';
import type { Store } from './store/store.ts';

const dayMs = 86_400_000;

export type { PruneReport };

type Retention = Pick<Config, 'retentionDays' | 'sessionIdleTtl' | 'eventRetentionDays'>;

/** One pass; undefined when another instance is pruning now (PostgreSQL). */
export function prunePastRetention(store: Store, config: Retention, now = Date.now(), options?: PruneOptions): Promise<PruneReport | undefined> {
  return store.prune({ endedBefore: now - config.retentionDays * dayMs, sessionIdleMs: config.sessionIdleTtl * 1000, eventsBefore: now - config.eventRetentionDays * dayMs }, options);
}

/** The subset of a pino logger used here. */
type Log = { info(event: object, message: string): void; warn(event: object, message: string): void };

/** The hourly pass of a running server. */
export class Pruner {
  readonly #store: Store;
  readonly #config: Retention;
  readonly #log: Log;
  readonly #intervalMs: number;
  readonly #stopping = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> | undefined;

  constructor(store: Store, config: Retention, log: Log, intervalMs = 3_600_000) {
    this.#store = store;
    this.#config = config;
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  /** A pass now, then one every interval: instances restarted more often than hourly still prune. */
  start(): void {
    const tick = () => {
      this.#pass = this.#run();
      void this.#pass.then(() => {
        if (!this.#stopping.signal.aborted) this.#timer = setTimeout(tick, this.#intervalMs).unref();
      });
    };
    tick();
  }

  /** Stops between two batches and waits for that. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    clearTimeout(this.#timer);
    await this.#pass;
  }

  async #run(): Promise<void> {
    try {
      const report = await prunePastRetention(this.#store, this.#config, Date.now(), { signal: this.#stopping.signal });
      if (report !== undefined && report.outbox + report.tokens + report.sessions + report.events > 0) this.#log.info({ deleted: report }, 'pruned rows past RETENTION_DAYS and EVENT_RETENTION_DAYS');
    } catch (error) {
      // The database may be briefly unreachable; the next pass deletes what this one left.
      this.#log.warn({ err: (error as Error).message }, 'prune failed; retrying at the next pass');
    }
  }
}
