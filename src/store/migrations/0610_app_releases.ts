import type { Kysely } from 'kysely';

// Apps: deployments and their output, releases, variables, the formation, process containers and logs.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('apps').addColumn('current_release_id', 'text').execute();

  await db.schema
    .createTable('app_releases')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('deployment_id', 'text')
    // Whose slug it runs: its own build's, or (a new release of variables, a rollback) an earlier one's.
    .addColumn('slug_id', 'text', (c) => c.notNull())
    .addColumn('procfile', 'text', (c) => c.notNull())
    .addColumn('env', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('app_releases_version', ['app_id', 'version'])
    .execute();

  await db.schema
    .createTable('app_deployments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('stack', 'text', (c) => c.notNull())
    .addColumn('archive_bytes', 'bigint', (c) => c.notNull())
    .addColumn('release_id', 'text')
    .addColumn('error', 'text')
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .execute();
  await db.schema.createIndex('app_deployments_app').on('app_deployments').columns(['app_id', 'created_at']).execute();

  // Output of builds and one-off runs, in numbered chunks.
  await db.schema
    .createTable('app_output_chunks')
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('app_output_chunks_pk', ['owner_id', 'seq'])
    .execute();

  await db.schema
    .createTable('app_variables')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('app_variables_name', ['app_id', 'name'])
    .execute();

  await db.schema
    .createTable('app_formation')
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('process_type', 'text', (c) => c.notNull())
    .addColumn('amount', 'integer', (c) => c.notNull())
    .addColumn('size', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('app_formation_pk', ['app_id', 'process_type'])
    .execute();

  await db.schema
    .createTable('app_containers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('release_id', 'text', (c) => c.notNull())
    .addColumn('process_type', 'text', (c) => c.notNull())
    .addColumn('process_index', 'integer', (c) => c.notNull())
    .addColumn('size', 'text', (c) => c.notNull())
    .addColumn('memory_bytes', 'bigint', (c) => c.notNull())
    .addColumn('network_id', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('port', 'integer', (c) => c.notNull())
    // starting -> up -> stopping; crashed while waiting for its restart.
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('restarts', 'integer', (c) => c.notNull())
    .addColumn('restart_at', 'text')
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('app_containers_address', ['network_id', 'address'])
    .execute();
  await db.schema.createIndex('app_containers_app').on('app_containers').columns(['app_id', 'process_type', 'process_index']).execute();

  await db.schema
    .createTable('app_log_lines')
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('line', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('app_log_lines_pk', ['app_id', 'seq'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['app_log_lines', 'app_containers', 'app_formation', 'app_variables', 'app_output_chunks', 'app_deployments', 'app_releases']) await db.schema.dropTable(table).execute();
  await db.schema.alterTable('apps').dropColumn('current_release_id').execute();
}
