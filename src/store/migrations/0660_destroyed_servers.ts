import type { Kysely } from 'kysely';

// A destroyed server is kept, stopped, until it is recovered or purged: when the destroy was asked for.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('servers').addColumn('destroyed_at', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('servers').dropColumn('destroyed_at').execute();
}
