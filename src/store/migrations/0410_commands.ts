import type { Kysely } from 'kysely';

// Remote commands and their output.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('commands')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('organization_path', 'text', (c) => c.notNull())
    // A server's history goes with it.
    .addColumn('server_id', 'text', (c) => c.notNull().references('servers.id').onDelete('cascade'))
    .addColumn('shell', 'text', (c) => c.notNull())
    .addColumn('line', 'text', (c) => c.notNull())
    .addColumn('env', 'text', (c) => c.notNull())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('groupname', 'text', (c) => c.notNull())
    .addColumn('run_after', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('success', 'integer')
    .addColumn('exit_code', 'integer')
    .addColumn('result', 'text')
    .addColumn('elapsed_time', 'double precision')
    // Not a reference: finished tasks are purged, commands are kept.
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .execute();
  await db.schema.createIndex('commands_listing').on('commands').columns(['organization_path', 'created_at', 'id']).execute();
  await db.schema.createIndex('commands_server').on('commands').columns(['server_id', 'created_at']).execute();

  await db.schema
    .createTable('command_chunks')
    .addColumn('command_id', 'text', (c) => c.notNull().references('commands.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('command_chunks_pk', ['command_id', 'seq'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('command_chunks').execute();
  await db.schema.dropTable('commands').execute();
}
