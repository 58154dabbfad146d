import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/database.ts';
import { PGlitePool } from './pglite-pool.ts';

export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  /**
   * A fresh, empty database; `cleanup` closes and removes it. `url` names it for other
   * connections and processes (a real PostgreSQL only: SQLite and PGlite are not shared).
   */
  open(): Promise<OpenedDatabase>;
}

export interface OpenedDatabase {
  store: Store;
  url?: string;
  /**
   * Another store on the same database, as another process would open it, that answers every
   * read from the database itself (no SQLite read cache). `cleanup` closes it too.
   */
  another(): Store;
  cleanup(): Promise<void>;
}

/** `opened` with `another()` and a cleanup that closes every other store before its own. */
function withOthers(opened: Omit<OpenedDatabase, 'another'>, openAnother: () => Store): OpenedDatabase {
  const others: Store[] = [];
  return {
    ...opened,
    another() {
      const store = openAnother();
      others.push(store);
      return store;
    },
    async cleanup() {
      for (const store of others) await store.close();
      await opened.cleanup();
    },
  };
}

/** The real PostgreSQL server to test against, when one is configured. */
export const testPostgresUrl = process.env.NIMBUS_TEST_DATABASE_URL || undefined;

const sqlite: TestDatabase = {
  name: 'sqlite',
  async open() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-test-'));
    const sqliteFile = path.join(dir, 'nimbus.db');
    const store = openStore({ sqliteFile });
    const cleanup = async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    };
    return withOthers({ store, cleanup }, () => openStore({ sqliteFile, cachedReads: false }));
  },
};

/** PostgreSQL: a throwaway schema on the configured server, or an embedded PGlite instance. */
const postgres: TestDatabase = {
  name: 'postgres',
  async open() {
    if (!testPostgresUrl) {
      const pool = new PGlitePool();
      const store = openStore({ postgresPool: pool });
      // PGlite is one session in this process: another store shares it, and leaves closing it to the first.
      return withOthers({ store, cleanup: () => store.close() }, () => openStore({ postgresPool: { connect: () => pool.connect(), end: async () => {} } }));
    }
    const { schema, url, drop } = await throwawaySchema();
    const store = openStore({ postgresUrl: testPostgresUrl, schema, poolSize: 5 });
    const cleanup = async () => {
      await store.close();
      await drop();
    };
    return withOthers({ store, url, cleanup }, () => openStore({ postgresUrl: testPostgresUrl!, schema, poolSize: 2 }));
  },
};

/** Why a test of server processes skips PostgreSQL, or false when it can run. */
export const processPostgresSkip: false | string = testPostgresUrl ? false : 'needs NIMBUS_TEST_DATABASE_URL (processes cannot share the embedded PostgreSQL)';

/** A schema of its own on the test PostgreSQL server: its name, the URL that selects it, and `drop`. */
export async function throwawaySchema(): Promise<{ schema: string; url: string; drop(): Promise<void> }> {
  const schema = `nimbus_test_${randomBytes(6).toString('hex')}`;
  await withAdminClient((client) => client.query(`create schema ${schema}`));
  return {
    schema,
    url: urlWithSchema(schema),
    drop: () => withAdminClient((client) => client.query(`drop schema if exists ${schema} cascade`)).then(() => undefined),
  };
}

/** The test server's URL with `schema` selected on every connection (`?options=-c search_path=...`). */
export function urlWithSchema(schema: string): string {
  const url = new URL(testPostgresUrl!);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

export async function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testPostgresUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Every database a store test must pass on: loop over this, never pick one. */
export const testDatabases: TestDatabase[] = [sqlite, postgres];
