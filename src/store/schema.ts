// Row types of every table. Times are milliseconds since the epoch in a
// BIGINT, the one representation both databases compare and index alike.
import type { ColumnType, Insertable, Selectable } from 'kysely';

export type TokenPurpose = 'confirm' | 'reset' | 'email_change' | 'login' | 'invite';
export type OutboxStatus = 'pending' | 'sent' | 'failed';

export interface UsersTable {
  id: string;
  /** As first typed (trimmed): used for display and sending. */
  email: string;
  /** The canonical form: every lookup and the unique index use it. */
  email_canonical: string;
  name: string | null;
  password_hash: string;
  confirmed_at: number | null;
  created_at: number;
  /** The language of the account's mail (src/locale.ts); the database fills in 'en' when none is given. */
  locale: ColumnType<string, string | undefined, string>;
  /** When an operator disabled the account (`latchkey users disable`); null while enabled. */
  disabled_at: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface SessionsTable {
  /** SHA-256 of the bearer token; the token itself is never stored. */
  token_hash: string;
  user_id: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  /** The public id (API.md, Sessions): random, never the token nor derived from it. */
  id: string;
  /** The client IP and User-Agent at log-in (flows/client.ts); null when unknown. */
  ip: string | null;
  user_agent: string | null;
}

export interface TokensTable {
  token_hash: string;
  user_id: string;
  purpose: TokenPurpose;
  /** The address an email-change token moves the account to. */
  new_email: string | null;
  created_at: number;
  expires_at: number;
  /** Set when redeemed or voided; a token with it set is dead. */
  spent_at: number | null;
  /** The link's 6-digit code as a keyed hash (security/link-codes.ts); null once a newer link of the purpose voided it. */
  code_hash: ColumnType<string | null, string | null | undefined, string | null>;
  /** The canonical address the code's mail went to, which it is tried with. */
  code_address: ColumnType<string | null, string | null | undefined, string | null>;
  /** Wrong codes tried against this one; the fifth voids it and its link. */
  code_failures: ColumnType<number, number | undefined, number>;
}

export interface OutboxTable {
  id: string;
  kind: string;
  recipient: string;
  /** Template values as JSON, link included; erased (null) once sent. */
  params: string | null;
  message_id: string;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: number;
  locked_until: number | null;
  last_error: string | null;
  /** When the message's link expires: past it, sending is pointless. */
  expires_at: number | null;
  created_at: number;
  sent_at: number | null;
}

export interface EventsTable {
  id: string;
  user_id: string;
  /** One of src/events/types.ts EventType. */
  type: string;
  at: number;
  ip: string | null;
  user_agent: string | null;
  /** The event's own fields as JSON (method, via, old_email); '{}' when none. */
  data: string;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  tokens: TokensTable;
  outbox: OutboxTable;
  events: EventsTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type Token = Selectable<TokensTable>;
/** A token as issued: not yet spent. */
export type NewToken = Omit<Insertable<TokensTable>, 'spent_at'>;
export type Session = Selectable<SessionsTable>;
export type OutboxRow = Selectable<OutboxTable>;
export type NewOutboxRow = Insertable<OutboxTable>;
export type EventRow = Selectable<EventsTable>;
