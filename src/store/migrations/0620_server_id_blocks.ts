import type { Kysely } from 'kysely';

// Each server's block of host ids for its user namespace: unique, so no two servers share an
// id on the host. Servers made before get blocks in the order they were created.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('servers').addColumn('id_block', 'integer').execute();
  const store = db as Kysely<{ servers: { id: string; created_at: string; id_block: number | null } }>;
  const servers = await store.selectFrom('servers').select('id').orderBy('created_at').orderBy('id').execute();
  for (const [index, server] of servers.entries()) {
    await store.updateTable('servers').set({ id_block: index }).where('id', '=', server.id).execute();
  }
  await db.schema.createIndex('servers_id_block').on('servers').column('id_block').unique().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('servers_id_block').execute();
  await db.schema.alterTable('servers').dropColumn('id_block').execute();
}
