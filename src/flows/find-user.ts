import { isFieldError } from '../field-errors.ts';
import { parseEmail } from '../security/email-address.ts';
import type { User } from '../store/schema.ts';
import { listUsers } from '../store/user-admin.ts';
import type { FlowDeps } from './deps.ts';

/** An account named the way an operator names it: its address (any spelling of the canonical form) or its id. */
export async function findUser(deps: Pick<FlowDeps, 'store'>, emailOrId: string): Promise<User | undefined> {
  if (emailOrId.includes('@')) {
    const address = parseEmail(emailOrId);
    return isFieldError(address) ? undefined : deps.store.findUserByEmail(address.canonical);
  }
  return emailOrId === '' ? undefined : deps.store.findUserById(emailOrId);
}

/** `latchkey users list`: newest first, at most `limit`, optionally those whose address or name contains `search`. */
export function findUsers(deps: Pick<FlowDeps, 'store'>, options: { search?: string | undefined; limit: number }): Promise<User[]> {
  return listUsers(deps.store.db, options);
}
