// The messages Latchkey sends, and the values each template receives. A flow
// enqueues one of these inside its own transaction; the worker renders and
// sends it later, so a request never waits on SMTP.

export type MessageParams = {
  /** The account holder's name, to greet by; null when none was given. */
  name: string | null;
  /** The link the message exists to deliver, when it has one. */
  link?: string;
  /** ISO time the link stops working. */
  expires_at?: string;
  /** The new address, in the email-change messages. */
  new_email?: string;
  /** The account's language (src/locale.ts); mail enqueued before it existed is English. */
  locale?: string;
};

export const messageKinds = [
  'confirm',
  'account_exists',
  'reset_password',
  'password_changed',
  'email_change_confirm',
  'email_change_notice',
  'email_in_use',
  'invitation',
  'account_deleted',
] as const;

export type MessageKind = (typeof messageKinds)[number];

export type Message = {
  kind: MessageKind;
  /** The address stored on the account, never one a request typed. */
  to: string;
  params: MessageParams;
  /** When the link expires; a message still unsent then is pointless. */
  expiresAt?: number;
};
