import type { User } from '../store/schema.ts';
import { recordEvent } from '../events/record.ts';
import type { Client } from './client.ts';
import type { FlowDeps } from './deps.ts';

/** `latchkey users confirm`: the operator vouches for the address; its confirmation links are spent with it. */
export async function confirmUser(deps: Pick<FlowDeps, 'store' | 'outbox' | 'config'>, client: Client, user: User): Promise<void> {
  const now = Date.now();
  await deps.store.transaction(async (tx) => {
    await tx.confirmUser(user.id, now);
    await tx.voidTokens(user.id, ['confirm'], now);
    if (user.confirmed_at === null) await recordEvent(deps, tx, { type: 'user.confirmed', user: { ...user, confirmed_at: now }, client }, now);
  });
}
