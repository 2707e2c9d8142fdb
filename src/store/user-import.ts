// The queries of `latchkey users import` (commands/users-import.ts) and of
// the timing of imported hashes (flows/legacy-timing.ts).
import type { Kysely } from 'kysely';
import type { Database, NewUser } from './schema.ts';

/** Which of these canonical addresses already have an account. */
export async function takenAddresses(db: Kysely<Database>, canonicals: string[]): Promise<Set<string>> {
  if (canonicals.length === 0) return new Set();
  const rows = await db.selectFrom('users').select('email_canonical').where('email_canonical', 'in', canonicals).execute();
  return new Set(rows.map((row) => row.email_canonical));
}

/**
 * Inserts the users in one statement (one transaction); a canonical address
 * already taken is skipped, never updated. Returns the addresses inserted.
 */
export async function insertImportedUsers(db: Kysely<Database>, users: NewUser[]): Promise<Set<string>> {
  if (users.length === 0) return new Set();
  const rows = await db.insertInto('users').values(users)
    .onConflict((oc) => oc.column('email_canonical').doNothing())
    .returning('email_canonical')
    .execute();
  return new Set(rows.map((row) => row.email_canonical));
}

/** One stored hash that is not ours (argon2id) nor empty: an imported one still waiting for its owner's log-in. */
export async function sampleImportedHash(db: Kysely<Database>): Promise<string | undefined> {
  const row = await db.selectFrom('users').select('password_hash')
    .where('password_hash', 'not like', '$argon2id$%')
    .where('password_hash', '<>', '')
    .limit(1)
    .executeTakeFirst();
  return row?.password_hash;
}
