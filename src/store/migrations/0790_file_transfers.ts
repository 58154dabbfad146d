import type { Kysely } from 'kysely';

// File transfers into and out of servers (Alpacon's webftp), each opened by a one-time URL.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('file_transfers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('organization_path', 'text', (c) => c.notNull())
    .addColumn('server_id', 'text', (c) => c.notNull().references('servers.id').onDelete('cascade'))
    .addColumn('user_id', 'text')
    .addColumn('direction', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('groupname', 'text', (c) => c.notNull())
    .addColumn('overwrite', 'integer', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('token_expires_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .addColumn('command_id', 'text')
    .addColumn('bytes', 'bigint')
    .addColumn('success', 'integer')
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .execute();
  await db.schema.createIndex('file_transfers_listing').on('file_transfers').columns(['organization_path', 'created_at', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('file_transfers').execute();
}
