import type { Kysely } from 'kysely';

// Commands stop at a timeout, and keep only the end of an output past the stored limit.
export async function up(db: Kysely<unknown>): Promise<void> {
  // Commands made before timeouts existed get the default timeout's value.
  await db.schema.alterTable('commands').addColumn('timeout_seconds', 'integer', (c) => c.notNull().defaultTo(3600)).execute();
  await db.schema.alterTable('commands').addColumn('output_cut', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
}
