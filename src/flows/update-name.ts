import type { FlowDeps } from './deps.ts';
import { checkFields, nameField } from './field-check.ts';
import { publicUser, type PublicUser } from './public-user.ts';
import type { Authenticated } from './session.ts';

/** API.md, PATCH /api/me: the display name, by the rules of sign-up; null or "" clears it. */
export async function updateName(deps: Pick<FlowDeps, 'store'>, session: Authenticated, input: { name: string | null }): Promise<PublicUser> {
  const { name } = checkFields({ name: nameField(input.name ?? undefined) });
  await deps.store.db.updateTable('users').set({ name }).where('id', '=', session.user.id).execute();
  return publicUser({ ...session.user, name });
}
