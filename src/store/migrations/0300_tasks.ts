import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('tasks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('progress', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('progress_message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('input', 'text', (c) => c.notNull())
    .addColumn('resources', 'text', (c) => c.notNull())
    .addColumn('result', 'text')
    .addColumn('error', 'text')
    .addColumn('checkpoint', 'text', (c) => c.notNull())
    .addColumn('may_cancel', 'integer', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('requested_by', 'text')
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('organization_path', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text')
    .addColumn('run_after', 'text', (c) => c.notNull())
    .addColumn('locked_by', 'text')
    .addColumn('locked_until', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  // Claims look for due pending tasks and for running ones whose lease expired.
  await db.schema.createIndex('tasks_claim_pending').on('tasks').columns(['status', 'run_after']).execute();
  await db.schema.createIndex('tasks_claim_expired').on('tasks').columns(['status', 'locked_until']).execute();
  await db.schema.createIndex('tasks_listing').on('tasks').columns(['organization_path', 'created_at', 'id']).execute();
  await db.schema.createIndex('tasks_finished_at').on('tasks').column('finished_at').where(sql.ref('finished_at'), 'is not', null).execute();

  await db.schema
    .createTable('task_resources')
    .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('task_resources_pk', ['task_id', 'resource_type', 'resource_id'])
    .execute();
  await db.schema.createIndex('task_resources_resource').on('task_resources').columns(['resource_id', 'resource_type']).execute();

  await db.schema
    .createTable('resource_locks')
    .addColumn('resource', 'text', (c) => c.primaryKey())
    .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
    .execute();
  await db.schema.createIndex('resource_locks_task_id').on('resource_locks').column('task_id').execute();

  await db.schema
    .createTable('events')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('id', 'bigint', (c) => c.unique())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('organization_path', 'text', (c) => c.notNull())
    .addColumn('actor', 'text')
    .addColumn('resource_type', 'text')
    .addColumn('resource_id', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  // The sequencer scans only the rows it has not numbered yet.
  await db.schema.createIndex('events_unsequenced').on('events').column('key').where(sql.ref('id'), 'is', null).execute();
  await db.schema.createIndex('events_resource').on('events').columns(['resource_id', 'id']).execute();

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('credential_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('response_status', 'integer')
    .addColumn('response_headers', 'text')
    .addColumn('response_body', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('locked_until', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['credential_id', 'key'])
    .execute();
  await db.schema.createIndex('idempotency_keys_expires_at').on('idempotency_keys').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('idempotency_keys').execute();
  await db.schema.dropTable('events').execute();
  await db.schema.dropTable('resource_locks').execute();
  await db.schema.dropTable('task_resources').execute();
  await db.schema.dropTable('tasks').execute();
}
