// The body of a webhook POST (API.md, Events and webhooks; Standard Webhooks):
// `{"type", "timestamp", "data"}`, where data holds the user as the API gives
// it, the request's ip and user_agent, and the event's own fields. Built when
// the event is recorded and sealed in the outbox row, so every retry sends the
// same bytes and a deleted account is still described.
import type { PublicUser } from '../flows/public-user.ts';
import type { EventRow } from '../store/schema.ts';

export type WebhookPayload = {
  type: string;
  /** When the event happened (ISO 8601). */
  timestamp: string;
  data: { user: PublicUser; ip: string | null; user_agent: string | null } & Record<string, unknown>;
};

export function webhookPayload(event: EventRow, user: PublicUser, timestamp: string): WebhookPayload {
  return { type: event.type, timestamp, data: { ...(JSON.parse(event.data) as Record<string, unknown>), user, ip: event.ip, user_agent: event.user_agent } };
}
