import { sql, type Kysely } from 'kysely';

// A 6-digit code beside every emailed link (API.md "Links and codes"): the
// same row as the link, so spending either spends both. Stored only as a keyed
// hash (security/link-codes.ts), with the canonical address its mail went to,
// since a code is tried together with that address, and the wrong tries
// against it, so that the fifth wrong one voids the code and its link.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tokens').addColumn('code_hash', 'text').execute();
  await db.schema.alterTable('tokens').addColumn('code_address', 'text').execute();
  await db.schema.alterTable('tokens').addColumn('code_failures', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.createIndex('tokens_live_code_address').on('tokens').columns(['code_address', 'purpose']).where(sql.ref('spent_at'), 'is', null).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('tokens_live_code_address').execute();
  for (const column of ['code_failures', 'code_address', 'code_hash']) await db.schema.alterTable('tokens').dropColumn(column).execute();
}
