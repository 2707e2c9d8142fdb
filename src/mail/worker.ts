// Delivers the outbox. Claims due rows under a lease (kept alive while a
// message is in flight), sends each through its Delivery (mail: mail-delivery.ts;
// webhooks: src/webhooks/delivery.ts) and records the outcome: sent (the body
// holding the link is erased); a temporary failure (connection, timeout, TLS,
// SMTP 4xx, HTTP 5xx) retried with exponential backoff and jitter; a permanent
// one (SMTP 5xx, a refused recipient, an HTTP 4xx: the Delivery tells) or a
// message past its expiry ends `failed`, with the answer kept for the operator.
// Mail and webhooks each have a worker of their own (`kinds`), so a slow
// receiver never holds the slots mail needs.
import type { MailOutcome } from '../metrics.ts';
import { OutboxQueue, type KindFilter } from '../store/outbox-queue.ts';
import type { Store } from '../store/store.ts';
import type { OutboxRow } from '../store/schema.ts';
import type { SecretBox } from '../security/secret-box.ts';
import { openParams } from './outbox.ts';
import { describeFailure } from './transport.ts';

/** How one kind of outbox row goes out. */
export type Delivery = {
  /** Names it in log lines: "mail sent", "webhook sent". */
  noun: string;
  /** Sends the row with its opened params; resolves to the receiver's answer (logged), throws on failure. */
  send(row: OutboxRow, params: unknown, now: number): Promise<unknown>;
  /** Whether a failure is final: no retry would change the answer. */
  isPermanent(error: unknown): boolean;
};

export type WorkerOptions = {
  /** Opens the sealed params of each message (src/mail/outbox.ts outboxSecretBox). */
  secretBox: SecretBox;
  /**
   * Messages claimed and in flight at once; the pooled transport spreads them
   * over its connections and queues the rest, so its connections stay busy
   * while the next batch is claimed and rendered.
   */
  concurrency?: number;
  /**
   * True while request handling has the process saturated: then only
   * `busyConcurrency` messages are in flight, so answers keep their speed and
   * the outbox holds the rest until the rush is over.
   */
  busy?: () => boolean;
  busyConcurrency?: number;
  /** How long a claimed row stays with this worker unless renewed; a dead worker's rows return after it. */
  leaseMs?: number;
  /** Fallback poll, for retries coming due and mail committed where no wake-up reaches. */
  pollMs?: number;
  /** A message without a link expiry is given up after this long. */
  maxAgeMs?: number;
  /** The first retry's delay; each later one doubles it. */
  retryBaseMs?: number;
  /** On stop, how long in-flight messages may finish before their leases are released. */
  stopGraceMs?: number;
  /** Which rows this worker claims; all when not given. */
  kinds?: KindFilter;
  /** Counts each outcome (the /metrics counter). */
  count?: (row: OutboxRow, outcome: MailOutcome) => void;
  log?: WorkerLog;
};

/**
 * pino's shape, so Fastify's `app.log` or the CLI's logger fit as they are.
 * Levels carry meaning: a retried delivery is a warning and a failed one an
 * error, so an SMTP outage shows at LOG_LEVEL=warn.
 */
export type WorkerLog = Record<'info' | 'warn' | 'error', (event: Record<string, unknown>, message: string) => void>;

const silent: WorkerLog = { info: () => {}, warn: () => {}, error: () => {} };

export class OutboxWorker {
  readonly #store: Store;
  readonly #queue: OutboxQueue;
  readonly #delivery: Delivery;
  readonly #options: Required<Omit<WorkerOptions, 'kinds'>>;
  readonly #inFlight = new Map<string, Promise<void>>();
  /** In flight when stop() gave their leases back: their outcome is no longer this worker's to record. */
  readonly #released = new Set<string>();
  /** Sent, waiting for the next write that records them (#markSent). */
  #sent: { id: string; done: () => void; failed: (error: unknown) => void }[] = [];
  #recordingSent = false;
  #running = false;
  #loop: Promise<void> | undefined;
  #wakeUp: (() => void) | undefined;
  #pendingWake = false;
  #cleanups: (() => unknown)[] = [];

