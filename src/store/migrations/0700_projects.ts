import type { Kysely } from 'kysely';

// Projects: an organization's named groupings of its apps, servers, volumes and images.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('projects')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('organization_path', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('projects_organization_path').on('projects').columns(['organization_path', 'name']).execute();

  // A resource belongs to at most one project (the primary key); the rows of a resource that is
  // gone are never shown (members are read joined to their resources) and go with the project.
  await db.schema
    .createTable('project_members')
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('project_members_pk', ['resource_type', 'resource_id'])
    .execute();
  await db.schema.createIndex('project_members_project').on('project_members').columns(['project_id', 'resource_type']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('project_members').execute();
  await db.schema.dropTable('projects').execute();
}
