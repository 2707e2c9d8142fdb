// The outbox as the worker and the operator see it: claim due rows under a
// lease, keep or give back the lease, record each outcome, and list, count or
// retry rows. Flows only ever add rows (Repository.insertOutbox, issueToken).
import type { Kysely, SelectQueryBuilder } from 'kysely';
import type { Capabilities } from './dialect.ts';
import type { Database, OutboxRow, OutboxStatus } from './schema.ts';

export type OutboxStats = {
  pending: number;
  /** Pending and due now: what the workers have not caught up with. */
  due: number;
  failed: number;
  /** Age of the oldest due message in seconds; 0 when none is due. */
  oldestDueSeconds: number;
};

/** The kinds of row a queue sees (mail and webhooks have their own workers and health figures); all when empty. */
export type KindFilter = { only?: string[]; except?: string[] };

export class OutboxQueue {
  readonly #db: Kysely<Database>;
  readonly #capabilities: Capabilities;
  readonly #kinds: KindFilter;

  constructor(store: { db: Kysely<Database>; capabilities: Capabilities }, kinds: KindFilter = {}) {
    this.#db = store.db;
    this.#capabilities = store.capabilities;
    this.#kinds = kinds;
  }

  #ofKinds<Q extends SelectQueryBuilder<Database, 'outbox', object>>(query: Q): Q {
    const { only, except } = this.#kinds;
    let q = query;
    if (only !== undefined) q = q.where('kind', 'in', only) as Q;
    if (except !== undefined) q = q.where('kind', 'not in', except) as Q;
    return q;
  }

  /**
   * Leases up to `limit` due messages until `leaseUntil`. A worker that dies
   * leaves its rows to come back when the lease ends.
   */
  claim(now: number, leaseUntil: number, limit: number): Promise<OutboxRow[]> {
    const due = this.#db.selectFrom('outbox').select('id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .$call((q) => this.#ofKinds(q))
      .orderBy('next_attempt_at')
      .limit(limit)
      .$if(this.#capabilities.rowLocks, (q) => q.forUpdate().skipLocked());
    return this.#db.updateTable('outbox').set({ locked_until: leaseUntil })
      .where('id', 'in', due)
      .returningAll()
      .execute();
  }

  /** Keeps the lease on messages still being sent, so no other worker takes them. */
  async extendLease(ids: string[], leaseUntil: number): Promise<void> {
    if (ids.length === 0) return;
    await this.#db.updateTable('outbox').set({ locked_until: leaseUntil })
      .where('id', 'in', ids).where('status', '=', 'pending').execute();
  }

  /** Gives leased messages back at once (a worker shutting down). */
  async release(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#db.updateTable('outbox').set({ locked_until: null })
      .where('id', 'in', ids).where('status', '=', 'pending').execute();
    // Workers in other processes (PostgreSQL; elsewhere they poll) take them now rather than at their next poll.
    await this.#capabilities.announcer?.now();
  }

  /** Several at once: the worker records the messages that went out in one turn together. */
  async markSent(ids: string[], now: number): Promise<void> {
    await this.#db.updateTable('outbox')
      .set((eb) => ({ status: 'sent', sent_at: now, params: null, locked_until: null, last_error: null, attempts: eb('attempts', '+', 1) }))
      .where('id', 'in', ids).execute();
  }

  // The outcome updates touch only a row still pending: a worker whose lease
  // lapsed must not turn a message another worker has sent back into a failure.

  async markRetry(id: string, nextAttemptAt: number, error: string): Promise<void> {
    await this.#db.updateTable('outbox')
      .set((eb) => ({ next_attempt_at: nextAttemptAt, locked_until: null, last_error: error, attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id).where('status', '=', 'pending').execute();
  }

  /**
   * Failed is final until an operator retries it; the body is kept for that.
   * A failed row's next_attempt_at says when it failed: RETENTION_DAYS counts from it.
   */
  async markFailed(id: string, error: string, attempted: boolean, now = Date.now()): Promise<void> {
    await this.#db.updateTable('outbox')
      .set((eb) => ({ status: 'failed', next_attempt_at: now, locked_until: null, last_error: error, attempts: attempted ? eb('attempts', '+', 1) : eb.ref('attempts') }))
      .where('id', '=', id).where('status', '=', 'pending').execute();
  }

  /** Puts failed messages (all of them, or those named) back in the queue, due now. */
  async retryFailed(now: number, ids?: string[]): Promise<number> {
    const result = await this.#db.updateTable('outbox')
      .set({ status: 'pending', next_attempt_at: now, locked_until: null })
      .where('status', '=', 'failed')
      .$if(ids !== undefined, (q) => q.where('id', 'in', ids!))
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  list(filter: { status?: OutboxStatus; limit?: number } = {}): Promise<OutboxRow[]> {
    return this.#db.selectFrom('outbox').selectAll()
      .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
      .orderBy('created_at')
      .$if(filter.limit !== undefined, (q) => q.limit(filter.limit!))
      .execute();
  }

  async stats(now: number): Promise<OutboxStats> {
    const rows = await this.#db.selectFrom('outbox')
      .select((eb) => [
        'status',
        eb.fn.countAll<number | string>().as('count'),
        eb.fn.min(eb.case().when('next_attempt_at', '<=', now).then(eb.ref('next_attempt_at')).end()).as('oldest_due'),
        eb.fn.sum<number | string | null>(eb.case().when('next_attempt_at', '<=', now).then(1).else(0).end()).as('due'),
      ])
      // Sent rows are history and only grow; counting them would make this cost rise forever.
      .where('status', 'in', ['pending', 'failed'])
      .$call((q) => this.#ofKinds(q))
      .groupBy('status')
      .execute();
    const stats: OutboxStats = { pending: 0, due: 0, failed: 0, oldestDueSeconds: 0 };
    for (const row of rows) {
      if (row.status === 'failed') stats.failed = Number(row.count);
      if (row.status === 'pending') {
        stats.pending = Number(row.count);
        stats.due = Number(row.due ?? 0);
        if (row.oldest_due !== null) stats.oldestDueSeconds = Math.max(0, Math.floor((now - Number(row.oldest_due)) / 1000));
      }
    }
    return stats;
  }
}
