// Recording an event: one call inside the flow's transaction, so the event
// commits with its change or not at all. With WEBHOOK_URL set, the same
// transaction queues its delivery in the outbox (src/webhooks/), holding
// everything the POST needs: an account deleted later is still announced whole.
import { randomUUID } from 'node:crypto';
import type { Client } from '../flows/client.ts';
import type { FlowDeps } from '../flows/deps.ts';
import { isoSeconds, publicUser } from '../flows/public-user.ts';
import { insertEvent } from '../store/events.ts';
import type { User } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { webhookPayload } from '../webhooks/payload.ts';
import type { EventFields, EventType } from './types.ts';

export type NewEvent<T extends EventType> = {
  type: T;
  /** The account as it is after the change. */
  user: User;
  client: Client;
} & (EventFields[T] extends Record<string, never> ? { data?: undefined } : { data: EventFields[T] });

/** Call inside the flow's transaction (`tx`). Returns the event's id. */
export async function recordEvent<T extends EventType>(deps: Pick<FlowDeps, 'outbox' | 'config'>, tx: Store, event: NewEvent<T>, now = Date.now()): Promise<string> {
  const id = randomUUID();
  const data: Record<string, unknown> = event.data ?? {};
  const row = { id, user_id: event.user.id, type: event.type, at: now, ip: event.client.ip, user_agent: event.client.userAgent, data: JSON.stringify(data) };
  await insertEvent(tx.db, row);
  if (deps.config.webhook !== undefined) {
    await deps.outbox.enqueueWebhook(tx, { id, type: event.type, payload: webhookPayload(row, publicUser(event.user), isoSeconds(now)) }, now);
  }
  return id;
}
