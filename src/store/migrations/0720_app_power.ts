import type { Kysely } from 'kysely';

// A powered-off app keeps, per process type, the amount to bring back when it is powered on.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('app_formation').addColumn('paused_amount', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('app_formation').dropColumn('paused_amount').execute();
}
