// API.md, Events and webhooks: every type an event can have, and the fields
// each carries in `data`. Flows record them with recordEvent (record.ts).

export type EventFields = {
  'user.created': Record<string, never>;
  'user.confirmed': Record<string, never>;
  'user.signed_in': { method: 'password' | 'link' | 'code' };
  /** Log-out, or a session ended from the list. */
  'user.signed_out': Record<string, never>;
  'user.password_changed': { via: 'reset' | 'change' };
  'user.email_changed': { old_email: string };
  'user.disabled': Record<string, never>;
  'user.enabled': Record<string, never>;
  'user.deleted': Record<string, never>;
};

export type EventType = keyof EventFields;

export const eventTypes = [
  'user.created', 'user.confirmed', 'user.signed_in', 'user.signed_out', 'user.password_changed',
  'user.email_changed', 'user.disabled', 'user.enabled', 'user.deleted',
] as const satisfies readonly EventType[];

/** An event as GET /api/me/events and the export give it. */
export type PublicEvent = {
  id: string;
  type: EventType;
  at: string;
  ip: string | null;
  user_agent: string | null;
  data: Record<string, unknown>;
};
