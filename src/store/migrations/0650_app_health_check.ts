import type { Kysely } from 'kysely';

// An app's HTTP health check: new web processes must answer GET <path> before they get traffic.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('apps').addColumn('health_check_path', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('apps').dropColumn('health_check_path').execute();
}
