import type { Kysely } from 'kysely';

// DNS: zones, their records, and the history of their changes (served to secondaries as IXFR).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('dns_zones')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('organization_path', 'text', (c) => c.notNull())
    // Unique per installation: one zone answers for a name.
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('default_ttl', 'integer', (c) => c.notNull())
    .addColumn('primary_ns', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('refresh', 'integer', (c) => c.notNull())
    .addColumn('retry', 'integer', (c) => c.notNull())
    .addColumn('expire', 'integer', (c) => c.notNull())
    .addColumn('minimum', 'integer', (c) => c.notNull())
    .addColumn('serial', 'bigint', (c) => c.notNull())
    .addColumn('secondaries', 'text', (c) => c.notNull())
    .addColumn('server_records', 'integer', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('dns_zones_listing').on('dns_zones').columns(['organization_path', 'name']).execute();

  await db.schema
    .createTable('dns_records')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('zone_id', 'text', (c) => c.notNull().references('dns_zones.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('ttl', 'integer')
    .addColumn('data', 'text', (c) => c.notNull())
    // Set on the records Nimbus keeps for a server's private address; users cannot change them.
    .addColumn('server_id', 'text')
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('dns_records_zone_name').on('dns_records').columns(['zone_id', 'name', 'type']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('dns_records').execute();
  await db.schema.dropTable('dns_zones').execute();
}
