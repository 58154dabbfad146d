import type { Kysely } from 'kysely';

/** The public built-in image (busybox), the same id on every installation. */
export const BUILTIN_IMAGE_ID = '00000000-0000-4000-8000-0000000b0500';

// Compute: private networks, images, servers, volumes and snapshots.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('networks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().unique().references('organizations.id'))
    .addColumn('bridge', 'text', (c) => c.notNull().unique())
    // Unique: two organizations racing for the next free /24 cannot both get it.
    .addColumn('subnet', 'text', (c) => c.notNull().unique())
    .addColumn('gateway', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('images')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.references('organizations.id'))
    .addColumn('organization_path', 'text')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('arch', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('snapshot_id', 'text')
    .addColumn('error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('images_organization_path').on('images').columns(['organization_path', 'created_at']).execute();

  await db.schema
    .createTable('servers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('organization_path', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('hostname', 'text', (c) => c.notNull())
    .addColumn('image_id', 'text', (c) => c.notNull().references('images.id'))
    .addColumn('vcpus', 'integer', (c) => c.notNull())
    .addColumn('memory_bytes', 'bigint', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('state_detail', 'text', (c) => c.notNull())
    .addColumn('network_id', 'text', (c) => c.notNull().references('networks.id'))
    .addColumn('private_ip', 'text', (c) => c.notNull())
    .addColumn('root_volume_id', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('facts', 'text')
    .addColumn('facts_updated_at', 'text')
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    // Two servers created at once can never be handed the same address.
    .addUniqueConstraint('servers_network_address', ['network_id', 'private_ip'])
    .execute();
  await db.schema.createIndex('servers_organization_path').on('servers').columns(['organization_path', 'created_at']).execute();
  await db.schema.createIndex('servers_host_state').on('servers').columns(['host', 'state']).execute();

  await db.schema
    .createTable('volumes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('organization_path', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('volume_type', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('server_id', 'text')
    .addColumn('mount_path', 'text')
    .addColumn('snapshot_id', 'text')
    .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('volumes_organization_path').on('volumes').columns(['organization_path', 'created_at']).execute();
  await db.schema.createIndex('volumes_server_id').on('volumes').column('server_id').execute();

  await db.schema
    .createTable('snapshots')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('organization_path', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('volume_id', 'text', (c) => c.notNull())
    .addColumn('base_image_id', 'text')
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('snapshots_organization_path').on('snapshots').columns(['organization_path', 'created_at']).execute();

  const now = new Date().toISOString();
  await (db as Kysely<any>) // eslint-disable-line @typescript-eslint/no-explicit-any
    .insertInto('images')
    .values({
      id: BUILTIN_IMAGE_ID,
      organization_id: null,
      organization_path: null,
      name: 'busybox',
      arch: process.arch === 'arm64' ? 'arm64' : 'amd64',
      size_bytes: 0,
      status: 'pending',
      source: 'builtin',
      snapshot_id: null,
      error: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['snapshots', 'volumes', 'servers', 'images', 'networks']) await db.schema.dropTable(table).execute();
}
