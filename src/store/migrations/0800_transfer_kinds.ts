import type { Kysely } from 'kysely';

// File transfers of folders and of several paths at once (downloaded as one zip), and the
// address each was asked from (its log shows it).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('file_transfers').addColumn('kind', 'text', (c) => c.notNull().defaultTo('file')).execute();
  await db.schema.alterTable('file_transfers').addColumn('paths', 'text').execute();
  await db.schema.alterTable('file_transfers').addColumn('remote_ip', 'text', (c) => c.notNull().defaultTo('')).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('file_transfers').dropColumn('remote_ip').execute();
  await db.schema.alterTable('file_transfers').dropColumn('paths').execute();
  await db.schema.alterTable('file_transfers').dropColumn('kind').execute();
}
