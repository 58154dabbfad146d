import { Migrator, sql, type MigrationResultSet } from 'kysely';
import type { Store } from './database.ts';
import { migrationProvider } from './migrations/index.ts';

// Arbitrary constant naming Nimbus's migration lock among PostgreSQL advisory locks.
const MIGRATION_LOCK_ID = 727_001;

export interface MigrationReport {
  applied: string[];
}

/**
 * Brings the schema to the latest version. On PostgreSQL a session advisory lock serialises
 * replicas that start at once, so exactly one applies each migration and the others then see
 * nothing left to do.
 */
export async function migrateToLatest(store: Store): Promise<MigrationReport> {
  if (store.dialect === 'sqlite') return report(await new Migrator({ db: store.db, provider: migrationProvider }).migrateToLatest());
  return store.db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`.execute(connection);
    try {
      // Kysely looks for its bookkeeping tables in every schema unless told which one: with
      // several schemas on one server (tests, tenants), another schema's tables would be found.
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(connection);
      const migrator = new Migrator({ db: connection, provider: migrationProvider, migrationTableSchema: rows[0]!.schema });
      return report(await migrator.migrateToLatest());
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.execute(connection);
    }
  });
}

function report({ error, results }: MigrationResultSet): MigrationReport {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
