import type { Kysely } from 'kysely';

// Web shell sessions, the one-time tokens their WebSockets open with, and their shares.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('websh_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('organization_path', 'text', (c) => c.notNull())
    // A server's history goes with it.
    .addColumn('server_id', 'text', (c) => c.notNull().references('servers.id').onDelete('cascade'))
    .addColumn('user_id', 'text')
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('groupname', 'text', (c) => c.notNull())
    .addColumn('rows', 'integer', (c) => c.notNull())
    .addColumn('cols', 'integer', (c) => c.notNull())
    .addColumn('user_agent', 'text', (c) => c.notNull())
    .addColumn('remote_ip', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text')
    .addColumn('closed_at', 'text')
    .addColumn('exit_code', 'integer')
    .execute();
  await db.schema.createIndex('websh_sessions_listing').on('websh_sessions').columns(['organization_path', 'created_at', 'id']).execute();

  await db.schema
    .createTable('websh_shares')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('session_id', 'text', (c) => c.notNull().references('websh_sessions.id').onDelete('cascade'))
    .addColumn('read_only', 'integer', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('websh_channels')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('session_id', 'text', (c) => c.notNull().references('websh_sessions.id').onDelete('cascade'))
    // Null for the session's own terminal; the share a joined channel came through otherwise.
    .addColumn('share_id', 'text', (c) => c.references('websh_shares.id').onDelete('cascade'))
    .addColumn('user_id', 'text')
    .addColumn('read_only', 'integer', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('token_expires_at', 'text', (c) => c.notNull())
    .addColumn('connected_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('websh_channels_session').on('websh_channels').column('session_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('websh_channels').execute();
  await db.schema.dropTable('websh_shares').execute();
  await db.schema.dropTable('websh_sessions').execute();
}
