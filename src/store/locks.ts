import { sql, type Transaction } from 'kysely';
import type { Store } from './database.ts';
import type { Database } from './schema.ts';

/**
 * Runs `work` in a transaction that holds a cluster-wide lock named by `key`. On PostgreSQL
 * that is a transaction-scoped advisory lock; SQLite has one writer per database file, so
 * its transaction is already exclusive once it writes.
 */
export function withAdvisoryLock<T>(store: Store, key: number, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return store.db.transaction().execute(async (trx) => {
    if (store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${key})`.execute(trx);
    return work(trx);
  });
}
