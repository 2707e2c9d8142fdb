// The durable outbox: a flow writes its message here in the same transaction
// as the token it carries, so a request answered 202 has its mail on disk.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { NewOutboxRow } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import type { Message } from './messages.ts';

export class Outbox {
  readonly #events = new EventEmitter();
  readonly #messageIdDomain: string;

  constructor(messageIdDomain: string) {
    this.#messageIdDomain = messageIdDomain;
  }

  /** Call inside the flow's transaction. */
  async enqueue(tx: Store, message: Message, now = Date.now()): Promise<void> {
    await tx.insertOutbox(this.row(message, now));
  }

  /** The outbox row for a message, for a store write that queues it (Store.issueToken). */
  row(message: Message, now = Date.now()): NewOutboxRow {
    const id = randomUUID();
    return {
      id,
      kind: message.kind,
      recipient: message.to,
      params: JSON.stringify(message.params),
      // Stable across retries, so a resend after a dropped connection is recognisably the same message.
      message_id: `<${id}@${this.#messageIdDomain}>`,
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      locked_until: null,
      last_error: null,
      expires_at: message.expiresAt ?? null,
      created_at: now,
      sent_at: null,
    };
  }

  /** Call after the transaction commits: an in-process worker sends at once instead of at its next poll. */
  wake(): void {
    this.#events.emit('wake');
  }

  onWake(listener: () => void): () => void {
    this.#events.on('wake', listener);
    return () => this.#events.off('wake', listener);
  }
}
