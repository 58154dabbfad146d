import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { openStore, type Store } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { testDatabases, testPostgresUrl, withAdminClient } from '../support/databases.ts';
import { NIMBUS_FROM_SOURCES } from '../support/nimbus-command.ts';

const FOUNDATION_TABLES = ['api_tokens', 'organizations', 'users'];

async function tables(store: Store): Promise<string[]> {
  const { rows } =
    store.dialect === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(store.db)
      : await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(store.db);
  return rows.map((r) => r.name).sort();
}

/** Runs `nimbus migrate` as its own process; resolves with its exit code and output. */
function nimbusMigrate(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [...NIMBUS_FROM_SOURCES, 'migrate'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

for (const database of testDatabases) {
  describe(`migrations [${database.name}]`, () => {
    it('creates the foundation tables, and migrating again changes nothing', async () => {
      const { store, cleanup } = await database.open();
      try {
        const first = await migrateToLatest(store);
        assert.ok(first.applied.includes('0001_foundation'));
        const after = await tables(store);
        for (const table of FOUNDATION_TABLES) assert.ok(after.includes(table), table);
        assert.deepEqual(await migrateToLatest(store), { applied: [] });
        assert.deepEqual(await tables(store), after);
      } finally {
        await cleanup();
      }
    });
  });
}

describe('concurrent nimbus migrate processes', () => {
  it('on one SQLite file: all succeed and each migration is applied once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-migrate-'));
    try {
      const runs = await Promise.all(Array.from({ length: 4 }, () => nimbusMigrate({ NIMBUS_DATA_DIR: dir, NIMBUS_DATABASE_URL: '' })));
      for (const run of runs) assert.equal(run.code, 0, run.output);
      const store = openStore({ sqliteFile: path.join(dir, 'nimbus.db') });
      const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(store.db);
      assert.deepEqual(applied.rows.map((r) => r.name).filter((n) => n === '0001_foundation'), ['0001_foundation']);
      await store.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on one PostgreSQL schema (the real server): all succeed, exactly one applies each migration', { skip: !testPostgresUrl && 'needs NIMBUS_TEST_DATABASE_URL' }, async () => {
    const schema = `nimbus_migrate_${randomBytes(6).toString('hex')}`;
    await withAdminClient((client) => client.query(`create schema ${schema}`));
    try {
      const url = new URL(testPostgresUrl!);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const runs = await Promise.all(Array.from({ length: 4 }, () => nimbusMigrate({ NIMBUS_DATABASE_URL: url.toString() })));
      for (const run of runs) assert.equal(run.code, 0, run.output);
      assert.equal(runs.filter((r) => r.output.includes('applied: 0001_foundation')).length, 1, runs.map((r) => r.output).join('\n'));
      assert.equal(runs.filter((r) => r.output.includes('the database is up to date')).length, 3);
      const store = openStore({ postgresUrl: testPostgresUrl!, schema, poolSize: 1 });
      try {
        const found = await tables(store);
        for (const table of FOUNDATION_TABLES) assert.ok(found.includes(table), table);
        const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(store.db);
        assert.equal(applied.rows.filter((r) => r.name === '0001_foundation').length, 1);
      } finally {
        await store.close();
      }
    } finally {
      await withAdminClient((client) => client.query(`drop schema if exists ${schema} cascade`));
    }
  });
});

describe('migrating beside other deployments [postgres]', { skip: testPostgresUrl ? false : 'needs NIMBUS_TEST_DATABASE_URL' }, () => {
  it('is not thrown off by another schema of the server being dropped meanwhile', async () => {
    // Another deployment (or test run) keeps making and dropping its schema while ours migrates.
    let churning = true;
    const churn = withAdminClient(async (client) => {
      while (churning) {
        const other = `nimbus_churn_${randomBytes(4).toString('hex')}`;
        // Schemas, tables and columns all vanish: the migrator's look at the catalog meets each.
        await client.query(`create schema ${other}; create table ${other}.a (id serial primary key, line text, env text); create table ${other}.b (id serial primary key)`);
        await client.query(`alter table ${other}.a drop column line`);
        await client.query(`drop table ${other}.b`);
        await client.query(`drop schema ${other} cascade`);
      }
    });
    try {
      for (let i = 0; i < 12; i++) {
        const { store, cleanup } = await testDatabases.find((d) => d.name === 'postgres')!.open();
        try {
          const report = await migrateToLatest(store);
          assert.ok(report.applied.length > 0);
        } finally {
          await cleanup();
        }
      }
    } finally {
      churning = false;
      await churn;
    }
  });
});
