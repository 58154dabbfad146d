import type { Kysely } from 'kysely';

// Orders: a project with its container services, provisioned by the apps' deployment tasks;
// and releases made from an image (run with the image as their root filesystem).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('orders')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('organization_path', 'text', (c) => c.notNull())
    // Not a reference: the order is kept (as history) when its project is deleted.
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('project_name', 'text', (c) => c.notNull())
    .addColumn('location_id', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text')
    .addColumn('cancelled_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('orders_organization_path').on('orders').columns(['organization_path', 'created_at']).execute();

  await db.schema
    .createTable('order_containers')
    .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('image_id', 'text', (c) => c.notNull())
    .addColumn('package_id', 'text', (c) => c.notNull())
    .addColumn('command', 'text', (c) => c.notNull())
    // JSON array of {key, value}: the app's variables.
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('app_id', 'text', (c) => c.notNull())
    .addColumn('app_name', 'text', (c) => c.notNull())
    .addColumn('deployment_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('order_containers_pk', ['order_id', 'position'])
    .execute();

  await db.schema.alterTable('app_releases').addColumn('image_id', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('app_releases').dropColumn('image_id').execute();
  await db.schema.dropTable('order_containers').execute();
  await db.schema.dropTable('orders').execute();
}
