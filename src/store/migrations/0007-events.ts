import type { Kysely } from 'kysely';

// What happened to each account (API.md, Events and webhooks). No foreign key
// to users: deleting an account announces `user.deleted` first (its webhook
// row holds the user's data, sealed) and deletes the events after, in the same
// transaction; EVENT_RETENTION_DAYS prunes the rest by `at`.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('events_user_id_at').on('events').columns(['user_id', 'at']).execute();
  // Retention deletes by age across all accounts.
  await db.schema.createIndex('events_at').on('events').column('at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('events').execute();
}
