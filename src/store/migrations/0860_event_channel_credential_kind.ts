import type { Kysely } from 'kysely';

// The kind of credential that opened an event channel: its socket resolves that credential again
// by id (revoked or expired ends it), and each kind is looked up where it lives.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('event_channels').addColumn('credential_kind', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('event_channels').dropColumn('credential_kind').execute();
}
