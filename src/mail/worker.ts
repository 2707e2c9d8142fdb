// Delivers the outbox: claims due rows under a lease, renders and sends each,
// and records the outcome. A temporary failure (connection, timeout, SMTP 4xx)
// is retried with exponential backoff and jitter; a permanent one (SMTP 5xx)
// or a message whose link has expired ends `failed`, kept for inspection.
import type { Store } from '../store/store.ts';
import type { OutboxRow } from '../store/schema.ts';
import type { MessageKind, MessageParams } from './messages.ts';
import type { Outbox } from './outbox.ts';
import type { MailRenderer } from './render.ts';
import type { MailTransport } from './transport.ts';

export type WorkerOptions = {
  sender: string;
  batchSize?: number;
  /** How long a claimed row stays with this worker before another may take it. */
  leaseMs?: number;
  /** Fallback poll, for rows enqueued by other processes and retries coming due. */
  pollMs?: number;
  /** A message without a link expiry is given up after this long. */
  maxAgeMs?: number;
  /** The first retry's delay; each later one doubles it. */
  retryBaseMs?: number;
  log?: (event: Record<string, unknown>, message: string) => void;
};

type Outcome = 'sent' | 'retry' | 'failed';

export class OutboxWorker {
  readonly #store: Store;
  readonly #transport: MailTransport;
  readonly #renderer: MailRenderer;
  readonly #options: Required<WorkerOptions>;
  #running = false;
  #loop: Promise<void> | undefined;
  #wakeUp: (() => void) | undefined;
  #pendingWake = false;
  #unsubscribe: (() => void) | undefined;

  constructor(store: Store, transport: MailTransport, renderer: MailRenderer, options: WorkerOptions) {
    this.#store = store;
    this.#transport = transport;
    this.#renderer = renderer;
    this.#options = {
      batchSize: 20,
      leaseMs: 60_000,
      pollMs: 1_000,
      maxAgeMs: 3 * 86_400_000,
      retryBaseMs: 5_000,
      log: () => {},
      ...options,
    };
  }

  /** Starts the loop; `outbox` (when in the same process) wakes it as soon as a flow commits mail. */
  start(outbox?: Outbox): void {
    if (this.#running) return;
    this.#running = true;
    this.#unsubscribe = outbox?.onWake(() => this.wake());
    this.#loop = this.#run();
  }

  wake(): void {
    this.#pendingWake = true;
    this.#wakeUp?.();
  }

  /** Stops claiming; resolves once the messages in flight are settled. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#unsubscribe?.();
    this.#wakeUp?.();
    await this.#loop;
  }

  /** One pass over the due rows; returns how many it handled. */
  async deliverDue(): Promise<number> {
    const now = Date.now();
    const rows = await this.#store.claimDueOutbox(now, now + this.#options.leaseMs, this.#options.batchSize);
    await Promise.all(rows.map((row) => this.#deliver(row)));
    return rows.length;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let handled = 0;
      try {
        this.#pendingWake = false;
        handled = await this.deliverDue();
      } catch (error) {
        // The database may be briefly unreachable; the rows wait for the next pass.
        this.#options.log({ err: errorSummary(error) }, 'outbox claim failed');
      }
      if (handled === 0 && !this.#pendingWake && this.#running) await this.#sleep(this.#options.pollMs);
    }
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

  async #deliver(row: OutboxRow): Promise<Outcome> {
    const now = Date.now();
    const age = now - row.created_at;
    if ((row.expires_at !== null && row.expires_at <= now) || age > this.#options.maxAgeMs) {
      await this.#store.markOutboxFailed(row.id, `expired before delivery (last error: ${row.last_error ?? 'none'})`);
      this.#options.log({ outboxId: row.id, kind: row.kind }, 'mail expired before delivery');
      return 'failed';
    }
    try {
      const params = JSON.parse(row.params ?? '{}') as MessageParams;
      const rendered = await this.#renderer.render(row.kind as MessageKind, params, row.created_at);
      const answer = await this.#transport.send({
        from: this.#options.sender,
        to: row.recipient,
        ...rendered,
        messageId: row.message_id,
        date: new Date(now),
      });
      await this.#store.markOutboxSent(row.id, Date.now());
      this.#options.log({ outboxId: row.id, kind: row.kind, answer }, 'mail sent');
      return 'sent';
    } catch (error) {
      const summary = errorSummary(error);
      if (isPermanent(error)) {
        await this.#store.markOutboxFailed(row.id, summary);
        this.#options.log({ outboxId: row.id, kind: row.kind, err: summary }, 'mail failed permanently');
        return 'failed';
      }
      await this.#store.markOutboxRetry(row.id, now + backoff(row.attempts, this.#options.retryBaseMs), summary);
      this.#options.log({ outboxId: row.id, kind: row.kind, err: summary, attempt: row.attempts + 1 }, 'mail delivery will be retried');
      return 'retry';
    }
  }
}

/** base, 2×base, 4×base … capped at 30 min, each ±50% so retries after an outage spread out. */
export function backoff(attempts: number, baseMs: number): number {
  const base = Math.min(baseMs * 2 ** attempts, 30 * 60_000);
  return Math.round(base * (0.5 + Math.random()));
}

function isPermanent(error: unknown): boolean {
  const e = error as { permanent?: boolean; code?: string };
  // A bad login is a configuration problem: once it is fixed, the mail should go.
  return e.permanent === true && e.code !== 'EAUTH';
}

function errorSummary(error: unknown): string {
  const e = error as { code?: string; responseCode?: number; response?: string; message?: string };
  return [e.code, e.responseCode, e.response ?? e.message].filter((p) => p !== undefined).join(' ').slice(0, 500);
}
