import type { SelectQueryBuilder } from 'kysely';
import type { StoreDialect } from './database.ts';

/**
 * Makes a select that picks rows to claim safe under concurrent claimers. PostgreSQL: the rows
 * are locked and rows another transaction already holds are skipped (`FOR UPDATE SKIP
 * LOCKED`), so replicas claiming at once take disjoint sets without waiting for each other.
 * SQLite has one writer per database and its transactions are serialised, so the plain select
 * already sees a stable set (SQLite rejects the clause anyway).
 */
export function claimableRows<DB, TB extends keyof DB, O>(dialect: StoreDialect, query: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O> {
  return dialect === 'postgres' ? query.forUpdate().skipLocked() : query;
}
