import type { Kysely } from 'kysely';

// The credential that asked for a web shell channel: its socket resolves that credential again by
// id while it is open, so a revoked or expired one (or its user deactivated) ends the terminal.
// Null for channels made before.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('websh_channels').addColumn('credential_id', 'text').execute();
  await db.schema.alterTable('websh_channels').addColumn('credential_kind', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('websh_channels').dropColumn('credential_kind').execute();
  await db.schema.alterTable('websh_channels').dropColumn('credential_id').execute();
}
