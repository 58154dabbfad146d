import type { Kysely } from 'kysely';

// Custom domains of apps: the router serves each at its name, over HTTPS with its certificate when one is given.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('app_domains')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    // Unique per installation: one host name routes to one app.
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('tls_cert', 'text')
    // The private key, sealed with the secret box (bound to the domain's id).
    .addColumn('tls_key_sealed', 'text')
    .addColumn('tls_expires_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('app_domains_app').on('app_domains').columns(['app_id', 'name']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('app_domains').execute();
}
