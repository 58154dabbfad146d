import type { Kysely } from 'kysely';

// Environments (projects inside an organization, bound to a service connection), their members,
// and the environment of servers and volumes.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('environments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('organization_path', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('service_connection_id', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    // Two environments created at once with one name: one of them is refused.
    .addUniqueConstraint('environments_organization_name', ['organization_id', 'name'])
    .execute();
  await db.schema.createIndex('environments_organization_path').on('environments').columns(['organization_path', 'created_at']).execute();

  await db.schema
    .createTable('environment_members')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('environment_members_user', ['environment_id', 'user_id'])
    .execute();

  await db.schema.alterTable('servers').addColumn('environment_id', 'text', (c) => c.references('environments.id')).execute();
  await db.schema.alterTable('volumes').addColumn('environment_id', 'text', (c) => c.references('environments.id')).execute();
  await db.schema.createIndex('servers_environment').on('servers').columns(['environment_id', 'name']).execute();
  await db.schema.createIndex('volumes_environment').on('volumes').columns(['environment_id', 'name']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('volumes_environment').execute();
  await db.schema.dropIndex('servers_environment').execute();
  await db.schema.alterTable('volumes').dropColumn('environment_id').execute();
  await db.schema.alterTable('servers').dropColumn('environment_id').execute();
  await db.schema.dropTable('environment_members').execute();
  await db.schema.dropTable('environments').execute();
}
