import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type PostgresPool, type SqliteDatabase, type SqliteStatement } from 'kysely';
import { deferringNotifications } from './notify-after-commit.ts';
import { postgresDriver } from './postgres-driver.ts';
import { preparingStatements } from './prepared-statements.ts';
import { ensurePrivateDirectory, ensurePrivateFile } from './private-files.ts';
import { isCacheableRead, SqliteReadCache } from './sqlite-read-cache.ts';
import type { Database } from './schema.ts';

export type StoreDialect = 'sqlite' | 'postgres';

/** The database handle every core service receives. */
export interface Store {
  db: Kysely<Database>;
  dialect: StoreDialect;
  /** Succeeds when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type StoreOptions =
  /** `cachedReads: false` answers every read from SQLite (tests compare both). */
  | { sqliteFile: string; cachedReads?: boolean }
  | { postgresUrl: string; schema?: string; poolSize?: number }
  /** Any `pg.Pool`-compatible pool (tests use an embedded PostgreSQL through this). */
  | { postgresPool: PostgresPool };

export function storeOptionsFor(databaseUrl: string | undefined, dataDir: string): StoreOptions {
  return databaseUrl ? { postgresUrl: databaseUrl } : { sqliteFile: path.join(dataDir, 'nimbus.db') };
}

export function openStore(options: StoreOptions): Store {
  if ('sqliteFile' in options) return openSqlite(options.sqliteFile, options.cachedReads ?? true);
  // Loaded even when the caller brings its own pool: the INT8 parser it sets is the driver's, for every pool.
  const pg = postgresDriver();
  const pool =
    'postgresPool' in options
      ? options.postgresPool
      : preparingStatements(
          new pg.Pool({
            connectionString: options.postgresUrl,
            max: options.poolSize ?? 10,
            // A per-test or per-deployment schema is selected for every connection of the pool.
            ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
          }),
        );
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: deferringNotifications(pool) }) });
  return withCommon(db, 'postgres');
}

function openSqlite(file: string, cachedReads: boolean): Store {
  if (file !== ':memory:') {
    // SQLite gives its -wal and -shm files the database file's permissions.
    ensurePrivateDirectory(path.dirname(file));
    ensurePrivateFile(file);
    for (const companion of [`${file}-wal`, `${file}-shm`]) if (fs.existsSync(companion)) fs.chmodSync(companion, 0o600);
  }
  const connection = new SQLite(file);
  // WAL lets readers proceed during a write; the busy timeout absorbs short lock waits
  // (for example a `nimbus migrate` run beside a server) instead of failing at once.
  connection.pragma('journal_mode = WAL');
  connection.pragma('busy_timeout = 5000');
  connection.pragma('foreign_keys = ON');
  connection.pragma('synchronous = NORMAL');
  const dataVersion = connection.prepare('pragma data_version').pluck();
  const reads = cachedReads ? new SqliteReadCache(() => dataVersion.get()) : undefined;
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(connection, reads) }) });
  return withCommon(db, 'sqlite');
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * What Kysely's SQLite driver calls, made cheaper on the hot path. Kysely prepares every query
 * it runs, and preparing costs as much as running a small query: queries come in a bounded
 * set of shapes (values are parameters), so each shape is prepared once and reused (a
 * statement still being iterated is busy, and that use gets its own). Rows are read as arrays
 * and made into objects here, which is a quarter faster than the driver building them, and
 * plain reads are answered from `reads` while the database has not changed.
 */
function withStatementCache(connection: SQLite.Database, reads: SqliteReadCache | undefined): SqliteDatabase {
  const statements = new Map<string, SqliteStatement & { busy: boolean }>();
  return {
    close: () => connection.close(),
    prepare(text) {
      const cached = statements.get(text);
      if (cached && !cached.busy) return cached;
      const statement = fastRows(connection.prepare(text), reads);
      if (!cached) {
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
        statements.set(text, statement);
      }
      return statement;
    },
  };
}

/**
 * Makes a row object of a statement's values, its columns as own properties: one object literal
 * per statement, compiled once, which V8 builds about ten times faster than properties added one
 * by one (every row of every read goes through it). Names are written as JSON string literals.
 */
function rowMaker(names: readonly string[]): (values: readonly unknown[]) => Record<string, unknown> {
  const properties = names.map((name, i) => `[${JSON.stringify(name)}]: values[${i}]`).join(', ');
  return new Function('values', `return { ${properties} };`) as (values: readonly unknown[]) => Record<string, unknown>;
}

function fastRows(statement: SQLite.Statement, reads: SqliteReadCache | undefined): SqliteStatement & { busy: boolean } {
  // Anything but a plain read may change what reads answer (BEGIN and ROLLBACK included).
  const changing = reads && (!statement.reader || !statement.readonly) ? () => reads.changing() : () => {};
  if (!statement.reader) {
    return {
      reader: false,
      get busy() {
        return statement.busy;
      },
      all: (p) => (changing(), statement.all(p)),
      run: (p) => (changing(), statement.run(p)),
      iterate: (p) => (changing(), statement.iterate(p)),
    };
  }
  statement.raw(true);
  const toObject = rowMaker(statement.columns().map((c) => c.name));
  const execute = (parameters: readonly unknown[]) => statement.all(parameters) as unknown[][];
  const all =
    reads && isCacheableRead(statement)
      ? (parameters: readonly unknown[]) => reads.read(statement.source, parameters, () => execute(parameters))
      : (parameters: readonly unknown[]) => (changing(), execute(parameters));
  return {
    reader: true,
    get busy() {
      return statement.busy;
    },
    all: (parameters) => all(parameters).map(toObject),
    run: (parameters) => (changing(), statement.run(parameters)),
    *iterate(parameters) {
      changing();
      for (const values of statement.iterate(parameters) as IterableIterator<unknown[]>) yield toObject(values);
    },
  };
}

function withCommon(db: Kysely<Database>, dialect: StoreDialect): Store {
  return {
    db,
    dialect,
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}
