import { createHmac, timingSafeEqual } from 'node:crypto';
import { resolveSecretKey } from '../security/secret-key.ts';
import type { User } from '../store/schema.ts';
import { deleteEventsOf } from '../store/events.ts';
import { deleteUserAndTies } from '../store/user-admin.ts';
import { recordEvent } from '../events/record.ts';
import type { Client } from './client.ts';
import type { FlowDeps } from './deps.ts';
import { checkCurrentPassword } from './flow-limits.ts';
import type { Authenticated } from './session.ts';

/**
 * Deletes the account and everything tied to it (sessions, tokens, mail still
 * waiting to go to it) and queues the "account deleted" notice to its
 * address, in one transaction: the address is free for a new sign-up at once.
 * `latchkey users delete` calls it directly; a user, after their password.
 */
export async function deleteAccount(deps: Pick<FlowDeps, 'store' | 'outbox' | 'config'>, client: Client, user: User): Promise<void> {
  const now = Date.now();
  await deps.store.transaction(async (tx) => {
    // Announced first: its webhook delivery holds the user's data (sealed), so it outlives the rows.
    await recordEvent(deps, tx, { type: 'user.deleted', user, client }, now);
    await deleteUserAndTies(tx.db, user);
    await deleteEventsOf(tx.db, user.id);
    await deps.outbox.enqueue(tx, { kind: 'account_deleted', to: user.email, params: { name: user.name, locale: user.locale } }, now);
  });
}

/** API.md, DELETE /api/me: the password first; a wrong one is 401 and counts as a failed log-in. */
export async function deleteOwnAccount(deps: FlowDeps, client: Client, session: Authenticated, input: { password: string }): Promise<void> {
  await checkCurrentPassword(deps, session.user, input.password);
  await deleteAccount(deps, client, session.user);
}

// The /account page asks twice: the password, then "really delete?". What the
// first step proved travels to the second as a short-lived ticket bound to the
// session, so no password rides in a hidden field.
const ticketTtlMs = 10 * 60_000;

function ticketMac(deps: Pick<FlowDeps, 'config'>, sessionHash: string, expiresAt: number): string {
  return createHmac('sha256', resolveSecretKey(deps.config)).update(`latchkey-delete-account\0${sessionHash}\0${expiresAt}`).digest('base64url');
}

/** The first step: checks the password (counted as a log-in attempt) and gives the ticket for the second. */
export async function confirmDeletionPassword(deps: FlowDeps, session: Authenticated, input: { password: string }): Promise<string> {
  await checkCurrentPassword(deps, session.user, input.password);
  const expiresAt = Date.now() + ticketTtlMs;
  return `${expiresAt}.${ticketMac(deps, session.sessionHash, expiresAt)}`;
}

/** Whether a ticket from confirmDeletionPassword is this session's and still fresh. */
export function deletionTicketValid(deps: Pick<FlowDeps, 'config'>, session: Authenticated, ticket: string): boolean {
  const [time = '', mac = ''] = ticket.split('.');
  const expiresAt = Number(time);
  if (!/^\d+$/.test(time) || expiresAt <= Date.now()) return false;
  const expected = Buffer.from(ticketMac(deps, session.sessionHash, expiresAt));
  const given = Buffer.from(mac);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
