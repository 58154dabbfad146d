import type { Kysely } from 'kysely';

// Account tokens whose expiry slides with use, and key/value user data on servers.
export async function up(db: Kysely<unknown>): Promise<void> {
  // Null: the expiry (if any) is fixed. Otherwise each use moves `expires_at` to this many seconds ahead.
  await db.schema.alterTable('api_tokens').addColumn('idle_timeout_seconds', 'integer').execute();

  await db.schema
    .createTable('server_user_data')
    .addColumn('server_id', 'text', (c) => c.notNull().references('servers.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    // base64 of the bytes: a value may be any content (a script, a binary blob).
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('server_user_data_pk', ['server_id', 'key'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('server_user_data').execute();
  await db.schema.alterTable('api_tokens').dropColumn('idle_timeout_seconds').execute();
}
