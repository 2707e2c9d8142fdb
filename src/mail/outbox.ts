// The durable outbox: a flow writes its message here in the same transaction
// as the token it carries, so a request answered 202 has its mail on disk.
// What it carries (the link) is sealed under SECRET_KEY before it is written:
// a copy of the database taken while mail waits opens no account.
import { randomUUID } from 'node:crypto';
import { SecretBox } from '../security/secret-box.ts';
import type { NewOutboxRow, OutboxRow } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import type { WebhookPayload } from '../webhooks/payload.ts';
import type { Message, MessageParams } from './messages.ts';

/** The key that seals outbox params, derived from SECRET_KEY for this one use. */
export function outboxSecretBox(secretKey: Buffer): SecretBox {
  return SecretBox.derive(secretKey, 'outbox params');
}

/**
 * A row's template values, opened with `box`; rows written before sealing
 * existed hold plain JSON and are read as such. A row the key does not open
 * is an error value whose text goes to last_error.
 */
export function openParams(box: SecretBox, row: Pick<OutboxRow, 'id' | 'params'>): { params: MessageParams } | { error: string } {
  const stored = row.params ?? '{}';
  const json = stored.startsWith('{') ? stored : SecretBox.isSealed(stored) ? box.open(stored, row.id) : undefined;
  if (json === undefined) {
    return { error: SecretBox.isSealed(stored) ? 'cannot decrypt: SECRET_KEY is not the key this message was written with' : 'cannot decrypt: the message body is in an unknown format' };
  }
  try {
    return { params: JSON.parse(json) as MessageParams };
  } catch {
    return { error: 'the message body is not valid JSON' };
  }
}

/** The outbox kind of webhook deliveries; every other kind is mail. */
export const webhookKind = 'webhook';
/** API.md: a delivery is retried for up to 3 days. */
const webhookRetryMs = 3 * 86_400_000;

export class Outbox {
  readonly #messageIdDomain: string;
  readonly #box: SecretBox;

  constructor(messageIdDomain: string, box: SecretBox) {
    this.#messageIdDomain = messageIdDomain;
    this.#box = box;
  }

  /** Call inside the flow's transaction; the store wakes the in-process worker once it commits. */
  async enqueue(tx: Store, message: Message, now = Date.now()): Promise<void> {
    await tx.insertOutbox(this.row(message, now));
  }

  /**
   * A webhook delivery (src/webhooks/): kind `webhook`, the event type as its
   * recipient (what `latchkey outbox list` shows), the event id as its
   * message id (the `webhook-id` of every attempt), the payload sealed.
   */
  async enqueueWebhook(tx: Store, event: { id: string; type: string; payload: WebhookPayload }, now = Date.now()): Promise<void> {
    const id = randomUUID();
    await tx.insertOutbox({
      id, kind: webhookKind, recipient: event.type, params: this.#box.seal(JSON.stringify(event.payload), id), message_id: event.id,
      status: 'pending', attempts: 0, next_attempt_at: now, locked_until: null, last_error: null,
      expires_at: now + webhookRetryMs, created_at: now, sent_at: null,
    });
  }

  /** The outbox row for a message, for a store write that queues it (Store.issueToken). */
  row(message: Message, now = Date.now()): NewOutboxRow {
    const id = randomUUID();
    return {
      id,
      kind: message.kind,
      recipient: message.to,
      // Sealed with the row's id as associated data: it opens in this row only.
      params: this.#box.seal(JSON.stringify(message.params), id),
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
}
