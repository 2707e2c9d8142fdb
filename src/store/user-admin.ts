// The queries of running accounts (issue 14): listing, disabling, renaming
// and deleting a user with everything tied to it. Functions of a Kysely
// handle, so a flow passes its transaction's (`tx.db`).
import { sql, type Kysely } from 'kysely';
import type { Database, TokenPurpose, User } from './schema.ts';

/** Every purpose a token can have: disabling or deleting an account voids them all. */
export const allTokenPurposes: TokenPurpose[] = ['confirm', 'reset', 'email_change', 'invite'];

/** Users, newest first; `search` matches a part of the address or the name, case-insensitively (ASCII). */
export function listUsers(db: Kysely<Database>, options: { search?: string | undefined; limit: number }): Promise<User[]> {
  let query = db.selectFrom('users').selectAll().orderBy('created_at', 'desc').orderBy('id').limit(options.limit);
  if (options.search !== undefined && options.search !== '') {
    // LIKE's own wildcards in the search are literal characters.
    const pattern = `%${options.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) => eb.or([
      eb(sql`lower(email)`, 'like', sql`${pattern} escape '\\'`),
      eb(sql`lower(coalesce(name, ''))`, 'like', sql`${pattern} escape '\\'`),
    ]));
  }
  return query.execute();
}

/** Disables (a time) or enables (null) the account; true when it existed. */
export async function setDisabled(db: Kysely<Database>, userId: string, disabledAt: number | null): Promise<boolean> {
  const result = await db.updateTable('users').set({ disabled_at: disabledAt }).where('id', '=', userId).executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function setName(db: Kysely<Database>, userId: string, name: string | null): Promise<void> {
  await db.updateTable('users').set({ name }).where('id', '=', userId).execute();
}

/**
 * Deletes the account and what is tied to it: sessions, tokens, and mail
 * still waiting to go to it (its address, or the new address of one of its
 * email changes). Sent and failed rows are history, kept until retention.
 */
export async function deleteUserAndTies(db: Kysely<Database>, user: Pick<User, 'id' | 'email'>): Promise<void> {
  const changes = await db.selectFrom('tokens').select('new_email').where('user_id', '=', user.id).where('new_email', 'is not', null).execute();
  const recipients = [user.email, ...changes.map((t) => t.new_email!)];
  await db.deleteFrom('outbox').where('status', '=', 'pending').where('recipient', 'in', recipients).execute();
  await db.deleteFrom('sessions').where('user_id', '=', user.id).execute();
  await db.deleteFrom('tokens').where('user_id', '=', user.id).execute();
  await db.deleteFrom('users').where('id', '=', user.id).execute();
}
