import type { Kysely } from 'kysely';

// The git reference a deployment was made from, as the client named it (Scalingo's `git_ref`).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('app_deployments').addColumn('git_ref', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('app_deployments').dropColumn('git_ref').execute();
}
