import { PostgresAdapter, sql, type Kysely } from 'kysely';

// Sessions a user can see and end (API.md, GET /api/sessions): each gets a
// public id, random and never derived from the token, and the IP and
// User-Agent seen at log-in. Sessions opened before this migration get a
// random id of the same shape (32 hex digits) and no IP or User-Agent.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('id', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('ip', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('user_agent', 'text').execute();
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  // Both are drawn from the database's cryptographic generator.
  const randomId = postgres ? sql`replace(gen_random_uuid()::text, '-', '')` : sql`lower(hex(randomblob(16)))`;
  await sql`update sessions set id = ${randomId} where id is null`.execute(db);
  if (postgres) await sql`alter table sessions alter column id set not null`.execute(db);
  await db.schema.createIndex('sessions_id').on('sessions').column('id').unique().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('sessions_id').execute();
  for (const column of ['user_agent', 'ip', 'id']) await db.schema.alterTable('sessions').dropColumn(column).execute();
}

