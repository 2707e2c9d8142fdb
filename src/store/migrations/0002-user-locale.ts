import type { Kysely } from 'kysely';

// Each account's language, chosen at sign-up, so its mail is written in it.
// Accounts made before this migration were mailed in English, and stay so.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').addColumn('locale', 'text', (c) => c.notNull().defaultTo('en')).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('locale').execute();
}
