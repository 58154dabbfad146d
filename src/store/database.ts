import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, sql, type PostgresPool } from 'kysely';
import { deferringNotifications } from './notify-after-commit.ts';
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
  | { sqliteFile: string }
  | { postgresUrl: string; schema?: string; poolSize?: number }
  /** Any `pg.Pool`-compatible pool (tests use an embedded PostgreSQL through this). */
  | { postgresPool: PostgresPool };

// COUNT(*) and BIGINT come back from pg as strings by default; every count we read fits a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export function storeOptionsFor(databaseUrl: string | undefined, dataDir: string): StoreOptions {
  return databaseUrl ? { postgresUrl: databaseUrl } : { sqliteFile: path.join(dataDir, 'nimbus.db') };
}

export function openStore(options: StoreOptions): Store {
  if ('sqliteFile' in options) return openSqlite(options.sqliteFile);
  const pool =
    'postgresPool' in options
      ? options.postgresPool
      : new pg.Pool({
          connectionString: options.postgresUrl,
          max: options.poolSize ?? 10,
          // A per-test or per-deployment schema is selected for every connection of the pool.
          ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
        });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: deferringNotifications(pool) }) });
  return withCommon(db, 'postgres');
}

function openSqlite(file: string): Store {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const connection = new SQLite(file);
  // WAL lets readers proceed during a write; the busy timeout absorbs short lock waits
  // (for example a `nimbus migrate` run beside a server) instead of failing at once.
  connection.pragma('journal_mode = WAL');
  connection.pragma('busy_timeout = 5000');
  connection.pragma('foreign_keys = ON');
  connection.pragma('synchronous = NORMAL');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: connection }) });
  return withCommon(db, 'sqlite');
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
