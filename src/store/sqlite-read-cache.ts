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

/**
 * What a cached answer may weigh: a heavier one is answered by SQLite each time. Weight counts
 * the characters of texts plus a few for every value, so a row holding a long text (a build's
 * output, a file) weighs what it holds.
 */
const MAX_ANSWER_WEIGHT = 256 * 1024;
/** Weight kept across every answer (a few MiB); the oldest answers go first. */
const MAX_WEIGHT = 4 * 1024 * 1024;
const VALUE_WEIGHT = 8;

// SQL whose answer depends on something besides the database: the clock, chance, the last write.
const NOT_DETERMINISTIC = /\b(?:random|randomblob|date|time|datetime|julianday|strftime|unixepoch|changes|total_changes|last_insert_rowid)\s*\(|\bcurrent_(?:date|time|timestamp)\b/i;

/** Whether a statement's answers may be kept: a plain, deterministic read. */
export function isCacheableRead(statement: { reader: boolean; readonly: boolean; source: string }): boolean {
  return statement.reader && statement.readonly && /^\s*(?:select|with)\b/i.test(statement.source) && !NOT_DETERMINISTIC.test(statement.source);
}

export class SqliteReadCache {
  readonly #answers = new Map<string, { rows: unknown[][]; weight: number }>();
  #weight = 0;
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
    if (kept) return kept.rows;
    const rows = execute();
    const weight = weightOf(rows);
    if (weight <= MAX_ANSWER_WEIGHT) this.#keep(key, rows, weight);
    return rows;
  }

  #forgetIfChanged(): void {
    const dataVersion = this.dataVersion();
    if (this.#writes === this.#writesSeen && dataVersion === this.#dataVersionSeen) return;
    this.#answers.clear();
    this.#weight = 0;
    this.#writesSeen = this.#writes;
    this.#dataVersionSeen = dataVersion;
  }

  #keep(key: string, rows: unknown[][], weight: number): void {
    this.#answers.set(key, { rows, weight });
    this.#weight += weight;
    for (const [oldest, answer] of this.#answers) {
      if (this.#weight <= MAX_WEIGHT) break;
      this.#answers.delete(oldest);
      this.#weight -= answer.weight;
    }
  }
}

// The same SQL with the same values of the same types: JSON keeps '1' and 1 apart. A BigInt
// (which JSON refuses) leaves the statement uncached.
function keyOf(source: string, parameters: readonly unknown[]): string | undefined {
  if (parameters.some((value) => typeof value === 'bigint')) return undefined;
  return `${source}\u0000${JSON.stringify(parameters)}`;
}

/**
 * The weight of an answer, or Infinity for one never to keep: a Buffer handed to two callers
 * could be changed by one under the other.
 */
function weightOf(rows: unknown[][]): number {
  let weight = 0;
  for (const row of rows) {
    for (const value of row) {
      if (value !== null && typeof value === 'object') return Infinity;
      weight += VALUE_WEIGHT + (typeof value === 'string' ? value.length : 0);
      if (weight > MAX_ANSWER_WEIGHT) return Infinity;
    }
  }
  return weight;
}
