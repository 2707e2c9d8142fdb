import type { User } from '../store/schema.ts';
import type { Client } from './client.ts';
import type { FlowDeps } from './deps.ts';

/** `latchkey users revoke-sessions`: every session of the account ends at once; its password and links stay. */
export async function revokeSessions(deps: Pick<FlowDeps, 'store'>, _client: Client, user: User): Promise<void> {
  await deps.store.deleteSessions(user.id);
}
