import type { Kysely } from 'kysely';

// A one-off run's own variables (Scalingo's `env` of a run), over the release's: sealed, as they may hold a secret for that one run.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('app_runs').addColumn('env_sealed', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('app_runs').dropColumn('env_sealed').execute();
}
