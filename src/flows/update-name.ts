import { setName } from '../store/user-admin.ts';
import type { FlowDeps } from './deps.ts';
import { checkFields, nameField } from './field-check.ts';
import { publicUser, type PublicUser } from './public-user.ts';
import type { Authenticated } from './session.ts';

/** API.md, PATCH /api/me: the display name, by the rules of sign-up; null or "" clears it. */
export async function updateName(deps: Pick<FlowDeps, 'store'>, session: Authenticated, input: { name: string | null }): Promise<PublicUser> {
  const { name } = checkFields({ name: nameField(input.name ?? undefined) });
  await setName(deps.store.db, session.user.id, name);
  return publicUser({ ...session.user, name });
}
