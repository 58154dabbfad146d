/**
 * Answers of SQLite read statements, kept until the database changes. A statement's answer
 * depends only on its SQL, its parameters and the database's contents, so the same statement
 * with the same parameters may be answered from memory as long as nothing was written since:
 * not by this connection (every statement that is not a plain read counts, including BEGIN,
 * COMMIT and ROLLBACK, so a rolled-back write is forgotten too), nor by any other connection or
 * process (SQLite's `data_version` moves when another connection commits). Any change empties
 * the whole cache: writes are rare beside reads, and exactness is simple to prove this way.
 *
 * The hot reads (a page of a list, its count, a resource by id) then cost a map look-up instead
 * of SQLite's sort and scan and the conversion of every value into JavaScript.
 */

/** What a cached answer may hold: more rows are answered by SQLite each time. */
const MAX_ROWS_PER_ANSWER = 128;
/** Rows kept across every answer; the oldest answers go first. */
const MAX_ROWS = 8_192;

// SQL whose answer depends on something besides the database: the clock, chance, the last write.
const NOT_DETERMINISTIC = /\b(?:random|randomblob|date|time|datetime|julianday|strftime|unixepoch|changes|total_changes|last_insert_rowid)\s*\(|\bcurrent_(?:date|time|timestamp)\b/i;

/** Whether a statement's answers may be kept: a plain, deterministic read. */
export function isCacheableRead(statement: { reader: boolean; readonly: boolean; source: string }): boolean {
  return statement.reader && statement.readonly && /^\s*(?:select|with)\b/i.test(statement.source) && !NOT_DETERMINISTIC.test(statement.source);
}

export class SqliteReadCache {
  readonly #answers = new Map<string, unknown[][]>();
  #rows = 0;
  #writes = 0;
  #writesSeen = 0;
  #dataVersionSeen: unknown;

  /** `dataVersion` reads `PRAGMA data_version` on the cache's connection. */
  constructor(private readonly dataVersion: () => unknown) {
    this.#dataVersionSeen = dataVersion();
  }

  /** Called before every statement that may change the database (or end a transaction). */
  changing(): void {
    this.#writes++;
  }

  /** The rows `statement` answers with `parameters`, from memory when nothing changed since. */
  read(source: string, parameters: readonly unknown[], execute: () => unknown[][]): unknown[][] {
    const key = keyOf(source, parameters);
    if (key === undefined) return execute();
    this.#forgetIfChanged();
    const kept = this.#answers.get(key);
    if (kept) return kept;
    const rows = execute();
    if (rows.length <= MAX_ROWS_PER_ANSWER && rows.every((row) => row.every(isImmutable))) this.#keep(key, rows);
    return rows;
  }

  #forgetIfChanged(): void {
    const dataVersion = this.dataVersion();
    if (this.#writes === this.#writesSeen && dataVersion === this.#dataVersionSeen) return;
    this.#answers.clear();
    this.#rows = 0;
    this.#writesSeen = this.#writes;
    this.#dataVersionSeen = dataVersion;
  }

  #keep(key: string, rows: unknown[][]): void {
    this.#answers.set(key, rows);
    this.#rows += rows.length;
    for (const [oldest, answer] of this.#answers) {
      if (this.#rows <= MAX_ROWS) break;
      this.#answers.delete(oldest);
      this.#rows -= answer.length;
    }
  }
}

// The same SQL with the same values of the same types: JSON keeps '1' and 1 apart. A BigInt
// (which JSON refuses) leaves the statement uncached.
function keyOf(source: string, parameters: readonly unknown[]): string | undefined {
  if (parameters.some((value) => typeof value === 'bigint')) return undefined;
  return `${source}\u0000${JSON.stringify(parameters)}`;
}

// A Buffer handed to two callers could be changed by one under the other.
const isImmutable = (value: unknown) => value === null || typeof value !== 'object';
