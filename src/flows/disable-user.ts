import type { User } from '../store/schema.ts';
import { allTokenPurposes, setDisabled } from '../store/user-admin.ts';
import { recordEvent } from '../events/record.ts';
import type { Client } from './client.ts';
import type { FlowDeps } from './deps.ts';

/**
 * `latchkey users disable`: every session ends and every live link dies at
 * once, in one transaction. While disabled the account gets no mail but
 * notices, its links are invalid_token, and a log-in with the right password
 * is 403 account_disabled (a wrong one the usual 401).
 */
export async function disableUser(deps: Pick<FlowDeps, 'store' | 'outbox' | 'config'>, client: Client, user: User): Promise<void> {
  const now = Date.now();
  await deps.store.transaction(async (tx) => {
    await setDisabled(tx.db, user.id, user.disabled_at ?? now);
    await tx.deleteSessions(user.id);
    await tx.voidTokens(user.id, allTokenPurposes, now);
    if (user.disabled_at === null) await recordEvent(deps, tx, { type: 'user.disabled', user: { ...user, disabled_at: now }, client }, now);
  });
}

/** `latchkey users enable`: log-in works again (sessions and links ended at disabling stay ended). */
export async function enableUser(deps: Pick<FlowDeps, 'store' | 'outbox' | 'config'>, client: Client, user: User): Promise<void> {
  await deps.store.transaction(async (tx) => {
    await setDisabled(tx.db, user.id, null);
    if (user.disabled_at !== null) await recordEvent(deps, tx, { type: 'user.enabled', user: { ...user, disabled_at: null }, client });
  });
}
