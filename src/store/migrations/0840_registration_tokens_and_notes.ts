import type { Kysely } from 'kysely';

// Server registration tokens (the key enrols machines into an organization) and notes on servers.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('server_registration_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('organization_path', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('allowed_groups', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('expires_at', 'text')
    .addColumn('created_by', 'text')
    .addColumn('last_used_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('server_registration_tokens_name').on('server_registration_tokens').columns(['organization_id', 'name']).unique().execute();
  await db.schema.createIndex('server_registration_tokens_listing').on('server_registration_tokens').columns(['organization_path', 'created_at', 'id']).execute();

  await db.schema
    .createTable('server_notes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('organization_path', 'text', (c) => c.notNull())
    .addColumn('server_id', 'text', (c) => c.notNull().references('servers.id').onDelete('cascade'))
    .addColumn('author_id', 'text')
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('private', 'integer', (c) => c.notNull())
    .addColumn('pinned', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('server_notes_listing').on('server_notes').columns(['organization_path', 'created_at', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('server_notes').execute();
  await db.schema.dropTable('server_registration_tokens').execute();
}
