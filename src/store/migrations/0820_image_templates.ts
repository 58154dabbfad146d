import type { Kysely } from 'kysely';

// Image templates: what a container runs from an image (ComputeStacks' container images).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('image_templates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('organization_path', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('role_class', 'text', (c) => c.notNull())
    .addColumn('image_id', 'text', (c) => c.notNull())
    .addColumn('command', 'text', (c) => c.notNull())
    .addColumn('min_cpu_millis', 'integer', (c) => c.notNull())
    .addColumn('min_memory_bytes', 'bigint', (c) => c.notNull())
    .addColumn('registry_path', 'text', (c) => c.notNull())
    .addColumn('registry_tag', 'text', (c) => c.notNull())
    .addColumn('variables', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('can_scale', 'integer', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('image_templates_listing').on('image_templates').columns(['organization_path', 'name', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('image_templates').execute();
}
