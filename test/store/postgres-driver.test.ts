import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { postgresDriver } from '../../src/store/postgres-driver.ts';

const root = path.resolve(import.meta.dirname, '../..');

describe('the PostgreSQL driver', () => {
  it('is not loaded by a process whose store is SQLite', () => {
    // A process of its own (this one may have loaded the driver for other tests), with every
    // module of the server loaded.
    const script = `
      import { createRequire } from 'node:module';
      import './src/app.ts';
      import { openStore } from './src/store/database.ts';
      import { createNotifier } from './src/store/notifier.ts';
      const store = openStore({ sqliteFile: ':memory:' });
      await createNotifier(undefined, undefined).close();
      await store.ping();
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((file) => file.includes('/node_modules/pg/'));
      console.log(JSON.stringify(loaded));
      await store.close();`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), []);
  });

  it('reads counts and BIGINTs as numbers once loaded', () => {
    const pg = postgresDriver();
    assert.equal(pg.types.getTypeParser(pg.types.builtins.INT8)('9007199254740991'), 9007199254740991);
    assert.equal(postgresDriver(), pg);
  });
});
