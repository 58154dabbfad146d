import { sql, type Insertable, type RawBuilder } from 'kysely';
import type { Database } from './schema.ts';

/**
 * PostgreSQL: a `select` of `rows` of `table`, bound as one JSON parameter. A statement inserting
 * any number of rows through it keeps one text and one value (no parameter per column and row,
 * and nothing for Kysely to build per row), and several tables' rows can be written by one
 * statement (data-modifying CTEs), which is atomic without a transaction around it. Every
 * column must be given: json_populate_recordset fills a missing one with null, not its default.
 */
export function jsonRows<T extends keyof Database & string>(table: T, rows: readonly Insertable<Database[T]>[]): RawBuilder<unknown> {
  return sql`select * from json_populate_recordset(null::${sql.table(table)}, ${JSON.stringify(rows)}::json)`;
}