  constructor(store: Store, delivery: Delivery, options: WorkerOptions) {
    this.#store = store;
    this.#queue = new OutboxQueue(store, options.kinds);
    this.#delivery = delivery;
    this.#options = {
      secretBox: options.secretBox,
      concurrency: options.concurrency ?? 32,
      busy: options.busy ?? (() => false),
      busyConcurrency: options.busyConcurrency ?? 2,
      leaseMs: options.leaseMs ?? 15_000,
      pollMs: options.pollMs ?? 1_000,
      maxAgeMs: options.maxAgeMs ?? 3 * 86_400_000,
      retryBaseMs: options.retryBaseMs ?? 5_000,
      stopGraceMs: options.stopGraceMs ?? 10_000,
      count: options.count ?? (() => {}),
      log: options.log ?? silent,
    };
  }

  /**
   * Starts delivering. The store wakes the worker the moment a write of mail
   * commits in this process; its LISTEN (PostgreSQL) does the same for mail
   * committed by other processes.
   */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#cleanups.push(this.#store.onMailCommitted(() => this.wake()));
    if (this.#store.capabilities.listen !== undefined) {
      try {
        this.#cleanups.push(await this.#store.capabilities.listen(() => this.wake()));
      } catch (error) {
        this.#options.log.warn({ err: describeFailure(error) }, 'outbox LISTEN failed; polling only');
      }
    }
    const heartbeat = setInterval(() => this.#renewLeases(), this.#options.leaseMs / 3);
    this.#cleanups.push(() => clearInterval(heartbeat));
    this.#loop = this.#run();
  }

  wake(): void {
    this.#pendingWake = true;
    this.#wakeUp?.();
  }

  /**
   * Stops claiming, lets in-flight messages finish for the grace period, then
   * releases the leases of any still going, so another worker takes them at once.
   */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.wake();
    await this.#loop;
    const settled = Promise.all(this.#inFlight.values());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settled, new Promise((resolve) => { timer = setTimeout(resolve, this.#options.stopGraceMs); })]);
    clearTimeout(timer);
    const unfinished = [...this.#inFlight.keys()];
    for (const id of unfinished) this.#released.add(id);
    await this.#queue.release(unfinished).catch(() => {});
    for (const cleanup of this.#cleanups.splice(0)) await cleanup();
  }

  async #run(): Promise<void> {
    // Claims in batches: once half the slots are free, one claim fills them
    // all, while the other half keeps the transport's connections busy. A
    // claim for each message as it finishes cost a query per message.
    while (this.#running) {
      const concurrency = this.#options.busy() ? this.#options.busyConcurrency : this.#options.concurrency;
      const room = concurrency - this.#inFlight.size;
      const claiming = room >= Math.ceil(concurrency / 2);
      let claimed = 0;
      this.#pendingWake = false;
      if (claiming) {
        try {
          const now = Date.now();
          const rows = await this.#queue.claim(now, now + this.#options.leaseMs, room);
          for (const row of rows) this.#dispatch(row);
          claimed = rows.length;
        } catch (error) {
          // The database may be briefly unreachable; the rows wait for the next pass.
          this.#options.log.warn({ err: describeFailure(error) }, 'outbox claim failed');
        }
      }
      // Claim again at once while there is both work and room; otherwise wait
      // for a wake-up (new mail, or a send finishing) or the fallback poll.
      if ((!claiming || claimed === 0 || claimed === room) && !this.#pendingWake && this.#running) {
        await this.#sleep(claiming && claimed === 0 ? this.#options.pollMs : this.#options.leaseMs);
      }
    }
  }

  #dispatch(row: OutboxRow): void {
    const delivery = this.#deliver(row)
      .catch((error: unknown) => this.#options.log.error({ outboxId: row.id, err: describeFailure(error) }, 'outbox update failed; the lease will expire'))
      .finally(() => {
        this.#inFlight.delete(row.id);
        this.#released.delete(row.id);
        this.wake();
      });
    this.#inFlight.set(row.id, delivery);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeUp = done;
    }).finally(() => { this.#wakeUp = undefined; });
  }

  /**
   * Records a sent message together with the others sent while the previous
   * write was under way: one UPDATE (and one commit) for many messages rather
   * than one each. Resolves once the row says sent, so the lease covers it
   * until then; a crash before that sends it again (at least once, as ever).
   */
  #markSent(id: string): Promise<void> {
    return new Promise<void>((done, failed) => {
      this.#sent.push({ id, done, failed });
      if (!this.#recordingSent) void this.#recordSent();
    });
  }

  async #recordSent(): Promise<void> {
    this.#recordingSent = true;
    // Let the sends finishing in this turn of the event loop join the first write.
    await new Promise(setImmediate);
    while (this.#sent.length > 0) {
      const batch = this.#sent.splice(0);
      try {
        await this.#queue.markSent(batch.map((s) => s.id), Date.now());
        for (const s of batch) s.done();
      } catch (error) {
        for (const s of batch) s.failed(error);
      }
    }
    this.#recordingSent = false;
  }

  #renewLeases(): void {
    const ids = [...this.#inFlight.keys()].filter((id) => !this.#released.has(id));
    this.#queue.extendLease(ids, Date.now() + this.#options.leaseMs)
      .catch((error: unknown) => this.#options.log.warn({ err: describeFailure(error) }, 'outbox lease renewal failed'));
  }

  async #deliver(row: OutboxRow): Promise<void> {
    const now = Date.now();
    if ((row.expires_at !== null && row.expires_at <= now) || now - row.created_at > this.#options.maxAgeMs) {
      await this.#queue.markFailed(row.id, `expired before delivery; last error: ${row.last_error ?? 'none'}`, false);
      this.#record(row, 'failed', 'expired before delivery');
      return;
    }
    // A key that does not open this row never will: fail it alone, and the others go on.
    const opened = openParams(this.#options.secretBox, row);
    if ('error' in opened) {
      await this.#queue.markFailed(row.id, opened.error, false);
      this.#record(row, 'failed', 'cannot be opened', { err: opened.error });
      return;
    }
    try {
      const answer = await this.#delivery.send(row, opened.params, now);
      await this.#markSent(row.id);
      this.#record(row, 'sent', 'sent', { answer });
    } catch (error) {
      const summary = describeFailure(error);
      if (this.#released.has(row.id)) {
        // Cut off after stop() released it (the transport closed): the row is due
        // for the next worker now, and a retry written here would push it back.
        this.#options.log.info({ outboxId: row.id, kind: row.kind, err: summary }, `${this.#delivery.noun} delivery abandoned on stop; the lease was released`);
        return;
      }
      if (this.#delivery.isPermanent(error)) {
        await this.#queue.markFailed(row.id, summary, true);
        this.#record(row, 'failed', 'failed permanently', { err: summary });
      } else {
        await this.#queue.markRetry(row.id, now + backoff(row.attempts, this.#options.retryBaseMs), summary);
        this.#record(row, 'retried', 'delivery will be retried', { err: summary, attempt: row.attempts + 1 });
      }
    }
  }

  #record(row: OutboxRow, outcome: MailOutcome, message: string, extra: Record<string, unknown> = {}): void {
    this.#options.count(row, outcome);
    this.#options.log[outcomeLevel[outcome]]({ outboxId: row.id, kind: row.kind, ...extra }, `${this.#delivery.noun} ${message}`);
  }
}

const outcomeLevel = { sent: 'info', retried: 'warn', failed: 'error' } as const satisfies Record<MailOutcome, keyof WorkerLog>;

/** base, 2×base, 4×base … capped at 30 min, each ±50% so retries after an outage spread out. */
export function backoff(attempts: number, baseMs: number): number {
  const base = Math.min(baseMs * 2 ** attempts, 30 * 60_000);
  return Math.round(base * (0.5 + Math.random()));
}
