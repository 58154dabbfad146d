import { Migrator, sql, type MigrationResultSet } from 'kysely';
import type { Store } from './database.ts';
import { migrationProvider } from './migrations/index.ts';

// Arbitrary constant naming Nimbus's migration lock among PostgreSQL advisory locks.
const MIGRATION_LOCK_ID = 727_001;

export interface MigrationReport {
  applied: string[];
}

/**
 * Brings the schema to the latest version, in one transaction. Processes that start at once
 * take turns (a session advisory lock on PostgreSQL, the write lock on SQLite), so exactly one
 * applies each migration and the others then see nothing left to do.
 */
export async function migrateToLatest(store: Store): Promise<MigrationReport> {
  if (store.dialect === 'sqlite') {
    return store.db.connection().execute(async (connection) => {
      // Kysely's migration lock does nothing on SQLite. `begin immediate` takes the file's write
      // lock (waiting out the busy timeout) before the migrator reads what is applied, so
      // processes migrating one file at once take turns instead of applying a migration twice.
      await sql`begin immediate`.execute(connection);
      let results: MigrationResultSet;
      try {
        results = await new Migrator({ db: connection, provider: migrationProvider, disableTransactions: true }).migrateToLatest();
      } catch (error) {
        await sql`rollback`.execute(connection);
        throw error;
      }
      await sql.raw(results.error ? 'rollback' : 'commit').execute(connection);
      return report(results);
    });
  }
  return store.db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`.execute(connection);
    try {
      // Named explicitly: the Migrator looks for its tables in every schema of the database,
      // and would take another schema's (another deployment's) for its own.
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(connection);
      const migrator = new Migrator({ db: connection, provider: migrationProvider, migrationTableSchema: rows[0]!.schema });
      const deadline = Date.now() + INTROSPECTION_RETRY_MS;
      for (;;) {
        const results = await migrator.migrateToLatest();
        if (Date.now() < deadline && lostToConcurrentDrop(results)) {
          // A random pause, so that two migrators do not keep meeting the same drop.
          await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 90));
          continue;
        }
        return report(results);
      }
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.execute(connection);
    }
  });
}

const INTROSPECTION_RETRY_MS = 15_000;

/**
 * What PostgreSQL answers when a catalog row the migrator's introspection is reading disappears
 * under it: the introspection reads the tables and columns of every schema in the database (and
 * calls `pg_get_serial_sequence` on each column by name), so another deployment (or test run)
 * dropping its schema at that moment fails it with "schema ... does not exist" (3F000),
 * "relation ... does not exist" (42P01) or "column ... of relation ... does not exist" (42703).
 */
const CONCURRENT_DROP_CODES = new Set(['3F000', '42P01', '42703']);

/**
 * The migrator failed before it applied anything because another schema changed while it looked
 * for its own tables. Looking again is safe; it succeeds once the drops pause (they are given 15 s).
 */
function lostToConcurrentDrop({ error, results }: MigrationResultSet): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code !== undefined && CONCURRENT_DROP_CODES.has(code) && !(results ?? []).some((r) => r.status !== 'NotExecuted');
}

function report({ error, results }: MigrationResultSet): MigrationReport {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
